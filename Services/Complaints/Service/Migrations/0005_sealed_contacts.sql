-- Complainants' phones and emails are sealed (AES-GCM, ONESTOP_COMPLAINTS_DATA_KEYS) from now
-- on: the ciphertext and the sealing key's id live here, the keyed hashes stay for lookups, and
-- the clear columns are left NULL by new filings. Rows filed before this migration keep their
-- clear contacts until they are re-sealed (see SECURITY.md).
ALTER TABLE complaints
    ADD COLUMN contact_key_id text,
    ADD COLUMN phone_cipher   bytea,
    ADD COLUMN email_cipher   bytea;
