-- Where a complaint's department came from (routing, the filing, an officer) and, when it has
-- none, why; and the first-response timer: a complaint not acknowledged in time is escalated to
-- the supervisor once.

ALTER TABLE complaints ADD COLUMN department_source text
    CHECK (department_source IN ('routing', 'filing', 'officer'));
ALTER TABLE complaints ADD COLUMN department_missing_reason text;
ALTER TABLE complaints ADD COLUMN first_response_escalated_at timestamptz;

-- The first-response timer reads only complaints still waiting for their first contact.
CREATE INDEX complaints_first_response_due ON complaints (first_response_due_at)
    WHERE first_response_at IS NULL AND first_response_escalated_at IS NULL;

-- Escalations are recorded once per kind and level: 'severity' (a major complaint, at once) and
-- 'first_response' (no first contact within the limit).
ALTER TABLE complaint_escalations ADD COLUMN kind text NOT NULL DEFAULT 'severity'
    CHECK (kind IN ('severity', 'first_response'));
ALTER TABLE complaint_escalations DROP CONSTRAINT complaint_escalations_pkey;
ALTER TABLE complaint_escalations ADD PRIMARY KEY (complaint_id, kind, level);
