/*
 * dsp.h - the dispatcher core: the live state of one service day and every
 * decision taken on it.
 *
 * A dsp_day holds the vehicles (shift, where they are, the stop they are
 * committed to, riders on board), each vehicle's plan (the ordered stops it
 * will serve, with planned times), the bookings and their promises, and the
 * log of events.  It is driven from outside by calls that each carry `now`
 * (seconds of the service day): the simulator calls them in simulated time,
 * the daemon in real time; nothing here reads a clock or knows which.
 *
 * Bookings (after TOMP-API):
 *
 *   requested -> offered -> confirmed -> assigned -> picked_up -> dropped_off
 *        \-> rejected   \-> expired      \-> cancelled / no_show
 *
 * An offer holds its place in a plan until confirmed or expired.  A
 * confirmed booking's promise - pickup window [promise_from, promise_to] and
 * latest drop-off - is a hard constraint of every later plan; "assigned"
 * means the van has been dispatched towards the pickup.  Every transition is
 * an event, handed to the sink before the call returns.
 *
 * Plans are scheduled by the solver's own rule (slv_timeline_solve): a plan
 * is feasible when every window, ride-time limit, capacity configuration,
 * break and the end of shift hold.  Offers are cheapest feasible insertions
 * found with that exact test; re-plans run the solver (LNS + GLPK) on a
 * snapshot of everything not yet committed and are adopted only if the
 * result still fits the state.
 *
 * Driver breaks are bookings of their own kind, pinned to one van, taken at
 * its depot with the van empty.
 *
 * When the world runs late (a van stuck in traffic), a promise may become
 * impossible; the dispatcher then relaxes just that booking's window to the
 * earliest time still reachable, records a "delayed" event, and keeps
 * planning with every other promise intact.
 *
 * Ownership: a dsp_day owns everything it holds; the area passed to
 * dsp_day_create must outlive it.  Not thread-safe: one thread owns a day
 * (the daemon's loop thread); re-plans solve a self-contained snapshot that
 * may be handed to a worker thread.
 */
#ifndef NORIAI_DSP_H
#define NORIAI_DSP_H

#include <stddef.h>
#include <stdint.h>

#include "data/area/area.h"
#include "solver/slv.h"

#define DSP_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(NOTFOUND, -3, "no such booking or vehicle")                                                  \
    X(STATE, -4, "not allowed in the current state")                                               \
    X(SOLVER, -5, "solver failed")                                                                 \
    X(STALE, -6, "re-plan result no longer fits the state")                                        \
    X(NOFIT, -7, "no feasible insertion")

enum {
#define DSP_ERR_ENUM(name, code, msg) DSP_E##name = (code),
    DSP_ERRNO_MAP(DSP_ERR_ENUM)
#undef DSP_ERR_ENUM
};

const char *dsp_strerror(int err);

typedef enum dsp_status {
    DSP_REQUESTED = 0,
    DSP_OFFERED,
    DSP_CONFIRMED,
    DSP_ASSIGNED,
    DSP_PICKED_UP,
    DSP_DROPPED_OFF,
    DSP_REJECTED,
    DSP_EXPIRED,
    DSP_CANCELLED,
    DSP_NO_SHOW,
    DSP_STATUS_COUNT
} dsp_status;

const char *dsp_status_name(dsp_status s); /* "requested", "offered", ... */
int dsp_status_parse(const char *name);    /* dsp_status or -1 */

/* Times of day: "HH:MM" or "HH:MM:SS", hours up to 48 (a service day may
 * run past midnight), into seconds: 0 or DSP_EINVAL.  Formatting writes
 * "HH:MM" (or "HH:MM:SS" when not whole minutes), "-" before negatives. */
#define DSP_MAX_CLOCK_S (48 * 3600)
int dsp_clock_parse(const char *s, int *out_s);
void dsp_clock_format(int t_s, char *buf, size_t len);

typedef enum dsp_when { DSP_ASAP = 0, DSP_DEPART_AFTER, DSP_ARRIVE_BY } dsp_when;

/* Why nothing fits. */
typedef enum dsp_reason {
    DSP_REASON_NONE = 0,
    DSP_REASON_NO_VEHICLE,   /* no van in service then */
    DSP_REASON_CAPACITY,     /* the party does not fit, or the vans are full */
    DSP_REASON_RIDE_TIME,    /* only with a longer ride than allowed */
    DSP_REASON_WINDOW,       /* no van can be there in time */
    DSP_REASON_OUT_OF_HOURS, /* outside service hours or booking lead times */
    DSP_REASON_VEHICLE_LOST  /* its van went out of service and no other can take it */
} dsp_reason;

const char *dsp_reason_name(dsp_reason r); /* "no_vehicle", "capacity", ... */

/* A point vans can stop at: an area stop, or a free point (crow-fly areas). */
typedef struct dsp_place {
    double lat, lon;
    int stop; /* area stop index, -1 for a free point */
} dsp_place;

