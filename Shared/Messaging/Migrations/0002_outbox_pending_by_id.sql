-- The relay claims the oldest pending messages first: walking this index in id order stops after
-- one batch, where the primary key would also step over every delivered row still kept for
-- retention (the claim cost grew with the number of messages already delivered).
CREATE INDEX messaging_outbox_pending_by_id ON messaging_outbox (id) WHERE status = 'pending';

-- The relay's claim, as a function only so that it can carry `SET enable_sort = off` in one round
-- trip. The claim must walk the index above in id order and stop after one batch. Without fresh
-- statistics (a backlog that arrived in bulk, or statistics saying nearly every row is delivered)
-- the planner instead fetches every pending row, runs the head-of-key check on each and sorts:
-- measured 1.5 s per claim with 100,000 pending, against a few ms for the ordered walk. Ruling the
-- sort out leaves only the ordered walk. The rules are those of the relay: by status, only the
-- oldest pending message of a key, not while leased, FOR UPDATE SKIP LOCKED.
CREATE FUNCTION messaging_outbox_claim(batch integer, lease_seconds double precision)
RETURNS TABLE (id bigint, message_id uuid, destination text, method text, params jsonb, attempts integer)
LANGUAGE sql
SET enable_sort = off
AS $$
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
    RETURNING o.id, o.message_id, o.destination, o.method, o.params, o.attempts
$$;
