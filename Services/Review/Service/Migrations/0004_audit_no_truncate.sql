-- Audit rows cannot be changed or removed through the service's own connections: the service
-- connects as the owner of its tables, so grants cannot stop it and a trigger is the guard (a
-- BEFORE UPDATE OR DELETE row trigger, and BEFORE TRUNCATE, which row triggers do not see). The
-- owner could still drop the trigger with DDL; a separate non-owner runtime role would close
-- that (see SECURITY.md).
CREATE OR REPLACE FUNCTION onestop_append_only_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER review_audit_append_only_truncate BEFORE TRUNCATE ON review_audit
    FOR EACH STATEMENT EXECUTE FUNCTION onestop_append_only_guard();
