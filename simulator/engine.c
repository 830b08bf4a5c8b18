/*
 * engine.c - a service day in simulated time.
 *
 * The world and the dispatcher are kept apart.  The engine holds the truth:
 * where each van really is, how long each drive really takes (the area's
 * travel time times a log-normal noise factor), which riders will not show
 * up or will cancel.  The dispatcher (dispatcher/dsp.h) hears only what a
 * real one would: requests and the riders' answers, departures, arrivals,
 * boardings, alightings, no-shows, breaks, a van going out of service, and
 * the clock through dsp_tick.
 *
 * Events sit in a binary heap ordered by (time, sequence number), so equal
 * times keep their insertion order and a run is deterministic for a seed:
 * requests, cancellations, a tick every minute, re-plans every interval, van
 * failures, and each van's next wake-up.  A van has at most one live wake-up
 * (a token per van; stale ones are skipped); whenever the dispatcher changes
 * a plan of an idle van, the van wakes at once and looks again.
 *
 * A van's rule at a wake-up: at the place of its plan's first stop it waits
 * for that stop's planned start, then serves it (boarding, or after the
 * no-show wait a no-show; alighting; a break); elsewhere it leaves at once
 * when riders are on board, or when empty just in time (planned start minus
 * the drive minus a buffer); with nothing to do it goes home at the end of
 * its shift.  Each visit becomes a row of stops.csv.
 *
 * The drivers report what happens as a tablet does, through the service
 * day's tablet rules (dispatcher/svc_tablet.h), not by calling the day core
 * themselves: arrived at the plan's first stop, departed, boarded, no_show,
 * alighted, break_start, break_end.  So a simulated day runs the rules the
 * live service runs.  Bookings are named by their request id (or
 * "sim-<request>" when that id is no tablet id or not unique), breaks by
 * "break-<n>".  What no tablet reports stays a direct call, as the office
 * or the world would make it: the drive home (or to a place with nothing
 * planned) and the arrival there, a van out of service.  A van that reaches
 * a stop withdrawn while it drove there (a cancellation) has nothing to
 * report there - its tablet shows the next stop - and its "departed" later
 * tells the dispatcher it got there and left.
 *
 * A refusal is a bug of the simulator (its drivers broke the rules): it is
 * counted, the first one kept with its reason, and the move is made
 * directly so the day goes on as before; the run then fails naming them.
 */
#include "simulator/sim.h"

#include "dispatcher/dsp.h"
#include "dispatcher/svc_tablet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { EV_REQUEST = 0, EV_CANCEL, EV_TICK, EV_REPLAN, EV_FAIL, EV_VAN };

typedef struct ev {
    int t;
    uint64_t seq;
    int kind, a, token;
} ev;

typedef struct heap {
    ev *e;
    int n, cap;
} heap;

static int ev_less(const ev *x, const ev *y)
{
    return x->t != y->t ? x->t < y->t : x->seq < y->seq;
}

typedef enum van_state { VAN_AT = 0, VAN_DRIVING, VAN_BUSY, VAN_BREAK, VAN_DONE } van_state;

typedef struct van {
    van_state state;
    dsp_place place; /* where it is, or where it drives to */
    int until;       /* DRIVING: arrival; BUSY/BREAK: end */
    int token;
    int64_t break_bk;
    int rec;    /* open stops.csv row, -1 */
    int riders; /* riders on board (truth) */
    int seats, wheelchairs;
    int drive_s, drive_m, drive_empty; /* the drive in progress */
    int dirty;
} van;

/* A request's public booking id, for the tablets, in name order. */
typedef struct pub_name {
    const char *name;
    int req;
} pub_name;

typedef struct eng {
    const sim_scenario *s;
    const area *a;
    const sim_demand *dm;
    dsp_day *day;
    heap h;
    uint64_t seq;
    van *vans;
    int n_vans;
    sim_result *res;
    int64_t *bk_of; /* request -> booking, -1 */
    int *req_of_bk; /* booking -> request, -1 */
    int cap_req_of_bk;
    sim_rng noise;
    long replans, adopted;
    int end_s;
    int buffer_s;
    const char *op; /* the dispatcher call that failed, for the message */
    /* tablets */
    const char **pub;  /* request -> public booking id */
    char (*alt)[16];   /* "sim-<request>" where the request's own id will not do */
    pub_name *by_name; /* sorted by name */
    long tablet_events, tablet_refusals;
    char first_refusal[SVC_TABLET_MAX_ERROR + SVC_TABLET_MAX_ID + 128];
    char op_buf[SVC_TABLET_MAX_ERROR + 32];
} eng;

static int travel_s(const eng *e, const dsp_place *a, const dsp_place *b)
{
    int32_t t, m;
    dsp_travel(e->day, a, b, &t, &m);
    return t;
}

