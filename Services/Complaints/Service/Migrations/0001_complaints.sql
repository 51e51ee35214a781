-- Complaints, their investigation, escalations, classification history, satisfaction ratings
-- and an append-only audit trail.

-- Complaint numbers: TS + local date + a per-day sequence.
CREATE TABLE complaint_number_sequences (
    day  date PRIMARY KEY,
    last integer NOT NULL
);

CREATE TABLE satisfaction_ratings (
    id                      uuid PRIMARY KEY,
    -- One rating per case.
    tracking_number         text NOT NULL UNIQUE,
    score                   smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    timeliness              smallint CHECK (timeliness BETWEEN 1 AND 5),
    attitude                smallint CHECK (attitude BETWEEN 1 AND 5),
    clarity                 smallint CHECK (clarity BETWEEN 1 AND 5),
    comment                 text,
    department              text,
    service_type            text,
    follow_up_complaint_id  uuid,
    rated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX satisfaction_ratings_rated_at ON satisfaction_ratings (rated_at);

CREATE TABLE complaints (
    id                      uuid PRIMARY KEY,
    number                  text NOT NULL UNIQUE,
    -- A client's key: the same key files one complaint.
    idempotency_key         text UNIQUE,
    status                  text NOT NULL CHECK (status IN ('filed', 'acknowledged', 'investigating', 'resolved', 'reopened', 'accepted', 'closed')),
    channel                 text NOT NULL,
    complainant_name        text NOT NULL,
    -- Contacts are needed to answer the complainant; they are never logged and lists mask them.
    complainant_phone       text,
    complainant_email       text,
    -- Keyed hashes for finding repeat complainants without reading the contacts.
    phone_hash              text,
    email_hash              text,
    locale                  text NOT NULL,
    case_tracking_number    text,
    case_overdue            boolean NOT NULL DEFAULT false,
    vulnerable              boolean NOT NULL DEFAULT false,
    case_handler_id         text,
    content                 text NOT NULL,
    category                text NOT NULL,
    severity                text NOT NULL CHECK (severity IN ('general', 'major')),
    classification_reasons  text[] NOT NULL DEFAULT '{}',
    department              text,
    assignee_id             text,
    escalated               boolean NOT NULL DEFAULT false,
    filed_at                timestamptz NOT NULL,
    first_response_due_at   timestamptz NOT NULL,
    first_response_at       timestamptz,
    resolution_due_date     date,
    outcome                 text CHECK (outcome IN ('upheld', 'partly_upheld', 'not_upheld')),
    resolution              text,
    remedy                  text,
    root_cause              text,
    resolved_at             timestamptz,
    reopen_count            integer NOT NULL DEFAULT 0,
    accepted_at             timestamptz,
    closed_at               timestamptz,
    source_rating_id        uuid UNIQUE REFERENCES satisfaction_ratings (id),
    updated_at              timestamptz NOT NULL
);
CREATE INDEX complaints_phone_hash ON complaints (phone_hash, filed_at) WHERE phone_hash IS NOT NULL;
CREATE INDEX complaints_email_hash ON complaints (email_hash, filed_at) WHERE email_hash IS NOT NULL;
CREATE INDEX complaints_status ON complaints (status, id);
CREATE INDEX complaints_filed_at ON complaints (filed_at);
CREATE INDEX complaints_case ON complaints (case_tracking_number) WHERE case_tracking_number IS NOT NULL;

ALTER TABLE satisfaction_ratings
    ADD CONSTRAINT satisfaction_ratings_follow_up FOREIGN KEY (follow_up_complaint_id) REFERENCES complaints (id);

-- Every classification: by the rules at filing, then any officer override (with its reason).
CREATE TABLE complaint_classifications (
    id            bigserial PRIMARY KEY,
    complaint_id  uuid NOT NULL REFERENCES complaints (id),
    category      text NOT NULL,
    severity      text NOT NULL,
    source        text NOT NULL CHECK (source IN ('rules', 'officer')),
    reason        text,
    actor_id      text NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX complaint_classifications_by_complaint ON complaint_classifications (complaint_id, id);

CREATE TABLE complaint_notes (
    id               bigserial PRIMARY KEY,
    complaint_id     uuid NOT NULL REFERENCES complaints (id),
    investigator_id  text NOT NULL,
    note             text NOT NULL,
    evidence_refs    text[] NOT NULL DEFAULT '{}',
    at               timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX complaint_notes_by_complaint ON complaint_notes (complaint_id, id);

-- Escalations to a supervisor, recorded once per level.
CREATE TABLE complaint_escalations (
    complaint_id  uuid NOT NULL REFERENCES complaints (id),
    level         integer NOT NULL,
    reason        text NOT NULL,
    to_staff_id   text NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (complaint_id, level)
);

-- Append-only: who did what to which complaint, with before and after (never contacts).
CREATE TABLE complaint_audit (
    id            bigserial PRIMARY KEY,
    complaint_id  uuid REFERENCES complaints (id),
    rating_id     uuid REFERENCES satisfaction_ratings (id),
    action        text NOT NULL,
    from_status   text,
    to_status     text,
    actor_id      text NOT NULL,
    actor_role    text,
    before        jsonb,
    after         jsonb,
    trace         text,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX complaint_audit_by_complaint ON complaint_audit (complaint_id, id);

CREATE FUNCTION complaint_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'complaint_audit is append-only';
END $$;
CREATE TRIGGER complaint_audit_no_change BEFORE UPDATE OR DELETE ON complaint_audit
    FOR EACH ROW EXECUTE FUNCTION complaint_audit_append_only();
