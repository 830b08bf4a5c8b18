-- 005_attention.sql - a booking the daemon could not put back into any plan
-- after a restart (confirmed, but no van can take it any more) is never
-- dropped silently: it keeps its status and is marked for the operators
-- ('not_planned'), who call the rider and cancel or rebook it.  Cleared
-- when a later restart places it again or when it changes.
ALTER TABLE bookings ADD COLUMN attention text;
CREATE INDEX bookings_attention ON bookings (service_date) WHERE attention IS NOT NULL;