static int heap_push(eng *e, int t, int kind, int a, int token)
{
    heap *h = &e->h;
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 1024;
        ev *ne = realloc(h->e, (size_t)cap * sizeof(*ne));
        if (ne == NULL)
            return SIM_ENOMEM;
        h->e = ne;
        h->cap = cap;
    }
    int i = h->n++;
    h->e[i] = (ev){.t = t, .seq = e->seq++, .kind = kind, .a = a, .token = token};
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!ev_less(&h->e[i], &h->e[p]))
            break;
        ev tmp = h->e[i];
        h->e[i] = h->e[p];
        h->e[p] = tmp;
        i = p;
    }
    return 0;
}

static ev heap_pop(heap *h)
{
    ev top = h->e[0];
    h->e[0] = h->e[--h->n];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && ev_less(&h->e[l], &h->e[m]))
            m = l;
        if (r < h->n && ev_less(&h->e[r], &h->e[m]))
            m = r;
        if (m == i)
            break;
        ev tmp = h->e[i];
        h->e[i] = h->e[m];
        h->e[m] = tmp;
        i = m;
    }
    return top;
}

static int wake(eng *e, int v, int t)
{
    return heap_push(e, t, EV_VAN, v, ++e->vans[v].token);
}

static void on_plan(void *ud, int vehicle, uint32_t version)
{
    eng *e = ud;
    (void)version;
    if (vehicle >= 0 && vehicle < e->n_vans)
        e->vans[vehicle].dirty = 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double clock_s(void *ctx)
{
    (void)ctx;
    return now_ms() / 1e3;
}

static int same_place(const dsp_place *a, const dsp_place *b)
{
    if (a->stop >= 0 || b->stop >= 0)
        return a->stop == b->stop;
    return a->lat == b->lat && a->lon == b->lon;
}

static dsp_place to_place(const sim_place *p)
{
    return (dsp_place){.lat = p->lat, .lon = p->lon, .stop = p->stop};
}

/* Opens a stops.csv row for van v arriving at its place at time t. */
static int rec_open(eng *e, int v, int t, const char *kind)
{
    sim_result *r = e->res;
    van *x = &e->vans[v];
    if (r->n_stops == r->cap_stops) {
        int cap = r->cap_stops ? 2 * r->cap_stops : 1024;
        sim_stop_rec *ns = realloc(r->stops, (size_t)cap * sizeof(*ns));
        if (ns == NULL)
            return SIM_ENOMEM;
        r->stops = ns;
        r->cap_stops = cap;
    }
    sim_stop_rec *s = &r->stops[r->n_stops];
    memset(s, 0, sizeof(*s));
    s->vehicle = v;
    s->seq = 0;
    for (int i = r->n_stops - 1; i >= 0; i--)
        if (r->stops[i].vehicle == v) {
            s->seq = r->stops[i].seq + 1;
            break;
        }
    s->stop = x->place.stop;
    s->lat = x->place.lat;
    s->lon = x->place.lon;
    s->arrival_s = s->departure_s = t;
    s->drive_s = x->drive_s;
    s->drive_m = x->drive_m;
    s->empty_drive = x->drive_empty;
    s->seats_used = x->seats;
    s->wheelchairs_used = x->wheelchairs;
    snprintf(s->kind, sizeof(s->kind), "%s", kind);
    x->drive_s = x->drive_m = 0;
    x->rec = r->n_stops++;
    return 0;
}

static int rec_append(char **list, const char *id)
{
    size_t old = *list ? strlen(*list) : 0, add = strlen(id);
    char *n = realloc(*list, old + add + 2);
    if (n == NULL)
        return SIM_ENOMEM;
    if (old) {
        n[old] = ';';
        memcpy(n + old + 1, id, add + 1);
    } else {
        memcpy(n, id, add + 1);
    }
    *list = n;
    return 0;
}

static int bk_map(eng *e, int64_t b, int req)
{
    if (b >= e->cap_req_of_bk) {
        int cap = e->cap_req_of_bk ? e->cap_req_of_bk : 1024;
        while (cap <= b)
            cap *= 2;
        int *n = realloc(e->req_of_bk, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return SIM_ENOMEM;
        for (int i = e->cap_req_of_bk; i < cap; i++)
            n[i] = -1;
        e->req_of_bk = n;
        e->cap_req_of_bk = cap;
    }
    e->req_of_bk[b] = req;
    return 0;
}

/* ---- the drivers' tablets ---- */

static int pub_cmp(const void *a, const void *b)
{
    const pub_name *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->req > y->req) - (x->req < y->req);
}

static void pub_sort(eng *e)
{
    for (int i = 0; i < e->dm->n; i++)
        e->by_name[i] = (pub_name){.name = e->pub[i], .req = i};
    qsort(e->by_name, (size_t)e->dm->n, sizeof(*e->by_name), pub_cmp);
}

/*
 * Public booking ids: the request's id where a tablet could send it (a
 * printable id, not a break's name, unique), else "sim-<request>".  Two
 * passes of sorting: duplicates found after the first get their own names.
 */
static int pub_names(eng *e)
{
    int n = e->dm->n, dup = 0;

    e->pub = malloc(((size_t)n + 1) * sizeof(*e->pub));
    e->alt = malloc(((size_t)n + 1) * sizeof(*e->alt));
    e->by_name = malloc(((size_t)n + 1) * sizeof(*e->by_name));
    if (e->pub == NULL || e->alt == NULL || e->by_name == NULL)
        return SIM_ENOMEM;
    for (int i = 0; i < n; i++) {
        const char *id = e->dm->req[i].id;
        snprintf(e->alt[i], sizeof(e->alt[i]), "sim-%d", i);
        e->pub[i] =
            svc_tablet_id_ok(id) && strncmp(id, "break-", 6) != 0 && strncmp(id, "sim-", 4) != 0
                ? id
                : e->alt[i];
    }
    pub_sort(e);
    for (int k = 1; k < n; k++)
        if (strcmp(e->by_name[k].name, e->by_name[k - 1].name) == 0) {
            e->pub[e->by_name[k].req] = e->alt[e->by_name[k].req];
            dup = 1;
        }
    if (dup)
        pub_sort(e);
    return 0;
}

/* svc_tablet_ctx.booking_index: every booking of the run is of this day. */
static int64_t tablet_booking(void *ud, const char *id)
{
    eng *e = ud;
    int lo = 0, hi = e->dm->n - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(e->by_name[mid].name, id);
        if (c == 0)
            return e->bk_of[e->by_name[mid].req] >= 0 ? e->bk_of[e->by_name[mid].req]
                                                      : SVC_TABLET_BK_UNKNOWN;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return SVC_TABLET_BK_UNKNOWN;
}

static const char *tablet_stop(void *ud, int stop)
{
    const eng *e = ud;
    return stop >= 0 && stop < e->a->n_stops ? e->a->stops[stop].id : NULL;
}

/*
 * Van v's driver reports kind about booking b (-1: none named) at place
 * (NULL: no stop named).  0 applied; 1 refused - counted, and the caller
 * makes the move itself; a negative dispatcher code when the day core
 * failed on a checked event (e->op says what).
 */
static int tablet(eng *e, int now, int v, svc_tablet_kind kind, int64_t b, const dsp_place *place)
{
    char bid[SVC_TABLET_MAX_ID + 1] = "";
    dsp_booking_info bi;
    svc_tablet_result r;
    svc_tablet_ctx c = {.day = e->day,
                        .now = now,
                        .vehicle = v,
                        .vehicle_id = e->s->vehicles[v].id,
                        .ud = e,
                        .booking_index = tablet_booking,
                        .stop_id = tablet_stop};
    svc_tablet_event te = {.kind = kind, .booking_id = bid, .stop_id = ""};
    int rc;

    if (b >= 0 && dsp_booking_get(e->day, b, &bi) == 0) {
        int req = b < e->cap_req_of_bk ? e->req_of_bk[b] : -1;
        if (bi.is_break)
            snprintf(bid, sizeof(bid), "break-%lld", (long long)b);
        else if (req >= 0)
            snprintf(bid, sizeof(bid), "%s", e->pub[req]);
    }
    if (place != NULL && place->stop >= 0 && place->stop < e->a->n_stops)
        te.stop_id = e->a->stops[place->stop].id;
    e->tablet_events++;
    rc = svc_tablet_event_handle(&c, &te, &r);
    if (rc == 0)
        return 0;
    if (rc == SVC_TABLET_EREFUSED) {
        char clk[16];
        if (e->tablet_refusals++ == 0) {
            sim_format_clock(now, clk, sizeof(clk));
            snprintf(e->first_refusal, sizeof(e->first_refusal), "%.40s %.12s \"%s\" at %s: %s",
                     c.vehicle_id, svc_tablet_kind_name(kind), bid, clk, r.error);
        }
        return 1;
    }
    snprintf(e->op_buf, sizeof(e->op_buf), "tablet %.12s: %s", svc_tablet_kind_name(kind),
             r.error[0] ? r.error : svc_tablet_strerror(rc));
    e->op = e->op_buf;
    return r.dsp_rc < 0 ? r.dsp_rc : DSP_EINVAL;
}

static int do_request(eng *e, int now, int i)
{
    const sim_request *q = &e->dm->req[i];
    sim_trip *tr = &e->res->trips[i];
    dsp_request rq = {.ext_id = q->id,
                      .pickup = to_place(&q->pickup),
                      .drop = to_place(&q->drop),
                      .when = q->when == SIM_ASAP ? DSP_ASAP
                                                  : (q->when == SIM_DEPART_AFTER ? DSP_DEPART_AFTER
                                                                                 : DSP_ARRIVE_BY),
                      .time_s = q->desired_s,
                      .passengers = q->passengers,
                      .wheelchairs = q->wheelchairs};
    dsp_offer off;
    double t0 = now_ms();
    int rc = dsp_request_offer(e->day, now, &rq, 1, &off);
    tr->offer_ms = now_ms() - t0;
    if (rc < 0) {
        snprintf(tr->status, sizeof(tr->status), "rejected");
        snprintf(tr->reason, sizeof(tr->reason), "invalid: %s", dsp_strerror(rc));
        return 0;
    }
    e->bk_of[i] = off.booking;
    if ((rc = bk_map(e, off.booking, i)) < 0)
        return rc;
    if (!off.ok || q->will_decline)
        return 0;
    if ((rc = dsp_confirm(e->day, now, off.booking)) < 0)
        return 0;
    if (q->will_cancel) {
        int t = q->cancel_s > now ? q->cancel_s : now + 60;
        if (t > off.option.pickup_from_s - 60)
            t = off.option.pickup_from_s - 60;
        if (t < now)
            t = now;
        return heap_push(e, t, EV_CANCEL, i, 0);
    }
    return 0;
}

/* The van's next move (rule in the essay at the top). */
static int van_step(eng *e, int now, int v)
{
    van *x = &e->vans[v];
    dsp_plan_stop ps[2];
    dsp_vehicle_info vi;
    int rc, n;

    switch (x->state) {
    case VAN_DONE:
        return 0;
    case VAN_DRIVING:
        if (now < x->until)
            return wake(e, v, x->until);
        x->state = VAN_AT;
        n = dsp_plan_get(e->day, v, ps, 1);
        if (n > 0 && same_place(&x->place, &ps[0].place)) {
            /* At the plan's first stop: "arrived", naming it. */
            rc = tablet(e, now, v, SVC_TABLET_ARRIVED, ps[0].booking, &x->place);
            if (rc > 0)
                rc = (e->op = "vehicle_arrive", dsp_vehicle_arrive(e->day, now, v));
            if (rc < 0)
                return rc;
        } else if (n <= 0) {
            /* Home, or a place with nothing planned: no tablet says so. */
            if ((rc = (e->op = "vehicle_arrive", dsp_vehicle_arrive(e->day, now, v))) < 0)
                return rc;
        }
        /* Else its stop was withdrawn on the way: "departed" will say it
         * got here (the essay at the top). */
        if ((rc = rec_open(e, v, now, "stop")) < 0)
            return rc;
        break;
    case VAN_BUSY:
        if (now < x->until)
            return wake(e, v, x->until);
        x->state = VAN_AT;
        break;
    case VAN_BREAK:
        if (now < x->until)
            return wake(e, v, x->until);
        rc = tablet(e, now, v, SVC_TABLET_BREAK_END, x->break_bk, NULL);
        if (rc > 0)
            rc = (e->op = "break_end", dsp_break_end(e->day, now, v, x->break_bk));
        if (rc < 0)
            return rc;
        x->state = VAN_AT;
        break;
    case VAN_AT:
        break;
    }
    dsp_vehicle_get(e->day, v, &vi);
    if (!vi.in_service)
        return 0;
    n = dsp_plan_get(e->day, v, ps, 2);
    if (n <= 0) {
        /* Nothing to do: home at the end of the shift. */
        int home = travel_s(e, &x->place, &vi.depot);
        if (vi.en_route) {
            /* It reached a withdrawn stop and nothing else came: the
             * dispatcher hears that it is there, as on the way home. */
            if ((rc = (e->op = "vehicle_arrive", dsp_vehicle_arrive(e->day, now, v))) < 0)
                return rc;
        }
        if (same_place(&x->place, &vi.depot)) {
            if (now >= vi.shift_end_s) {
                x->state = VAN_DONE;
                if (x->rec >= 0)
                    e->res->stops[x->rec].departure_s = now;
                e->res->veh_last_s[v] = now;
                return 0;
            }
            return wake(e, v, vi.shift_end_s);
        }
        if (now + home + 60 < vi.shift_end_s)
            return wake(e, v, vi.shift_end_s - home - 60);
        if ((rc = (e->op = "vehicle_depart_to", dsp_vehicle_depart_to(e->day, now, v, &vi.depot))) <
            0)
            return rc;
        goto drive_to_depot;
    }
    if (same_place(&x->place, &ps[0].place)) {
        int64_t b = ps[0].booking;
        int start = ps[0].planned_s;
        dsp_booking_info bi;
        if (now < start)
            return wake(e, v, start);
        dsp_booking_get(e->day, b, &bi);
        sim_stop_rec *rec = x->rec >= 0 ? &e->res->stops[x->rec] : NULL;
        int req = b < e->cap_req_of_bk ? e->req_of_bk[b] : -1;
        const char *rid = req >= 0 ? e->dm->req[req].id : "";
        switch (ps[0].kind) {
        case DSP_STOP_PICKUP: {
            int noshow = req >= 0 && e->dm->req[req].will_no_show;
            if (bi.status == DSP_OFFERED)
                return wake(e, v, now + 30); /* the rider has not answered yet */
            if (noshow) {
                /* Waits from the window's start (or its own arrival, if later). */
                int since = rec ? rec->arrival_s : now;
                int give_up = (bi.promise_from_s > since ? bi.promise_from_s : since) +
                              e->s->service.noshow_wait_s;
                if (now < give_up)
                    return wake(e, v, give_up);
                rc = tablet(e, now, v, SVC_TABLET_NO_SHOW, b, NULL);
                if (rc > 0)
                    rc = (e->op = "rider_no_show", dsp_rider_no_show(e->day, now, v, b));
                if (rc < 0)
                    return rc;
                return wake(e, v, now);
            }
            rc = tablet(e, now, v, SVC_TABLET_BOARDED, b, NULL);
            if (rc > 0)
                rc = (e->op = "rider_boarded", dsp_rider_boarded(e->day, now, v, b));
            if (rc < 0)
                return rc;
            x->riders += bi.passengers;
            x->seats += bi.passengers - bi.wheelchairs;
            x->wheelchairs += bi.wheelchairs;
            if (rec && (rc = rec_append(&rec->boarded, rid)) < 0)
                return rc;
            if (req >= 0)
                e->res->trips[req].pickup_s = now;
            x->state = VAN_BUSY;
            x->until = now + ps[0].service_s;
            break;
        }
        case DSP_STOP_DROP:
            rc = tablet(e, now, v, SVC_TABLET_ALIGHTED, b, NULL);
            if (rc > 0)
                rc = (e->op = "rider_alighted", dsp_rider_alighted(e->day, now, v, b));
            if (rc < 0)
                return rc;
            x->riders -= bi.passengers;
            x->seats -= bi.passengers - bi.wheelchairs;
            x->wheelchairs -= bi.wheelchairs;
            if (rec && (rc = rec_append(&rec->alighted, rid)) < 0)
                return rc;
            if (req >= 0)
                e->res->trips[req].dropoff_s = now;
            x->state = VAN_BUSY;
            x->until = now + ps[0].service_s;
            break;
        case DSP_STOP_BREAK:
            rc = tablet(e, now, v, SVC_TABLET_BREAK_START, b, NULL);
            if (rc > 0)
                rc = (e->op = "break_start", dsp_break_start(e->day, now, v, b));
            if (rc < 0)
                return rc;
            if (rec)
                snprintf(rec->kind, sizeof(rec->kind), "break");
            x->state = VAN_BREAK;
            x->break_bk = b;
            x->until = now + ps[0].service_s;
            break;
        }
        if (rec) {
            rec->departure_s = x->until;
            rec->seats_used = x->seats;
            rec->wheelchairs_used = x->wheelchairs;
        }
        return wake(e, v, x->until);
    }
    /* Elsewhere: leave now with riders, just in time when empty. */
    {
        int drive = travel_s(e, &x->place, &ps[0].place);
        int leave = ps[0].planned_s - drive - e->buffer_s;
        if (x->riders == 0 && leave > now)
            return wake(e, v, leave);
        rc = tablet(e, now, v, SVC_TABLET_DEPARTED, -1, &x->place);
        if (rc > 0) {
            /* As the day core was told before: arrived here, if it was not. */
            dsp_vehicle_get(e->day, v, &vi);
            if (vi.en_route)
                rc = (e->op = "vehicle_arrive", dsp_vehicle_arrive(e->day, now, v));
            if (rc >= 0)
                rc = (e->op = "vehicle_depart", dsp_vehicle_depart(e->day, now, v));
        }
        if (rc < 0)
            return rc;
    }
drive_to_depot:
    dsp_vehicle_get(e->day, v, &vi);
    {
        int32_t t, m;
        dsp_travel(e->day, &x->place, &vi.place, &t, &m);
        double f = 1.0;
        if (e->s->dis.travel_noise > 0 || e->s->dis.late_bias != 0) {
            f = exp(e->s->dis.travel_noise * sim_rng_normal(&e->noise)) *
                (1.0 + e->s->dis.late_bias);
            if (f < 0.5)
                f = 0.5;
            if (f > 3.0)
                f = 3.0;
        }
        if (x->rec >= 0)
            e->res->stops[x->rec].departure_s = now;
        x->rec = -1;
        x->drive_s = (int)lround(t * f);
        x->drive_m = m;
        x->drive_empty = x->riders == 0;
        x->place = vi.place;
        x->state = VAN_DRIVING;
        x->until = now + x->drive_s;
        if (e->res->veh_first_s[v] < 0)
            e->res->veh_first_s[v] = now;
        e->res->veh_last_s[v] = x->until;
        return wake(e, v, x->until);
    }
}

/*
 * Van v breaks down.  A van on the road limps to the place it was driving to;
 * its riders get off there (the dispatcher moves them onto other vans or
 * reports them) and the van's day ends.
 */
static int breakdown(eng *e, int now, int v)
{
    van *x = &e->vans[v];
    int rc, t = now;

    if (x->state == VAN_DONE)
        return 0;
    if (x->state == VAN_DRIVING) {
        t = x->until > now ? x->until : now;
        if ((rc = rec_open(e, v, t, "breakdown")) < 0)
            return rc;
    }
    if (x->rec >= 0) {
        sim_stop_rec *rec = &e->res->stops[x->rec];
        for (int i = 0; i < e->dm->n; i++) {
            dsp_booking_info bi;
            if (e->bk_of[i] < 0 || dsp_booking_get(e->day, e->bk_of[i], &bi) < 0)
                continue;
            if (bi.status != DSP_PICKED_UP || bi.vehicle != v)
                continue;
            if ((rc = rec_append(&rec->alighted, e->dm->req[i].id)) < 0)
                return rc;
            e->res->trips[i].dropoff_s = t; /* final unless another van takes them on */
        }
        rec->seats_used = rec->wheelchairs_used = 0;
        if (rec->departure_s < t)
            rec->departure_s = t;
        snprintf(rec->kind, sizeof(rec->kind), "breakdown");
    }
    if ((rc = (e->op = "vehicle_out_of_service", dsp_vehicle_out_of_service(e->day, now, v))) < 0)
        return rc;
    x->riders = x->seats = x->wheelchairs = 0;
    x->state = VAN_DONE;
    x->rec = -1;
    e->res->veh_last_s[v] = t;
    return 0;
}

static void progress(const eng *e, int now, int *last_pct)
{
    int span = e->end_s - e->s->service.start_s;
    int pct = span > 0 ? (int)(100.0 * (now - e->s->service.start_s) / span) : 0;
    char clk[16];
    if (pct < 0)
        pct = 0;
    if (pct > 100)
        pct = 100;
    if (pct == *last_pct)
        return;
    *last_pct = pct;
    sim_format_clock(now, clk, sizeof(clk));
    fprintf(stderr, "\rsimulate [%-40.*s] %3d%%  %s", pct * 40 / 100,
            "########################################", pct, clk);
    if (pct == 100)
        fputc('\n', stderr);
}

int sim_run(const sim_scenario *s, const area *a, const sim_demand *dm, const sim_run_opts *o,
            sim_result *out, char *err, size_t err_len)
{
    eng e;
    dsp_rules rules;
    int rc = 0, last_pct = -1;
    double t_wall = now_ms();

    memset(&e, 0, sizeof(e));
    memset(out, 0, sizeof(*out));
    e.s = s;
    e.a = a;
    e.dm = dm;
    e.res = out;
    out->scn = s;
    out->area = a;
    dsp_rules_default(&rules);
    rules.service_start_s = s->service.start_s;
    rules.service_end_s = s->service.end_s;
    rules.max_wait_s = s->service.max_wait_s;
    rules.ride_alpha = s->service.ride_alpha;
    rules.ride_beta_s = s->service.ride_beta_s;
    rules.window_s = s->service.window_s;
    rules.min_lead_s = s->service.min_lead_s;
    rules.max_lead_s = (s->service.max_lead_days + 1) * 86400;
    rules.pickup_service_s = s->service.pickup_service_s;
    rules.drop_service_s = s->service.drop_service_s;
    rules.wheelchair_service_s = s->service.wheelchair_service_s;
    rules.offer_ttl_s = s->service.offer_ttl_s;
    rules.noshow_wait_s = s->service.noshow_wait_s;
    e.buffer_s = rules.depart_buffer_s;
    dsp_sink sink = {.ud = &e, .plan_changed = on_plan};
    e.n_vans = s->n_vehicles;
    e.vans = calloc((size_t)e.n_vans + 1, sizeof(*e.vans));
    out->n_trips = dm->n;
    out->trips = calloc((size_t)dm->n + 1, sizeof(*out->trips));
    e.bk_of = malloc(((size_t)dm->n + 1) * sizeof(*e.bk_of));
    out->n_vehicles = s->n_vehicles;
    out->veh_first_s = malloc(((size_t)s->n_vehicles + 1) * sizeof(int));
    out->veh_last_s = malloc(((size_t)s->n_vehicles + 1) * sizeof(int));
    if (!e.vans || !out->trips || !e.bk_of || !out->veh_first_s || !out->veh_last_s) {
        rc = SIM_ENOMEM;
        goto out;
    }
    if ((rc = pub_names(&e)) < 0)
        goto out;
    if ((rc = dsp_day_create(a, &rules, &sink, &e.day)) < 0) {
        snprintf(err, err_len, "%s: dispatcher rejects the service rules: %s", s->path,
                 dsp_strerror(rc));
        rc = SIM_ESCENARIO;
        goto out;
    }
    sim_rng_seed(&e.noise, s->seed ^ 0x6e6f697365ull);
    e.end_s = s->service.end_s;
    for (int v = 0; v < s->n_vehicles; v++) {
        const sim_vehicle_def *vd = &s->vehicles[v];
        dsp_vehicle_def def;
        memset(&def, 0, sizeof(def));
        def.id = vd->id;
        def.n_configs = vd->n_configs;
        for (int k = 0; k < vd->n_configs; k++) {
            def.seats[k] = vd->seats[k];
            def.wheelchairs[k] = vd->wheelchairs[k];
        }
        if (vd->depot_stop >= 0)
            def.depot = (dsp_place){.lat = a->stops[vd->depot_stop].lat,
                                    .lon = a->stops[vd->depot_stop].lon,
                                    .stop = vd->depot_stop};
        else
            def.depot = (dsp_place){.lat = vd->depot_lat, .lon = vd->depot_lon, .stop = -1};
        def.shift_start_s = vd->shift_start_s;
        def.shift_end_s = vd->shift_end_s;
        def.n_breaks = vd->n_breaks;
        for (int k = 0; k < vd->n_breaks; k++) {
            def.breaks[k].earliest_s = vd->breaks[k].earliest_s;
            def.breaks[k].latest_s = vd->breaks[k].latest_s;
            def.breaks[k].duration_s = vd->breaks[k].duration_s;
        }
        if ((rc = dsp_vehicle_add(e.day, &def)) < 0) {
            snprintf(err, err_len, "%s: vehicle %s: %s (breaks must fit the shift)", s->path,
                     vd->id, dsp_strerror(rc));
            rc = SIM_ESCENARIO;
            goto out;
        }
        van *x = &e.vans[v];
        x->place = def.depot;
        x->rec = -1;
        out->veh_first_s[v] = -1;
        out->veh_last_s[v] = -1;
        if (vd->shift_end_s > e.end_s)
            e.end_s = vd->shift_end_s;
        if ((rc = rec_open(&e, v, vd->shift_start_s, "depot")) < 0)
            goto out;
        if ((rc = wake(&e, v, vd->shift_start_s)) < 0)
            goto out;
        if (vd->fail_at_s >= 0 && (rc = heap_push(&e, vd->fail_at_s, EV_FAIL, v, 0)) < 0)
            goto out;
    }
    for (int i = 0; i < dm->n; i++) {
        sim_trip *t = &out->trips[i];
        t->req = &dm->req[i];
        t->promise_from_s = t->promise_to_s = t->latest_dropoff_s = -1;
        t->pickup_s = t->dropoff_s = -1;
        t->vehicle = -1;
        t->offer_ms = -1;
        e.bk_of[i] = -1;
        if ((rc = heap_push(&e, dm->req[i].request_s, EV_REQUEST, i, 0)) < 0)
            goto out;
    }
    int first = dm->n > 0 && dm->req[0].request_s < s->service.start_s ? dm->req[0].request_s
                                                                       : s->service.start_s;
    for (int t = first - first % 60; t <= e.end_s + 6 * 3600; t += 60)
        if ((rc = heap_push(&e, t, EV_TICK, 0, 0)) < 0)
            goto out;
    if (s->dispatch.replan_interval_s > 0)
        for (int t = s->service.start_s; t <= e.end_s; t += s->dispatch.replan_interval_s)
            if ((rc = heap_push(&e, t, EV_REPLAN, 0, 0)) < 0)
                goto out;

    while (e.h.n > 0) {
        ev x = heap_pop(&e.h);
        int now = x.t;
        switch (x.kind) {
        case EV_REQUEST:
            rc = do_request(&e, now, x.a);
            break;
        case EV_CANCEL: {
            dsp_booking_info bi;
            if (dsp_booking_get(e.day, e.bk_of[x.a], &bi) == 0 &&
                (bi.status == DSP_CONFIRMED || bi.status == DSP_ASSIGNED))
                rc = dsp_cancel(e.day, now, e.bk_of[x.a], "");
            break;
        }
        case EV_TICK: {
            int busy = 0;
            for (int v = 0; v < e.n_vans; v++)
                busy |= e.vans[v].state != VAN_DONE;
            if (!busy && now > e.end_s)
                e.h.n = 0; /* the day is over */
            else
                rc = dsp_tick(e.day, now);
            if (o && o->progress)
                progress(&e, now, &last_pct);
            break;
        }
        case EV_REPLAN: {
            slv_params prm;
            int improved = 0;
            slv_params_init(&prm);
            prm.seed = s->seed + (uint64_t)e.replans;
            prm.max_iterations = s->dispatch.replan_iterations;
            prm.use_glpk = s->dispatch.replan_glpk;
            if (s->dispatch.replan_time_limit_s > 0) {
                prm.time_limit_s = s->dispatch.replan_time_limit_s;
                prm.clock = clock_s;
            }
            e.replans++;
            int r2 = dsp_replan_run(e.day, now, &prm, &improved);
            if (r2 == 0 && improved)
                e.adopted++;
            break;
        }
        case EV_FAIL:
            rc = breakdown(&e, now, x.a);
            break;
        case EV_VAN:
            if (x.token != e.vans[x.a].token)
                break;
            rc = van_step(&e, now, x.a);
            if (rc > 0)
                rc = 0;
            e.vans[x.a].dirty = 0;
            break;
        }
        if (rc < 0) {
            snprintf(err, err_len, "%s: simulation stopped at %d s: %s%s%s", s->path, now,
                     e.op ? e.op : "", e.op ? ": " : "", dsp_strerror(rc));
            rc = SIM_EDISPATCH;
            goto out;
        }
        /* Idle vans whose plans changed look again now. */
        for (int v = 0; v < e.n_vans; v++) {
            van *vx = &e.vans[v];
            if (vx->dirty && vx->state == VAN_AT) {
                vx->dirty = 0;
                if ((rc = wake(&e, v, now)) < 0)
                    goto out;
            }
            vx->dirty = 0;
        }
    }
    /* Outcomes, as the dispatcher recorded them. */
    for (int i = 0; i < dm->n; i++) {
        sim_trip *t = &out->trips[i];
        dsp_booking_info bi;
        if (e.bk_of[i] < 0 || dsp_booking_get(e.day, e.bk_of[i], &bi) < 0) {
            if (t->status[0] == '\0')
                snprintf(t->status, sizeof(t->status), "rejected");
            continue;
        }
        snprintf(t->status, sizeof(t->status), "%s", dsp_status_name(bi.status));
        snprintf(t->reason, sizeof(t->reason), "%s", dsp_reason_name(bi.reason));
        t->promise_from_s = bi.promise_from_s;
        t->promise_to_s = bi.promise_to_s;
        t->latest_dropoff_s = bi.latest_dropoff_s;
        t->direct_s = bi.direct_s;
        t->vehicle = bi.status == DSP_REJECTED || bi.status == DSP_EXPIRED ? -1 : bi.vehicle;
        if (bi.status != DSP_DROPPED_OFF && bi.status != DSP_PICKED_UP)
            t->pickup_s = t->dropoff_s = -1;
        else if (t->dropoff_s < 0)
            t->dropoff_s = bi.dropoff_s; /* got off where its van broke down */
    }
    out->replans = e.replans;
    out->replans_adopted = e.adopted;
    out->tablet_events = e.tablet_events;
    out->tablet_refusals = e.tablet_refusals;
    rc = 0;
    if (e.tablet_refusals > 0) {
        /* The day ran to its end (each refused move made directly), but its
         * drivers broke the service day's rules: a bug to look at, not a
         * result. */
        snprintf(err, err_len,
                 "%s: %ld of %ld tablet events refused (tablet_refusals; a simulator bug); "
                 "first: %s",
                 s->path, e.tablet_refusals, e.tablet_events, e.first_refusal);
        rc = SIM_EDISPATCH;
    }
out:
    out->wall_s = (now_ms() - t_wall) / 1e3;
    dsp_day_destroy(e.day);
    free(e.h.e);
    free(e.vans);
    free(e.bk_of);
    free(e.req_of_bk);
    free(e.pub);
    free(e.alt);
    free(e.by_name);
    return rc;
}
