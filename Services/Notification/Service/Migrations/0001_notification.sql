-- One row per accepted notification.send; `key` makes a repeat send nothing new.
CREATE TABLE notification_messages (
    id          uuid PRIMARY KEY,
    key         text NOT NULL UNIQUE,
    template    text NOT NULL,
    locale      text NOT NULL,
    urgency     text NOT NULL,
    subject_id  text,
    variables   jsonb NOT NULL,
    caller      text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_messages_subject ON notification_messages (subject_id) WHERE subject_id IS NOT NULL;

-- One delivery per recipient × channel, with its rendered content; each attempt is a job in
-- the work queue `notification.delivery`.
CREATE TABLE notification_deliveries (
    id              uuid PRIMARY KEY,
    message_id      uuid NOT NULL REFERENCES notification_messages (id),
    position        int NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('sms', 'email')),
    address         text NOT NULL,
    recipient_name  text,
    content         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'retrying', 'sent', 'failed', 'dead', 'suppressed')),
    attempts        int NOT NULL DEFAULT 0,
    parts_sent      int NOT NULL DEFAULT 0,
    provider_id     text,
    last_error      text,
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, channel, address)
);
CREATE INDEX notification_deliveries_open ON notification_deliveries (status) WHERE status IN ('pending', 'retrying');

-- Every attempt (and every deferral or suppression), append-only.
CREATE TABLE notification_attempts (
    id              bigserial PRIMARY KEY,
    delivery_id     uuid NOT NULL REFERENCES notification_deliveries (id),
    attempt         int NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed', 'dead', 'suppressed', 'deferred')),
    reason          text,
    detail          text,
    provider_status int,
    latency_ms      int,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_attempts_delivery ON notification_attempts (delivery_id, id);

-- Addresses never to send to (hard bounces, opt-outs), checked before every send.
CREATE TABLE notification_suppressions (
    channel     text NOT NULL CHECK (channel IN ('sms', 'email')),
    address     text NOT NULL,
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, address)
);

-- Append-only audit of every state change.
CREATE TABLE notification_audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text,
    action      text NOT NULL,
    entity_id   text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX notification_audit_entity ON notification_audit (entity_id, id);
