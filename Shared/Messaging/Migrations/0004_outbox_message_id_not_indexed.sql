-- Nothing looks an outbox row up by its message id: relays claim by id and key, receivers dedupe
-- in their own inbox. The unique index on it only cost every message an entry when written and
-- another when delivered (a random place in the tree, as the ids were random UUIDs). Message ids
-- are now time-ordered UUIDv7s, unique by construction as before.
ALTER TABLE messaging_outbox DROP CONSTRAINT messaging_outbox_message_id_key;
