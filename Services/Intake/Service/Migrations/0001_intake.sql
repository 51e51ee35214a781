-- The service catalog: seeded from Catalog/catalog.json, then edited by administrators.
CREATE TABLE catalog_service_types (
    code        text PRIMARY KEY,
    definition  jsonb NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

-- Tracking numbers: date + this sequence + a check character. A sequence never blocks
-- concurrent registrations; gaps after a rollback are harmless.
CREATE SEQUENCE tracking_sequence;

CREATE TABLE cases (
    id                 uuid PRIMARY KEY,
    tracking_number    text NOT NULL UNIQUE,
    access_code_hash   text NOT NULL,
    idempotency_key    text UNIQUE,
    service_type       text NOT NULL,
    channel            text NOT NULL,
    applicant_type     text NOT NULL,
    customer_name      text NOT NULL,
    id_type            text NOT NULL,
    -- Personal data: AES-GCM ciphertext (nonce ‖ ciphertext ‖ tag), the key id it was sealed
    -- with, a keyed hash for exact lookup, and the masked form for lists.
    id_number_cipher   bytea NOT NULL,
    id_number_hash     text NOT NULL,
    id_number_masked   text NOT NULL,
    phone_cipher       bytea,
    phone_hash         text,
    phone_masked       text,
    email_cipher       bytea,
    email_hash         text,
    email_masked       text,
    key_id             text NOT NULL,
    principal          jsonb,
    locale             text NOT NULL,
    description        text NOT NULL,
    declared_amount    double precision,
    priority           text NOT NULL,
    confidentiality    text NOT NULL,
    status             text NOT NULL,
    owner_id           text NOT NULL,
    owner_name         text,
    department         text NOT NULL,
    handler_id         text,
    materials          jsonb NOT NULL,
    -- Codes of the items of the first notice: later requests beyond them need an override.
    noticed_items      text[] NOT NULL DEFAULT '{}',
    notice             jsonb,
    notice_deadline    date,
    due_date           date,
    review_round       integer NOT NULL DEFAULT 0,
    registered_at      timestamptz NOT NULL,
    accepted_at        timestamptz,
    finished_at        timestamptz,
    archived_at        timestamptz
);
CREATE INDEX cases_listing ON cases (registered_at DESC, id DESC);
CREATE INDEX cases_status_listing ON cases (status, registered_at DESC, id DESC);
CREATE INDEX cases_owner_listing ON cases (owner_id, registered_at DESC, id DESC);
CREATE INDEX cases_customer_open ON cases (id_number_hash, service_type)
    WHERE status NOT IN ('not_accepted', 'lapsed', 'withdrawn', 'rejected', 'completed', 'closed');
CREATE INDEX cases_awaiting_deadline ON cases (notice_deadline) WHERE status IN ('awaiting_materials', 'returned');
CREATE INDEX cases_finished ON cases (finished_at) WHERE archived_at IS NULL AND finished_at IS NOT NULL;

CREATE TABLE case_timeline (
    id        bigserial PRIMARY KEY,
    case_id   uuid NOT NULL REFERENCES cases (id),
    at        timestamptz NOT NULL,
    event     text NOT NULL,
    actor     text,
    detail    text,
    -- Shown to the customer (internal opinions are not).
    public    boolean NOT NULL DEFAULT true
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, id);

CREATE TABLE item_overrides (
    id          bigserial PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES cases (id),
    items       jsonb NOT NULL,
    supervisor  text NOT NULL,
    reason      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE duty_roster (
    day           date PRIMARY KEY,
    officer_id    text NOT NULL,
    officer_name  text
);

CREATE TABLE objections (
    id         uuid PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases (id),
    reason     text NOT NULL,
    status     text NOT NULL DEFAULT 'open',
    filed_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE archive_grants (
    id            uuid PRIMARY KEY,
    case_id       uuid NOT NULL REFERENCES cases (id),
    requested_by  text NOT NULL,
    reason        text NOT NULL,
    status        text NOT NULL DEFAULT 'requested',
    approved_by   text,
    valid_until   timestamptz,
    requested_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE archive_reads (
    id        bigserial PRIMARY KEY,
    grant_id  uuid NOT NULL REFERENCES archive_grants (id),
    case_id   uuid NOT NULL,
    reader    text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);

-- Append-only: who, in which role, when, what, before and after, under which trace.
CREATE TABLE audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    role      text,
    action    text NOT NULL,
    case_id   uuid,
    before    jsonb,
    after     jsonb,
    trace_id  text
);
CREATE INDEX audit_log_case ON audit_log (case_id, id);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
