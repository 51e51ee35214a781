-- Personal data is sealed at rest from now on (AES-GCM with ONESTOP_NOTIFY_DATA_KEYS, the key's
-- id beside each box): recipients' addresses and names, the rendered messages and a send's
-- variables. What is looked up is a keyed hash (HMAC-SHA256 with ONESTOP_NOTIFY_LOOKUP_KEY) of
-- the normalised address: the suppression list and the one-delivery-per-address rule. New rows
-- leave the clear columns NULL; rows written before this migration are sealed by the service at
-- start, before it sends anything (NotificationStore.sealLegacyRows), which empties them.
ALTER TABLE notification_messages
    ADD COLUMN sealed_key_id    text,
    ADD COLUMN variables_cipher bytea,
    ALTER COLUMN variables DROP NOT NULL;

ALTER TABLE notification_deliveries
    ADD COLUMN sealed_key_id  text,
    ADD COLUMN address_cipher bytea,
    ADD COLUMN name_cipher    bytea,
    ADD COLUMN content_cipher bytea,
    ADD COLUMN address_hash   text,
    -- What notification.status shows: `+86138****5678`, `z***@example.org`.
    ADD COLUMN address_masked text,
    ALTER COLUMN address DROP NOT NULL,
    ALTER COLUMN content DROP NOT NULL,
    DROP CONSTRAINT notification_deliveries_message_id_channel_address_key,
    -- Sealed (the new form) or in clear (before sealing), never both, never neither.
    ADD CONSTRAINT notification_deliveries_sealed_or_clear CHECK (
        (address IS NULL AND address_cipher IS NOT NULL AND content_cipher IS NOT NULL AND address_hash IS NOT NULL AND sealed_key_id IS NOT NULL)
        OR (address IS NOT NULL AND address_cipher IS NULL AND content IS NOT NULL));
CREATE UNIQUE INDEX notification_deliveries_recipient ON notification_deliveries (message_id, channel, address_hash);

ALTER TABLE notification_suppressions DROP CONSTRAINT notification_suppressions_pkey;
ALTER TABLE notification_suppressions
    ADD COLUMN address_hash text,
    ALTER COLUMN address DROP NOT NULL,
    ADD CONSTRAINT notification_suppressions_hashed_or_clear CHECK ((address IS NULL) <> (address_hash IS NULL));
CREATE UNIQUE INDEX notification_suppressions_address ON notification_suppressions (channel, address_hash);