typedef struct dsp_rules {
    int service_start_s, service_end_s; /* pickups within */
    int max_wait_s;                     /* pickup no later than the desired time + this */
    double ride_alpha;                  /* max ride = alpha * direct + beta */
    int ride_beta_s;
    int window_s;   /* promised pickup window width */
    int min_lead_s; /* earliest pickup after the request */
    int max_lead_s; /* latest booking ahead (e.g. 2 days) */
    int pickup_service_s, drop_service_s, wheelchair_service_s;
    int offer_ttl_s;     /* offers expire after this */
    int noshow_wait_s;   /* the van waits this long past the window's start */
    int depart_buffer_s; /* an empty van leaves this much early for its next stop */
    /* re-plan objective weights (per second) */
    double w_drive, w_excess_ride, w_wait;
    double w_rider_wait; /* offers: per second of pickup after the desired time */
} dsp_rules;

void dsp_rules_default(dsp_rules *r);

#define DSP_MAX_BREAKS 4

typedef struct dsp_vehicle_def {
    const char *id;
    int n_configs;
    int seats[SLV_MAX_CONFIGS], wheelchairs[SLV_MAX_CONFIGS];
    dsp_place depot;
    int shift_start_s, shift_end_s;
    int n_breaks;
    struct {
        int earliest_s, latest_s, duration_s;
    } breaks[DSP_MAX_BREAKS];
} dsp_vehicle_def;

typedef struct dsp_request {
    const char *ext_id; /* caller's id (copied), may be NULL */
    dsp_place pickup, drop;
    dsp_when when;
    int time_s;     /* depart after / arrive by; ignored for ASAP */
    int passengers; /* >= 1, wheelchair users included */
    int wheelchairs;
} dsp_request;

typedef struct dsp_option {
    int pickup_from_s, pickup_to_s; /* the window offered */
    int planned_pickup_s, planned_dropoff_s;
    int latest_dropoff_s;
    int vehicle;
} dsp_option;

#define DSP_MAX_ALTS 3

typedef struct dsp_offer {
    int ok;            /* 1: offer made (booking offered), 0: rejected */
    int64_t booking;   /* the booking created (also when rejected) */
    dsp_option option; /* when ok */
    dsp_reason reason; /* when not ok */
    int n_alts;        /* when not ok: other times that fit */
    dsp_option alts[DSP_MAX_ALTS];
    int expires_s;
} dsp_offer;

typedef struct dsp_event {
    int time_s;
    int64_t booking;     /* -1 for vehicle events */
    int vehicle;         /* -1 when none */
    dsp_status from, to; /* booking transitions; equal for other events */
    const char *kind;    /* "status", "delayed", "plan", "vehicle_out", "transfer" */
    const char *detail;  /* reason or "" */
} dsp_event;

typedef struct dsp_sink {
    void *ud;
    void (*event)(void *ud, const dsp_event *e);
    /* A vehicle's plan changed (new version); push it to the tablet. */
    void (*plan_changed)(void *ud, int vehicle, uint32_t version);
} dsp_sink;

typedef struct dsp_day dsp_day;

int dsp_day_create(const area *a, const dsp_rules *rules, const dsp_sink *sink, dsp_day **out);
void dsp_day_destroy(dsp_day *d);

/* Vehicles, in index order 0..n-1.  Returns the index or a negative error. */
int dsp_vehicle_add(dsp_day *d, const dsp_vehicle_def *def);
int dsp_n_vehicles(const dsp_day *d);

/* ---- bookings ---- */

/*
 * A new booking: computes the best feasible insertion and, if there is one,
 * holds it in that van's plan as an offer until offer_ttl_s.  hold = 0 only
 * quotes (nothing is kept; out->booking is -1).
 */
int dsp_request_offer(dsp_day *d, int now, const dsp_request *req, int hold, dsp_offer *out);
int dsp_confirm(dsp_day *d, int now, int64_t booking);
/* Cancels an offered, confirmed or assigned booking (reason "" = by rider). */
int dsp_cancel(dsp_day *d, int now, int64_t booking, const char *reason);

/*
 * A booking brought back after a restart (the store is the truth): the
 * request, its status (offered, confirmed, assigned, or picked_up: the rider
 * is back on board its van with only the drop-off to plan), and the promise
 * it was given, which holds again as a hard constraint.  vehicle: the van it
 * had (-1 unknown), tried first.  No events are emitted for it (they were
 * recorded when they happened); plan changes are.  Returns 0 with *booking,
 * DSP_ENOFIT when no van can take it at all, or another error.
 */
typedef struct dsp_restore {
    const dsp_request *req;
    dsp_status status; /* offered, confirmed, assigned, or picked_up (needs vehicle, pickup_s) */
    int requested_s, expires_s;
    int promise_from_s, promise_to_s, latest_dropoff_s;
    int vehicle;
    int pickup_s; /* picked_up: when the rider boarded */
} dsp_restore;

