-- Lookups by tracking number (routing.caseAssignment, routing.explainDeadline) and the second
-- SLA escalation level: a case overdue by more than the configured margin goes to the supervisor.

CREATE INDEX routing_assignments_tracking ON routing_assignments (tracking_number);

-- The due date the supervisor escalation was last done for (a new due date arms it again).
ALTER TABLE routing_assignments ADD COLUMN supervisor_escalated_for date;
CREATE INDEX routing_assignments_sla_supervisor ON routing_assignments (due_date)
    WHERE state IN ('assigned', 'in_progress') AND supervisor_escalated_for IS DISTINCT FROM due_date;

ALTER TABLE routing_escalations DROP CONSTRAINT routing_escalations_level_check;
ALTER TABLE routing_escalations ADD CONSTRAINT routing_escalations_level_check
    CHECK (level IN ('department_head', 'supervisor'));
