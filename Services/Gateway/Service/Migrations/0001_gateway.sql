-- The gateway's own data: who may log in, their sessions and API tokens, the attempt counters
-- that lock out guessing, and the access audit (denials and reads of classified cases).

CREATE TABLE staff_users (
    id              text PRIMARY KEY,            -- the login name; also the actor id the services see
    display_name    text NOT NULL,
    roles           text[] NOT NULL,
    department      text,                        -- scope of department-bound roles; NULL = hall-wide
    password_hash   text NOT NULL,               -- scrypt$N$r$p$salt$hash, never the password
    disabled        boolean NOT NULL DEFAULT false,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(roles) > 0)
);

CREATE TABLE staff_sessions (
    id              uuid PRIMARY KEY,
    token_hash      text NOT NULL UNIQUE,        -- SHA-256 of the cookie value
    user_id         text NOT NULL REFERENCES staff_users(id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,        -- the absolute limit
    revoked_at      timestamptz,
    client_address  text,
    user_agent      text
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id, created_at DESC);

CREATE TABLE api_tokens (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    token_hash      text NOT NULL UNIQUE,        -- SHA-256 of the token; the token is shown once
    prefix          text NOT NULL,               -- first characters, to recognise it in lists
    roles           text[] NOT NULL,
    department      text,
    scopes          text[] NOT NULL,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    last_used_at    timestamptz
);

-- Failed access-code attempts per tracking number as typed (known or not, so a lockout tells
-- nothing about whether the number exists).
CREATE TABLE access_code_attempts (
    tracking_number text PRIMARY KEY,
    failures        integer NOT NULL,
    window_start    timestamptz NOT NULL,
    locked_until    timestamptz
);

CREATE TABLE access_audit (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    request_id      text NOT NULL,
    principal       text NOT NULL,
    action          text NOT NULL,
    outcome         text NOT NULL CHECK (outcome IN ('denied', 'allowed')),
    detail          text NOT NULL
);
CREATE INDEX access_audit_at ON access_audit (at);

CREATE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_audit is append-only';
END $$;
CREATE TRIGGER access_audit_no_change BEFORE UPDATE OR DELETE ON access_audit
    FOR EACH ROW EXECUTE FUNCTION access_audit_append_only();
