-- A task's check results, all of them, as one jsonb array on the task: an automatically
-- approved task wrote seven result rows (and their key entries) in the statement that decides
-- it, and that statement bounded the workers' throughput. `review_check_results` keeps the
-- results that did not pass, one row each, for the flags-by-rule statistics and counts.
-- Each element is {"ruleId", "outcome", "detail"}; they were all checked at `checked_at`.
ALTER TABLE review_tasks ADD COLUMN check_results jsonb;

UPDATE review_tasks t SET check_results = (
    SELECT jsonb_agg(jsonb_build_object('ruleId', c.rule_id, 'outcome', c.outcome, 'detail', c.detail) ORDER BY c.rule_id)
    FROM review_check_results c WHERE c.task_id = t.id
)
WHERE EXISTS (SELECT 1 FROM review_check_results c WHERE c.task_id = t.id);

DELETE FROM review_check_results WHERE outcome = 'passed';
ALTER TABLE review_check_results ADD CONSTRAINT review_check_results_only_not_passed CHECK (outcome <> 'passed');

-- Every lookup by state goes through the partial indexes on 'assigned' and 'awaiting_decision';
-- this one only cost each insert and state change an entry.
DROP INDEX review_tasks_state;