int dsp_booking_restore(dsp_day *d, int now, const dsp_restore *r, int64_t *booking);

typedef struct dsp_booking_info {
    int64_t id;
    const char *ext_id;
    dsp_status status;
    int is_break;
    dsp_place pickup, drop;
    dsp_when when;
    int requested_s, time_s;
    int passengers, wheelchairs;
    int promise_from_s, promise_to_s, latest_dropoff_s; /* -1 before an offer */
    int max_ride_s, direct_s;
    int vehicle;                             /* -1 */
    int planned_pickup_s, planned_dropoff_s; /* -1 when not planned */
    int pickup_s, dropoff_s;                 /* actual, -1 */
    int delayed;                             /* promise relaxed after a disruption */
    dsp_reason reason;
} dsp_booking_info;

int64_t dsp_n_bookings(const dsp_day *d);
int dsp_booking_get(const dsp_day *d, int64_t booking, dsp_booking_info *out);

/* ---- what happens on the road (reported by tablets or the simulator) ---- */

/* The van leaves its current place for the first stop of its plan (or for
 * `place` when the plan is empty: repositioning, going home). */
int dsp_vehicle_depart(dsp_day *d, int now, int v);
int dsp_vehicle_depart_to(dsp_day *d, int now, int v, const dsp_place *place);
/* The van reached the place it was driving to. */
int dsp_vehicle_arrive(dsp_day *d, int now, int v);
/* Rider boarded / left the van (start of service at the stop). */
int dsp_rider_boarded(dsp_day *d, int now, int v, int64_t booking);
int dsp_rider_alighted(dsp_day *d, int now, int v, int64_t booking);
int dsp_rider_no_show(dsp_day *d, int now, int v, int64_t booking);
int dsp_break_start(dsp_day *d, int now, int v, int64_t booking);
int dsp_break_end(dsp_day *d, int now, int v, int64_t booking);
/* Van out of service: its riders are moved onto other vans where possible;
 * the others are cancelled with reason vehicle_lost (reported as events). */
int dsp_vehicle_out_of_service(dsp_day *d, int now, int v);
/* Expires offers past their time and notices vans running late. */
int dsp_tick(dsp_day *d, int now);

/* ---- plans ---- */

typedef enum dsp_stop_kind { DSP_STOP_PICKUP = 0, DSP_STOP_DROP, DSP_STOP_BREAK } dsp_stop_kind;

typedef struct dsp_plan_stop {
    int64_t booking;
    dsp_stop_kind kind; /* a break is one stop (its drop is implicit) */
    dsp_place place;
    int planned_s; /* start of service */
    int service_s;
    int committed; /* the van is on its way or there */
} dsp_plan_stop;

typedef struct dsp_vehicle_info {
    const char *id;
    int in_service;
    int en_route;    /* driving to `place` */
    dsp_place place; /* where it is, or where it is driving to */
    int ready_s;     /* when it is (expected to be) free there */
    int shift_start_s, shift_end_s;
    dsp_place depot;
    int n_onboard; /* bookings on board */
    int seats_used, wheelchairs_used;
    uint32_t version; /* plan version */
    int n_stops;
} dsp_vehicle_info;

int dsp_vehicle_get(const dsp_day *d, int v, dsp_vehicle_info *out);
/* Copies up to max stops of v's plan into stops; returns the plan length. */
int dsp_plan_get(const dsp_day *d, int v, dsp_plan_stop *stops, int max);

/* ---- re-planning ---- */

typedef struct dsp_replan dsp_replan;

/* Takes a snapshot of everything not committed, as a solver instance with the
 * current plans as the starting solution.  NULL-safe to destroy. */
int dsp_replan_prepare(dsp_day *d, int now, dsp_replan **out);
/* Runs the solver on the snapshot; touches nothing of the day (worker thread). */
int dsp_replan_solve(dsp_replan *rp, const slv_params *params);
/* Adopts the result if it still fits; returns 0 (adopted), DSP_ESTALE
 * (state moved on in a way the result cannot absorb) or another error. */
int dsp_replan_adopt(dsp_day *d, int now, dsp_replan *rp, int *improved);
void dsp_replan_destroy(dsp_replan *rp);
/* prepare + solve + adopt in one call (the simulator). */
int dsp_replan_run(dsp_day *d, int now, const slv_params *params, int *improved);

/* Checks every plan against every promise, capacity and window (a debug and
 * test aid); returns 0 or DSP_ESTATE with the first problem in msg. */
int dsp_check(const dsp_day *d, int now, char *msg, size_t msg_len);

/* Travel between two places by the area's model: seconds, metres. */
void dsp_travel(const dsp_day *d, const dsp_place *a, const dsp_place *b, int32_t *time_s,
                int32_t *dist_m);

#endif
