/*
 * dsp_int.h - private to dispatcher/: the day's layout and the helpers its
 * files share.  Nothing outside dispatcher/ includes this.
 */
#ifndef NORIAI_DSP_INT_H
#define NORIAI_DSP_INT_H

#include "dispatcher/dsp.h"

/* Load dimensions handed to the solver: seats, wheelchair places, and a
 * "van in use" marker every party carries one of and a break fills up, so a
 * break is only ever taken with nobody on board. */
#define DSP_DIMS 3
#define DSP_DIM_SEATS 0
#define DSP_DIM_WHEELCHAIRS 1
#define DSP_DIM_MARKER 2
#define DSP_MARKER_CAP 1000

/* "No limit" in whole seconds; far past any service day but safe to add to. */
#define DSP_NEVER (1 << 29)

typedef struct dsp_booking {
    int64_t id;
    char *ext_id;
    dsp_status status;
    int is_break;
    dsp_place pickup, drop;
    dsp_when when;
    int requested_s, time_s;
    int passengers, wheelchairs;
    int load[DSP_DIMS];
    int pickup_service_s, drop_service_s;
    int direct_s, max_ride_s;
    /* The promise (for a break: its window and duration). */
    int promise_from_s, promise_to_s, latest_drop_s;
    /* What plans must keep: the promise, relaxed only after a disruption. */
    int eff_pick_close_s, eff_drop_close_s, eff_max_ride_s;
    int vehicle;
    int expires_s;
    int pickup_s, dropoff_s;
    int planned_pickup_s, planned_dropoff_s;
    int delayed;
    dsp_reason reason;
    /* Scratch for one evaluation: position of the pickup (valid when stamp matches). */
    int scratch_pos;
    unsigned scratch_stamp;
} dsp_booking;

/* A stop of a plan: the pickup or drop-off of a booking (a break is its
 * booking's pickup = start, drop = end, at the depot). */
typedef struct dsp_stop {
    int64_t b;
    int drop;
} dsp_stop;

typedef struct dsp_veh {
    char *id;
    int n_configs;
    int cap[SLV_MAX_CONFIGS][DSP_DIMS];
    dsp_place depot;
    int shift_start_s, shift_end_s, eff_shift_end_s;
    int in_service;
    /* Where the van is (or is driving to) and when it is free there. */
    dsp_place pos;
    int pos_s;
    int en_route;
    dsp_place from; /* en route: where it left, and when */
    int depart_s;
    /* The plan: stops[0..n_committed) are committed. */
    dsp_stop *stops;
    int n, cap_stops, n_committed;
    int64_t *onboard;
    int n_onboard, cap_onboard;
    uint32_t version;
    /* Schedule of the current plan, positions 0..n+1 (valid after refresh). */
    double *early, *late, *sched;
    int *load_after; /* [n+2][DSP_DIMS] load after serving each position */
    int cap_cache;
    double cost; /* of the current plan */
    int feasible;
} dsp_veh;

/* Scratch for building one route's timeline. */
typedef struct dsp_work {
    int cap;
    dsp_place *place;
    double *open, *close, *serv, *c, *tt, *ride, *early, *late, *sched;
    int *mate;
    char *empty_in;
    int *load; /* [cap][DSP_DIMS] */
} dsp_work;

struct dsp_day {
    const area *area;
    dsp_rules rules;
    dsp_sink sink;
    dsp_booking *bk;
    int64_t n_bk, cap_bk;
    dsp_veh *veh;
    int n_veh, cap_veh;
    dsp_work w;
    unsigned stamp;
    int now; /* latest time any call carried: no van leaves before it */
    /* offer.c scratch */
    struct dsp_cand *cand;
    int cap_cand;
    dsp_stop *seq;
    int cap_seq;
};

/* day.c */
static inline void dsp_clock(dsp_day *d, int now)
{
    if (now > d->now)
        d->now = now;
}
static inline int dsp_ready_s(const dsp_day *d, const dsp_veh *v)
{
    return v->pos_s > d->now ? v->pos_s : d->now;
}
dsp_booking *dsp_bk(const dsp_day *d, int64_t id);
int dsp_booking_new(dsp_day *d, int64_t *id);
void dsp_emit(dsp_day *d, int now, int64_t b, int v, dsp_status from, dsp_status to,
              const char *kind, const char *detail);
void dsp_set_status(dsp_day *d, int now, dsp_booking *b, dsp_status to, const char *detail);
int dsp_stops_reserve(dsp_veh *v, int n);

/* plan.c */
int dsp_work_reserve(dsp_work *w, int n_stops);
void dsp_work_cleanup(dsp_work *w);
/*
 * Builds and solves the timeline of vehicle v driving stops[0..n) from its
 * current position.  Returns 1 feasible, 0 not.  On 1 the work arrays hold
 * the schedule and *cost (if not NULL) the plan's cost.  relax_new: bookings
 * with id >= relax_from get no ride limit / no load (reason probing).
 */
typedef struct dsp_eval_opts {
    int64_t probe;     /* booking whose limits are relaxed, -1 none */
    int probe_no_load; /* its load counts as nothing */
    int probe_no_ride; /* its ride time is unlimited */
    int no_closes;     /* every window closes never (lateness probing) */
    int no_rides;      /* every ride limit off (lateness probing) */
} dsp_eval_opts;
int dsp_eval(dsp_day *d, const dsp_veh *v, const dsp_stop *stops, int n, const dsp_eval_opts *o,
             double *cost);
/* Re-evaluates v's plan, relaxing promises the world made impossible;
 * refreshes the cache and the bookings' planned times; bumps the version and
 * tells the sink.  */
int dsp_refresh(dsp_day *d, int now, int v);
int dsp_travel_slow_s(const dsp_day *d, const dsp_place *a, const dsp_place *b);
/* Travel seconds between two places; between stops of a road area a matrix
 * read (inline: offers call this millions of times), else dsp_travel.
 * Places were checked on the way in, so stop indices are in range. */
static inline int dsp_travel_s(const dsp_day *d, const dsp_place *a, const dsp_place *b)
{
    const area *ar = d->area;

    if (a->stop >= 0 && b->stop >= 0 && ar->time_s != NULL)
        return ar->time_s[(size_t)a->stop * (size_t)ar->n_stops + (size_t)b->stop];
    return dsp_travel_slow_s(d, a, b);
}
int dsp_fits(const dsp_veh *v, const int *load);

/* offer.c */
typedef struct dsp_insertion {
    int vehicle;
    int at_pick, at_drop; /* insert before stops[at_pick] / original stops[at_drop] */
    double dcost;
    int pickup_s, dropoff_s;
} dsp_insertion;
/* Best feasible insertion of booking b (already in d->bk, in no plan) into
 * any in-service van (or only van `only` if >= 0).  Returns 1 found, 0 none. */
int dsp_best_insertion(dsp_day *d, int64_t b, int only, const dsp_eval_opts *o, dsp_insertion *out);
int dsp_apply_insertion(dsp_day *d, int now, int64_t b, const dsp_insertion *ins);
/* A place vans can stop at in this area: a stop index, or finite
 * coordinates where the area plans by crow-fly.  1 yes, 0 no. */
int dsp_place_valid(const dsp_day *d, const dsp_place *p);

/* lifecycle.c */
int dsp_plan_remove_booking(dsp_day *d, int v, int64_t b);
/* Booking id (status set by the caller's restore) back on board van v. */
int dsp_restore_onboard(dsp_day *d, int now, int64_t id, int v);

#endif
