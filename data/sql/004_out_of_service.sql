-- 004_out_of_service.sql - a van taken out of service stays out for the rest
-- of that service day, also across a daemon restart.
ALTER TABLE vehicles ADD COLUMN out_of_service_on date;
