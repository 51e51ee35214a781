-- Reliable messaging tables, created in every service's own database.

-- Messages to other services, written in the same transaction as the change they announce.
CREATE TABLE messaging_outbox (
    id              bigserial PRIMARY KEY,
    message_id      uuid NOT NULL UNIQUE,
    destination     text NOT NULL,
    method          text NOT NULL,
    params          jsonb NOT NULL,
    -- Messages of one key (usually a case id) are delivered one at a time, in id order.
    aggregate_key   text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set while a relay delivers the message; another relay leaves it (and its key) alone.
    claimed_until   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at    timestamptz,
    last_error      text
);
CREATE INDEX messaging_outbox_pending_by_key ON messaging_outbox (aggregate_key, id) WHERE status = 'pending';
CREATE INDEX messaging_outbox_delivered_at ON messaging_outbox (delivered_at) WHERE status = 'delivered';
CREATE INDEX messaging_outbox_dead ON messaging_outbox (id) WHERE status = 'dead';

-- Messages received, recorded in the same transaction as their effect, with the outcome given.
CREATE TABLE messaging_inbox (
    message_id  text PRIMARY KEY,
    method      text NOT NULL,
    outcome     jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Work done inside the service (checks, sends, timers), claimed under a lease.
CREATE TABLE messaging_jobs (
    id           bigserial PRIMARY KEY,
    queue        text NOT NULL,
    payload      jsonb NOT NULL,
    -- Higher runs first.
    priority     integer NOT NULL DEFAULT 0,
    run_at       timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'running', 'done', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    lease_until  timestamptz,
    worker       text,
    errors       jsonb NOT NULL DEFAULT '[]',
    -- Enqueueing twice with the same key makes one job.
    dedupe_key   text UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX messaging_jobs_claimable ON messaging_jobs (queue, priority DESC, run_at, id) WHERE status IN ('ready', 'running');
CREATE INDEX messaging_jobs_finished ON messaging_jobs (finished_at) WHERE status = 'done';
