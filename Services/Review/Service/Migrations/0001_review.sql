-- Review: tasks, automated check results, the reviewer roster, decisions and the audit trail.

-- Reviewers who decide tasks. `service_types` holds the types they are qualified for ('*' = all).
CREATE TABLE review_reviewers (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    service_types       text[] NOT NULL,
    on_duty             boolean NOT NULL DEFAULT true,
    team                text,
    supervisor_id       text,
    is_supervisor       boolean NOT NULL DEFAULT false,
    -- Round-robin among reviewers with equally few open tasks: the least recently assigned first.
    last_assigned_seq   bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE review_assignment_seq;

-- One task per case and review round (a case returned for supplement comes back in a new round).
-- The ID number is kept only masked; its checksum is checked at submission.
CREATE TABLE review_tasks (
    id                    uuid PRIMARY KEY,
    case_id               text NOT NULL,
    round                 integer NOT NULL DEFAULT 1,
    tracking_number       text NOT NULL,
    service_type          text NOT NULL,
    service_name          text NOT NULL,
    priority              text NOT NULL CHECK (priority IN ('regular', 'urgent', 'special')),
    priority_rank         integer NOT NULL,
    customer_key          text NOT NULL,
    applicant_name        text NOT NULL,
    applicant_id_masked   text NOT NULL,
    -- The submission without clear ID numbers (what the checks and the outbox messages need).
    submission            jsonb NOT NULL,
    -- Identity checks done at submission, while the clear number was at hand.
    identity_checks       jsonb NOT NULL,
    state                 text NOT NULL DEFAULT 'checking'
                          CHECK (state IN ('checking', 'awaiting_decision', 'assigned', 'decided', 'approved_automatically')),
    assigned_reviewer     text REFERENCES review_reviewers (id),
    assigned_at           timestamptz,
    checked_at            timestamptz,
    decided_at            timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    CHECK (state <> 'assigned' OR assigned_reviewer IS NOT NULL),
    UNIQUE (case_id, round)
);
CREATE INDEX review_tasks_open_by_reviewer ON review_tasks (assigned_reviewer, priority_rank DESC, created_at, id) WHERE state = 'assigned';
CREATE INDEX review_tasks_waiting ON review_tasks (priority_rank DESC, created_at, id) WHERE state = 'awaiting_decision';
CREATE INDEX review_tasks_customer ON review_tasks (customer_key);
CREATE INDEX review_tasks_state ON review_tasks (state);

-- One row per check and task, with the rule that fired.
CREATE TABLE review_check_results (
    task_id     uuid NOT NULL REFERENCES review_tasks (id),
    rule_id     text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('passed', 'flagged', 'could_not_verify')),
    detail      text NOT NULL,
    checked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, rule_id)
);
CREATE INDEX review_check_results_rule ON review_check_results (rule_id, outcome);

-- At most one decision per task: the unique key is the last guard against a second decision.
CREATE TABLE review_decisions (
    task_id       uuid PRIMARY KEY REFERENCES review_tasks (id),
    decision      text NOT NULL CHECK (decision IN ('approve', 'reject', 'return')),
    decided_by    text NOT NULL,
    decided_role  text NOT NULL,
    automatic     boolean NOT NULL,
    opinion       text,
    reasons       text[] NOT NULL DEFAULT '{}',
    items         text[] NOT NULL DEFAULT '{}',
    customer_key  text NOT NULL,
    reviewer_id   text,
    assigned_at   timestamptz,
    submitted_at  timestamptz NOT NULL,
    decided_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (decision <> 'reject' OR cardinality(reasons) > 0),
    CHECK (decision <> 'return' OR cardinality(items) > 0)
);
CREATE INDEX review_decisions_rejections ON review_decisions (customer_key, decided_at) WHERE decision = 'reject';

-- Append-only: every state change (who, role, when, what, before/after, trace).
CREATE TABLE review_audit (
    id          bigserial PRIMARY KEY,
    task_id     uuid,
    reviewer_id text,
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    before      jsonb,
    after       jsonb,
    trace       text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_audit_task ON review_audit (task_id, id);

CREATE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'review_audit is append-only';
END $$;
CREATE TRIGGER review_audit_no_change BEFORE UPDATE OR DELETE ON review_audit
    FOR EACH ROW EXECUTE FUNCTION review_audit_append_only();
