-- Deadline warnings and the resolution timer, and re-checks of cases asked of routing.
--
-- Each timer (first_response, resolution) has two levels, recorded once per complaint in
-- complaint_escalations: level 0 = the warning before the limit (to the department, or the
-- supervisor when the department has no contact), level 1 = the escalation to the supervisor on
-- breach. The columns below mirror those rows so each scan reads a small partial index.

ALTER TABLE complaints ADD COLUMN first_response_warned_at timestamptz;
ALTER TABLE complaints ADD COLUMN resolution_warn_date date;
ALTER TABLE complaints ADD COLUMN resolution_warned_at timestamptz;
ALTER TABLE complaints ADD COLUMN resolution_escalated_at timestamptz;
-- Routing's id of the case complained about (routing.reopen takes the id, not the tracking number).
ALTER TABLE complaints ADD COLUMN case_id text;

CREATE INDEX complaints_first_response_warn ON complaints (first_response_due_at)
    WHERE first_response_at IS NULL AND first_response_warned_at IS NULL AND first_response_escalated_at IS NULL;
-- Open complaints with a resolution limit not yet escalated. Complaints assigned before this
-- migration have no warning date: they get the escalation on breach but no warning.
CREATE INDEX complaints_resolution_due ON complaints (resolution_due_date)
    WHERE resolution_escalated_at IS NULL AND resolution_due_date IS NOT NULL
      AND status IN ('filed', 'acknowledged', 'investigating', 'reopened');

ALTER TABLE complaint_escalations DROP CONSTRAINT complaint_escalations_kind_check;
ALTER TABLE complaint_escalations ADD CONSTRAINT complaint_escalations_kind_check
    CHECK (kind IN ('severity', 'first_response', 'resolution'));

-- One re-check request per complaint: a second resolution (after a reopening, or a repeated
-- call) finds the row and enqueues nothing.
CREATE TABLE complaint_case_rechecks (
    complaint_id          uuid PRIMARY KEY REFERENCES complaints (id),
    case_id               text NOT NULL,
    case_tracking_number  text NOT NULL,
    outcome               text NOT NULL,
    message_id            uuid NOT NULL,
    requested_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
