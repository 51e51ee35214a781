-- The service type of the case complained about, as routing reported it at filing, so
-- statistics can count complaints (and the complaint rate) by service type. NULL when no case is
-- named (counted as 'none') or routing could not tell (counted as 'unknown').
ALTER TABLE complaints ADD COLUMN case_service_type text;
