-- Routing: the organisation (departments, handlers, rules), assignments with their routing
-- slips, pauses, extensions, SLA notices and escalations, and the audit trail.

CREATE TABLE routing_departments (
    code        text PRIMARY KEY,
    name_zh     text NOT NULL,
    name_en     text NOT NULL,
    head_id     text,
    head_name   text,
    head_email  text,
    head_phone  text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE routing_handler_turns;

CREATE TABLE routing_handlers (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    department  text NOT NULL REFERENCES routing_departments (code),
    skills      text[] NOT NULL,
    capacity    integer NOT NULL CHECK (capacity > 0),
    email       text,
    phone       text,
    active      boolean NOT NULL DEFAULT true,
    -- Open (not completed) cases assigned now; kept in the same transaction as each hand-over.
    open_cases  integer NOT NULL DEFAULT 0 CHECK (open_cases >= 0),
    -- When this handler last got a case (a value of routing_handler_turns): among equally loaded
    -- handlers the one who waited longest goes first, which makes a round robin.
    last_turn   bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_handlers_department ON routing_handlers (department) WHERE active;

-- Service type (and optionally priority) -> department. priority '*' = any priority.
CREATE TABLE routing_rules (
    service_type text NOT NULL,
    priority     text NOT NULL DEFAULT '*',
    department   text NOT NULL REFERENCES routing_departments (code),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_type, priority)
);

CREATE TABLE routing_assignments (
    id                  uuid PRIMARY KEY,
    case_id             text NOT NULL UNIQUE,
    tracking_number     text NOT NULL,
    service_type        text NOT NULL,
    service_name        text NOT NULL,
    priority            text NOT NULL,
    confidentiality     text NOT NULL,
    customer_name       text,
    -- No foreign key: a case for a department not yet set up waits in that department's queue.
    department          text NOT NULL,
    handler_id          text,
    state               text NOT NULL CHECK (state IN ('assigned', 'in_progress', 'info_requested', 'completed')),
    accepted_on         date NOT NULL,
    time_limit_days     integer NOT NULL CHECK (time_limit_days >= 0),
    paused_days         integer NOT NULL DEFAULT 0,
    extended_days       integer NOT NULL DEFAULT 0,
    max_extension_days  integer NOT NULL,
    due_date            date NOT NULL,
    paused_since        date,
    result              text,
    pickup              jsonb,
    completed_at        timestamptz,
    -- The due date each SLA step was last done for (a new due date arms it again).
    near_notified_for   date,
    escalated_for       date,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_assignments_queue ON routing_assignments (department, due_date) WHERE state <> 'completed';
CREATE INDEX routing_assignments_handler ON routing_assignments (handler_id) WHERE state <> 'completed';
-- The SLA monitor reads only these two partial indexes: running cases not yet warned / escalated
-- for their current due date, by due date.
CREATE INDEX routing_assignments_sla_near ON routing_assignments (due_date)
    WHERE state IN ('assigned', 'in_progress') AND near_notified_for IS DISTINCT FROM due_date;
CREATE INDEX routing_assignments_sla_overdue ON routing_assignments (due_date)
    WHERE state IN ('assigned', 'in_progress') AND escalated_for IS DISTINCT FROM due_date;

CREATE TABLE routing_slips (
    id               uuid PRIMARY KEY,
    -- Order of writing (the clock may stand still in tests or jump between replicas).
    seq              bigserial NOT NULL,
    assignment_id    uuid NOT NULL REFERENCES routing_assignments (id),
    kind             text NOT NULL CHECK (kind IN ('dispatch', 'transfer', 'reassign', 'reopen')),
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_department  text,
    from_handler     text,
    to_department    text NOT NULL,
    to_handler       text,
    reason           text NOT NULL,
    by_staff         text NOT NULL
);
CREATE INDEX routing_slips_assignment ON routing_slips (assignment_id, seq);

CREATE TABLE routing_pauses (
    id             uuid PRIMARY KEY,
    seq            bigserial NOT NULL,
    assignment_id  uuid NOT NULL REFERENCES routing_assignments (id),
    reason_type    text NOT NULL,
    question       text NOT NULL,
    started_on     date NOT NULL,
    ended_on       date,
    working_days   integer,
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz
);
CREATE INDEX routing_pauses_assignment ON routing_pauses (assignment_id, seq);

CREATE TABLE routing_extensions (
    id             uuid PRIMARY KEY,
    seq            bigserial NOT NULL,
    assignment_id  uuid NOT NULL REFERENCES routing_assignments (id),
    reason         text NOT NULL,
    requested_by   text NOT NULL,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    new_due_date   date NOT NULL,
    working_days   integer NOT NULL CHECK (working_days > 0),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by     text,
    decided_at     timestamptz,
    note           text
);
CREATE INDEX routing_extensions_assignment ON routing_extensions (assignment_id, seq);
CREATE UNIQUE INDEX routing_extensions_one_pending ON routing_extensions (assignment_id) WHERE status = 'pending';

-- Warnings sent by the SLA monitor, once per case, kind and due date.
CREATE TABLE routing_sla_notices (
    assignment_id  uuid NOT NULL REFERENCES routing_assignments (id),
    kind           text NOT NULL CHECK (kind IN ('deadline_near', 'deadline_passed')),
    due_date       date NOT NULL,
    sent_to        text,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assignment_id, kind, due_date)
);

-- Escalations of overdue cases, once per case, level and due date.
CREATE TABLE routing_escalations (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES routing_assignments (id),
    level          text NOT NULL CHECK (level IN ('department_head')),
    due_date       date NOT NULL,
    department     text NOT NULL,
    escalated_to   text,
    at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (assignment_id, level, due_date)
);

-- Append-only: who changed what, when, before and after.
CREATE TABLE routing_audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id     text NOT NULL,
    actor_role   text NOT NULL,
    action       text NOT NULL,
    subject      text NOT NULL,
    before       jsonb,
    after        jsonb,
    trace_id     text
);
CREATE INDEX routing_audit_subject ON routing_audit (subject, id);
