-- Re-checks asked for by upheld complaints (routing.reopen naming a complaint). On a case still
-- in progress the re-check is recorded as a slip of kind 'recheck' (nothing is handed over); a
-- slip written for a complaint carries its number, once per case, so the same complaint asking
-- again finds its first answer and changes nothing.
ALTER TABLE routing_slips DROP CONSTRAINT routing_slips_kind_check;
ALTER TABLE routing_slips ADD CONSTRAINT routing_slips_kind_check
    CHECK (kind IN ('dispatch', 'transfer', 'reassign', 'reopen', 'recheck'));
ALTER TABLE routing_slips ADD COLUMN complaint_number text;
CREATE UNIQUE INDEX routing_slips_by_complaint ON routing_slips (assignment_id, complaint_number)
    WHERE complaint_number IS NOT NULL;
