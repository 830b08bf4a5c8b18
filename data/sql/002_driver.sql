-- 002_driver.sql - what the driver tablets reported (issue 6's driver channel).
--
-- Every tablet event (arrived, departed, boarded, alighted, no_show,
-- break_start, break_end) carries an id the tablet made up; the daemon
-- applies an event once and stores it here in the same transaction as the
-- change it made, with the answer it gave ('ok' or why it was refused).  A
-- tablet that sends the same event again after a lost connection gets that
-- answer again and nothing is applied twice: the primary key is the
-- once-only guarantee, the daemon keeps the recent rows in memory to answer
-- without a query.
--
-- unix_ms is the tablet's clock when it happened (0 when it did not say);
-- received_at is the daemon's.

CREATE TABLE driver_events (
    vehicle_id    text NOT NULL REFERENCES vehicles (id),
    event_id      text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('arrived', 'departed', 'boarded', 'alighted',
                                                'no_show', 'break_start', 'break_end')),
    booking_id    text NOT NULL DEFAULT '',  -- the booking or break named ('' none)
    service_date  date NOT NULL,
    unix_ms       bigint NOT NULL DEFAULT 0,
    received_at   timestamptz NOT NULL DEFAULT now(),
    result        text NOT NULL,             -- 'ok' or the refusal sent to the tablet
    PRIMARY KEY (vehicle_id, event_id)
);
CREATE INDEX driver_events_received ON driver_events (received_at);
CREATE INDEX driver_events_booking ON driver_events (booking_id) WHERE booking_id <> '';
