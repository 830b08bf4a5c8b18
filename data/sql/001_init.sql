-- 001_init.sql - noriai's store: riders, vehicles and shifts, bookings with
-- their append-only event log, the current plan of every vehicle, API
-- tokens (hashed) and idempotency keys.
--
-- Times of the service day are integer seconds from local midnight of
-- service_date (the area's time zone), as in the dispatcher; wall-clock
-- instants are timestamptz.

CREATE TABLE riders (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    name_kana     text NOT NULL DEFAULT '',
    phone         text NOT NULL DEFAULT '',
    phone_digits  text NOT NULL DEFAULT '',
    home_address  text NOT NULL DEFAULT '',
    home_stop     text,
    home_lat      double precision,
    home_lon      double precision,
    wheelchair    boolean NOT NULL DEFAULT false,
    mobility      text NOT NULL DEFAULT '',
    notes         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX riders_phone_digits ON riders (phone_digits);
CREATE INDEX riders_name ON riders (lower(name));
CREATE INDEX riders_kana ON riders (name_kana);

CREATE TABLE vehicles (
    id            text PRIMARY KEY,
    name          text NOT NULL DEFAULT '',
    configs       jsonb NOT NULL,            -- [{"seats":8,"wheelchairs":0},...]
    depot_lat     double precision NOT NULL,
    depot_lon     double precision NOT NULL,
    depot_stop    text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shifts (
    vehicle_id    text NOT NULL REFERENCES vehicles (id),
    service_date  date NOT NULL,
    start_s       integer NOT NULL,
    end_s         integer NOT NULL,
    breaks        jsonb NOT NULL DEFAULT '[]', -- [{"earliest_s":..,"latest_s":..,"duration_s":..}]
    PRIMARY KEY (vehicle_id, service_date),
    CHECK (end_s > start_s)
);

CREATE TABLE bookings (
    id                text PRIMARY KEY,
    service_date      date NOT NULL,
    rider_id          text REFERENCES riders (id),
    created_by        text NOT NULL,         -- token id of who booked (operator on behalf)
    status            text NOT NULL,
    pickup_stop       text,
    pickup_lat        double precision NOT NULL,
    pickup_lon        double precision NOT NULL,
    drop_stop         text,
    drop_lat          double precision NOT NULL,
    drop_lon          double precision NOT NULL,
    when_kind         text NOT NULL,         -- asap | depart_after | arrive_by
    time_s            integer,
    passengers        integer NOT NULL CHECK (passengers >= 1),
    wheelchairs       integer NOT NULL DEFAULT 0 CHECK (wheelchairs >= 0),
    requested_s       integer NOT NULL,
    expires_s         integer,
    promise_from_s    integer,
    promise_to_s      integer,
    latest_dropoff_s  integer,
    vehicle_id        text,
    planned_pickup_s  integer,
    planned_dropoff_s integer,
    pickup_s          integer,
    dropoff_s         integer,
    reason            text NOT NULL DEFAULT '',
    notes             text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookings_rider ON bookings (rider_id, service_date);
CREATE INDEX bookings_date_status ON bookings (service_date, status);

-- The audit log: rows are only ever added.
CREATE TABLE booking_events (
    id            bigserial PRIMARY KEY,
    booking_id    text NOT NULL,
    service_date  date NOT NULL,
    time_s        integer NOT NULL,
    kind          text NOT NULL,             -- status | delayed | ...
    from_status   text,
    to_status     text,
    vehicle_id    text,
    detail        text NOT NULL DEFAULT '',
    actor         text NOT NULL DEFAULT '',
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX booking_events_booking ON booking_events (booking_id, id);

CREATE FUNCTION booking_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'booking_events is append-only';
END;
$$;
CREATE TRIGGER booking_events_no_change BEFORE UPDATE OR DELETE ON booking_events
    FOR EACH ROW EXECUTE FUNCTION booking_events_append_only();

-- Each vehicle's current plan; seq grows by one per change and is the route
-- update's sequence number on the driver channel.
CREATE TABLE plans (
    vehicle_id    text NOT NULL REFERENCES vehicles (id),
    service_date  date NOT NULL,
    seq           bigint NOT NULL,
    stops         jsonb NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vehicle_id, service_date)
);

CREATE TABLE tokens (
    id            text PRIMARY KEY,
    token_sha256  text NOT NULL UNIQUE,      -- hex; the token itself is never stored
    role          text NOT NULL CHECK (role IN ('admin','operator','rider','driver','planner')),
    rider_id      text REFERENCES riders (id),
    vehicle_id    text REFERENCES vehicles (id),
    label         text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    CHECK (role <> 'rider' OR rider_id IS NOT NULL),
    CHECK (role <> 'driver' OR vehicle_id IS NOT NULL)
);

CREATE TABLE idempotency_keys (
    token_id      text NOT NULL,
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_sha256 text NOT NULL,
    status        integer NOT NULL,
    response      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, key)
);
