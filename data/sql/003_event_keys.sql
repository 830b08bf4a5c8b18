-- 003_event_keys.sql - every booking event carries the key the daemon gave
-- it, so an event sent again after a commit whose outcome was unknown (the
-- connection dropped during COMMIT) is stored once.
ALTER TABLE booking_events ADD COLUMN event_key text;
CREATE UNIQUE INDEX booking_events_event_key ON booking_events (event_key);
