-- The relay's claim as PL/pgSQL instead of SQL. A SQL function that carries a SET clause is never
-- inlined, and each call parsed and planned its UPDATE afresh: with review deciding a few hundred
-- tasks a second that was a fifth of Postgres's CPU. PL/pgSQL keeps the statement's plan for the
-- session. The claim itself, and why it runs with `enable_sort = off`, are unchanged (0002).
CREATE OR REPLACE FUNCTION messaging_outbox_claim(batch integer, lease_seconds double precision)
RETURNS TABLE (id bigint, message_id uuid, destination text, method text, params jsonb, attempts integer)
LANGUAGE plpgsql
SET enable_sort = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    UPDATE messaging_outbox o
    SET claimed_until = now() + make_interval(secs => lease_seconds),
        attempts = o.attempts + 1
    FROM (
        SELECT m.id FROM messaging_outbox m
        WHERE m.status = 'pending'
          AND m.next_attempt_at <= now()
          AND (m.claimed_until IS NULL OR m.claimed_until < now())
          AND NOT EXISTS (
              SELECT 1 FROM messaging_outbox earlier
              WHERE earlier.aggregate_key = m.aggregate_key AND earlier.status = 'pending' AND earlier.id < m.id
          )
        ORDER BY m.id
        LIMIT batch
        FOR UPDATE OF m SKIP LOCKED
    ) claimable
    WHERE o.id = claimable.id
    RETURNING o.id, o.message_id, o.destination, o.method, o.params, o.attempts;
END
$$;
