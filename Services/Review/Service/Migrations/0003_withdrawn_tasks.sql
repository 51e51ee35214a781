-- A task whose case the customer withdrew before a decision (review.cancel): out of every
-- queue, never decided.
ALTER TABLE review_tasks DROP CONSTRAINT review_tasks_state_check;
ALTER TABLE review_tasks ADD CONSTRAINT review_tasks_state_check
    CHECK (state IN ('checking', 'awaiting_decision', 'assigned', 'decided', 'approved_automatically', 'withdrawn'));
