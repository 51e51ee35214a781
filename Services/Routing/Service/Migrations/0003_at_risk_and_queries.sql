-- The at-risk warning (a share of the time used, 80% by default), the per-department gauges and
-- the handler's and overdue lists.

-- The day a case reaches the at-risk share of its time, written with every due date (both come
-- from the working calendar, which SQL does not have). Rows from before this migration get
-- 80% of their calendar days, close enough for cases already running.
ALTER TABLE routing_assignments ADD COLUMN at_risk_on date;
UPDATE routing_assignments SET at_risk_on = accepted_on + ((due_date - accepted_on) * 4 + 4) / 5
    WHERE state <> 'completed';
-- The due date the at-risk warning was last sent for (a new due date arms it again).
ALTER TABLE routing_assignments ADD COLUMN at_risk_warned_for date;

-- The at-risk scan reads only running cases not yet warned for their due date, by that day.
CREATE INDEX routing_assignments_sla_at_risk ON routing_assignments (at_risk_on)
    WHERE state IN ('assigned', 'in_progress') AND at_risk_warned_for IS DISTINCT FROM due_date;

-- The at-risk gauge: running cases by the day they reached the at-risk share (a range up to
-- today; the department and due date come from the index, not the table).
CREATE INDEX routing_assignments_at_risk_on ON routing_assignments (at_risk_on) INCLUDE (department, due_date)
    WHERE state IN ('assigned', 'in_progress');

-- routing.myCases: a handler's open cases by due date, paged by (due_date, id). It and the
-- department index below replace the two narrower ones, which they cover, so a dispatch
-- maintains no more indexes than needed.
DROP INDEX routing_assignments_handler;
DROP INDEX routing_assignments_queue;
CREATE INDEX routing_assignments_handler_due ON routing_assignments (handler_id, due_date, id)
    WHERE state <> 'completed';
-- routing.overdue and the overdue gauge: open cases by due date (most late first), in all or one
-- department. The open gauge counts the department index (index-only: a narrow entry per case).
CREATE INDEX routing_assignments_open_due ON routing_assignments (due_date, id) WHERE state <> 'completed';
CREATE INDEX routing_assignments_department_due ON routing_assignments (department, due_date, id)
    WHERE state <> 'completed';

ALTER TABLE routing_sla_notices DROP CONSTRAINT routing_sla_notices_kind_check;
ALTER TABLE routing_sla_notices ADD CONSTRAINT routing_sla_notices_kind_check
    CHECK (kind IN ('deadline_near', 'deadline_passed', 'at_risk'));
