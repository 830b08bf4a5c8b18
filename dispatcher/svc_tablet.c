/*
 * svc_tablet.c - the rules for what a driver's tablet may report when.
 *
 * Every event concerns the first stop of the vehicle's plan, in the state
 * that stop allows: arrived at it (naming it, or its stop, or nothing),
 * departed for it, a rider boarded or not shown at its pickup, alighted at
 * its drop-off, a break started at it; break_end ends the break under way.
 * Drivers forget buttons, so a tablet that reports boarded (alighted,
 * no_show, break_start, arrived) away from the stop is taken to be there:
 * the missing departure and arrival are made first.  A van whose stop was
 * withdrawn while it drove there (a cancellation) is at that place when it
 * reports the next event: the arrival there is made first, then it leaves
 * for the plan's first stop.
 *
 * Two phases.  check reads the day (dsp_vehicle_get, dsp_plan_get,
 * dsp_booking_get) and the tablet's names, and writes down the dispatcher
 * moves the event stands for; every way the dispatcher could refuse one of
 * those moves is foreseen there, with the text the driver gets.  apply only
 * executes the list.  A refusal can therefore only come from check, which
 * changes nothing - not even the day's clock, which any dispatcher road
 * call advances, refused or not.  If a move still fails in apply, check and
 * the day core disagree; that is SVC_TABLET_EAPPLY, an error of ours and
 * not an answer for the driver.
 *
 * The refusal texts are those the daemon's driver channel gave before this
 * module (api/server/driver.c); where the day core would have refused a
 * move, the text is the one it produced then: "<van> refused it: not
 * allowed in the current state".
 *
 * Cost: O(1) dispatcher reads per event, plus one pass over the day's
 * bookings when the van carries someone (is a break under way?) or when
 * break_end names no break.
 */
#include "dispatcher/svc_tablet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *svc_tablet_strerror(int err)
{
    switch (err) {
#define SVC_TABLET_ERR_STR(name, code, msg)                                                        \
    case code:                                                                                     \
        return msg;
        SVC_TABLET_ERRNO_MAP(SVC_TABLET_ERR_STR)
#undef SVC_TABLET_ERR_STR
    case 0:
        return "ok";
    default:
        return "unknown error";
    }
}

static const char *const kind_names[SVC_TABLET_KIND_COUNT] = {
    "arrived", "departed", "boarded", "alighted", "no_show", "break_start", "break_end"};

const char *svc_tablet_kind_name(int kind)
{
    return kind >= 0 && kind < SVC_TABLET_KIND_COUNT ? kind_names[kind] : NULL;
}

int svc_tablet_kind_parse(const char *name)
{
    for (int k = 0; name != NULL && k < SVC_TABLET_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

int svc_tablet_id_ok(const char *id)
{
    size_t n;

    if (id == NULL)
        return 0;
    n = strlen(id);
    if (n == 0 || n > SVC_TABLET_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* check                                                                    */

static int same_place(const dsp_place *a, const dsp_place *b)
{
    if (a->stop >= 0 || b->stop >= 0)
        return a->stop == b->stop;
    return a->lat == b->lat && a->lon == b->lon;
}

/* What check knows while it decides. */
typedef struct chk {
    const svc_tablet_ctx *c;
    svc_tablet_result *r;
    const char *vid;
    dsp_vehicle_info vi;
    int n_plan;
    dsp_plan_stop first;
    int64_t on_break; /* the break under way, -1 none, -2 not looked yet */
} chk;

static int refuse(chk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(chk *k, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(k->r->error, sizeof(k->r->error), fmt, ap);
    va_end(ap);
    k->r->n_moves = 0;
    return SVC_TABLET_EREFUSED;
}

/* The day core would refuse the move: its own words, as before. */
static int van_refuses(chk *k)
{
    return refuse(k, "%s refused it: %s", k->vid, dsp_strerror(DSP_ESTATE));
}

static const char *stop_id_of(const chk *k, const dsp_place *p)
{
    const char *id = p->stop >= 0 ? k->c->stop_id(k->c->ud, p->stop) : NULL;
    return id != NULL ? id : "";
}

/* The break of the van under way (started, not ended), or -1. */
static int64_t break_under_way(chk *k)
{
    const dsp_day *d = k->c->day;
    int64_t n = dsp_n_bookings(d);
    dsp_booking_info bi;

    if (k->on_break != -2)
        return k->on_break;
    k->on_break = -1;
    /* A break is carried like a rider: a van with nobody on board has none. */
    for (int64_t b = 0; k->vi.n_onboard > 0 && b < n; b++)
        if (dsp_booking_get(d, b, &bi) == 0 && bi.is_break && bi.vehicle == k->c->vehicle &&
            bi.status == DSP_PICKED_UP) {
            k->on_break = b;
            break;
        }
    return k->on_break;
}

/* Notes a move.  During a break the van stays where it is and does nothing
 * but end it: the day core refuses every other move then. */
static int move(chk *k, svc_tablet_move_kind kind, int64_t booking)
{
    svc_tablet_result *r = k->r;

    if (kind != SVC_TABLET_MOVE_BREAK_END && break_under_way(k) >= 0)
        return van_refuses(k);
    if (r->n_moves == SVC_TABLET_MAX_MOVES)
        return van_refuses(k); /* cannot happen: no event needs more */
    r->moves[r->n_moves].kind = kind;
    r->moves[r->n_moves].booking = booking;
    r->n_moves++;
    return 0;
}

/* The booking (or break "break-N") named by a tablet, on this vehicle. */
static int resolve(chk *k, const char *id, int want_break, int64_t *idx, dsp_booking_info *bi)
{
    const dsp_day *d = k->c->day;

    if (strncmp(id, "break-", 6) == 0) {
        char *end;
        long long n = strtoll(id + 6, &end, 10);
        if (id[6] < '0' || id[6] > '9' || *end != '\0' || n < 0 || n >= dsp_n_bookings(d) ||
            dsp_booking_get(d, n, bi) < 0 || !bi->is_break)
            return refuse(k, "no break \"%s\" today", id);
        *idx = n;
    } else {
        int64_t n = k->c->booking_index(k->c->ud, id);
        if (n == SVC_TABLET_BK_OTHER_DAY)
            return refuse(k, "booking %s is not for today", id);
        if (n < 0 || dsp_booking_get(d, n, bi) < 0)
            return refuse(k, "no booking \"%s\" in service", id);
        *idx = n;
    }
    if (bi->vehicle != k->c->vehicle)
        return refuse(k, "%s is not on %s", id, k->vid);
    if (want_break && !bi->is_break)
        return refuse(k, "%s is a booking, not a break", id);
    if (!want_break && bi->is_break)
        return refuse(k, "%s is a break, not a booking", id);
    return 0;
}

/* Is the first stop of the plan (idx, kind)?  Refuses with the reason. */
static int first_is(chk *k, const char *id, int64_t idx, dsp_stop_kind kind)
{
    static const char *const what[] = {"pickup", "drop-off", "break"};

    if (k->n_plan == 0)
        return refuse(k, "%s has no stop left in its plan", k->vid);
    if (k->first.booking != idx || k->first.kind != kind)
        return refuse(k, "the %s of %s is not the next stop of %s", what[kind], id, k->vid);
    return 0;
}

/* The moves that bring the van to the first stop of its plan, as if
 * "departed" and "arrived" had been reported where they were not. */
static int reach_first(chk *k)
{
    int rc;

    if (k->vi.en_route) {
        /* The stop it drove to was withdrawn meanwhile (a cancellation):
         * it got there, then went on to the plan's first stop. */
        if (!same_place(&k->vi.place, &k->first.place) &&
            ((rc = move(k, SVC_TABLET_MOVE_ARRIVE, -1)) < 0 ||
             (rc = move(k, SVC_TABLET_MOVE_DEPART, -1)) < 0))
            return rc;
        return move(k, SVC_TABLET_MOVE_ARRIVE, -1);
    }
    if (same_place(&k->vi.place, &k->first.place))
        return 0;
    if ((rc = move(k, SVC_TABLET_MOVE_DEPART, -1)) < 0)
        return rc;
    return move(k, SVC_TABLET_MOVE_ARRIVE, -1);
}

static int check_stop_id(chk *k, const char *stop_id, const dsp_place *p)
{
    if (stop_id[0] && p->stop >= 0 && strcmp(stop_id, stop_id_of(k, p)) != 0)
        return refuse(k, "%s is at or bound for %s, not %s", k->vid, stop_id_of(k, p), stop_id);
    return 0;
}

static int check_departed(chk *k, const char *bid, const char *stop_id)
{
    /* Its stop was withdrawn while it drove there: it is at that place now
     * and leaves it for the plan's first stop. */
    int withdrawn =
        k->vi.en_route && k->n_plan > 0 && !same_place(&k->vi.place, &k->first.place) && !bid[0];
    dsp_booking_info bi;
    int64_t idx = -1;
    int rc;

    if (k->vi.en_route && !withdrawn)
        return refuse(k, "%s is already on its way to its next stop", k->vid);
    if (k->n_plan == 0)
        return refuse(k, "%s has no stop to drive to", k->vid);
    if ((rc = check_stop_id(k, stop_id, &k->vi.place)) < 0)
        return rc;
    if (bid[0] && (rc = resolve(k, bid, strncmp(bid, "break-", 6) == 0, &idx, &bi)) < 0)
        return rc;
    if (bid[0])
        k->r->booking = idx;
    if (withdrawn && (rc = move(k, SVC_TABLET_MOVE_ARRIVE, -1)) < 0)
        return rc;
    return move(k, SVC_TABLET_MOVE_DEPART, -1);
}

static int check_arrived(chk *k, const char *bid, const char *stop_id)
{
    dsp_booking_info bi;
    int64_t idx = -1;
    int rc;

    if (k->n_plan == 0)
        return refuse(k, "%s has no stop to arrive at", k->vid);
    if (bid[0] && (rc = resolve(k, bid, strncmp(bid, "break-", 6) == 0, &idx, &bi)) < 0)
        return rc;
    if (bid[0] && k->first.booking != idx)
        return refuse(k, "%s is not the next stop of %s", bid, k->vid);
    k->r->booking = idx;
    if ((rc = check_stop_id(k, stop_id, &k->first.place)) < 0)
        return rc;
    return reach_first(k);
}

/* boarded and no_show */
static int check_pickup(chk *k, int kind, const char *bid)
{
    dsp_booking_info bi;
    int64_t idx;
    int rc;

    if (!bid[0])
        return refuse(k, "booking_id is required");
    if ((rc = resolve(k, bid, 0, &idx, &bi)) < 0)
        return rc;
    k->r->booking = idx;
    if (bi.status != DSP_CONFIRMED && bi.status != DSP_ASSIGNED)
        return refuse(k, "booking %s is %s; only a confirmed or assigned rider can %s", bid,
                      dsp_status_name(bi.status),
                      kind == SVC_TABLET_BOARDED ? "board" : "be a no-show");
    if ((rc = first_is(k, bid, idx, DSP_STOP_PICKUP)) < 0 || (rc = reach_first(k)) < 0)
        return rc;
    return move(k, kind == SVC_TABLET_BOARDED ? SVC_TABLET_MOVE_BOARDED : SVC_TABLET_MOVE_NO_SHOW,
                idx);
}

static int check_alighted(chk *k, const char *bid)
{
    dsp_booking_info bi;
    int64_t idx;
    int rc;

    if (!bid[0])
        return refuse(k, "booking_id is required");
    if ((rc = resolve(k, bid, 0, &idx, &bi)) < 0)
        return rc;
    k->r->booking = idx;
    if (bi.status != DSP_PICKED_UP)
        return refuse(k, "booking %s is %s; only a rider on board can alight", bid,
                      dsp_status_name(bi.status));
    if ((rc = first_is(k, bid, idx, DSP_STOP_DROP)) < 0 || (rc = reach_first(k)) < 0)
        return rc;
    return move(k, SVC_TABLET_MOVE_ALIGHTED, idx);
}

static int check_break_start(chk *k, const char *bid)
{
    svc_tablet_result *r = k->r;
    dsp_booking_info bi;
    int64_t idx;
    int rc;

    if (!bid[0]) {
        if (k->n_plan == 0 || k->first.kind != DSP_STOP_BREAK)
            return refuse(k, "the next stop of %s is no break", k->vid);
        idx = k->first.booking;
        snprintf(r->booking_id, sizeof(r->booking_id), "break-%lld", (long long)idx);
        bid = r->booking_id;
    } else if ((rc = resolve(k, bid, 1, &idx, &bi)) < 0) {
        return rc;
    }
    r->booking = idx;
    if ((rc = first_is(k, bid, idx, DSP_STOP_BREAK)) < 0 || (rc = reach_first(k)) < 0)
        return rc;
    return move(k, SVC_TABLET_MOVE_BREAK_START, idx);
}

static int check_break_end(chk *k, const char *bid)
{
    svc_tablet_result *r = k->r;
    dsp_booking_info bi;
    int64_t idx;
    int rc;

    if (!bid[0]) {
        if ((idx = break_under_way(k)) < 0)
            return refuse(k, "%s has no break under way", k->vid);
        snprintf(r->booking_id, sizeof(r->booking_id), "break-%lld", (long long)idx);
        if (dsp_booking_get(k->c->day, idx, &bi) < 0)
            return van_refuses(k);
    } else if ((rc = resolve(k, bid, 1, &idx, &bi)) < 0) {
        return rc;
    } else if (bi.status != DSP_PICKED_UP) {
        return refuse(k, "break %s is not under way", bid);
    }
    r->booking = idx;
    /* The break is taken where it started; the van cannot have left. */
    if (k->vi.en_route || !same_place(&k->vi.place, &bi.drop))
        return van_refuses(k);
    return move(k, SVC_TABLET_MOVE_BREAK_END, idx);
}

int svc_tablet_check(const svc_tablet_ctx *c, const svc_tablet_event *ev, svc_tablet_result *out)
{
    chk k;
    const char *bid, *stop_id;
    int stop_event;

    if (out == NULL)
        return SVC_TABLET_EINVAL;
    memset(out, 0, sizeof(*out));
    out->booking = -1;
    if (c == NULL || ev == NULL || c->booking_index == NULL || c->stop_id == NULL) {
        snprintf(out->error, sizeof(out->error), "%s", svc_tablet_strerror(SVC_TABLET_EINVAL));
        return SVC_TABLET_EINVAL;
    }
    memset(&k, 0, sizeof(k));
    k.c = c;
    k.r = out;
    k.vid = c->vehicle_id != NULL ? c->vehicle_id : "";
    k.on_break = -2;
    bid = ev->booking_id != NULL ? ev->booking_id : "";
    stop_id = ev->stop_id != NULL ? ev->stop_id : "";

    /* The names first: nothing badly named goes further. */
    stop_event = ev->kind == SVC_TABLET_ARRIVED || ev->kind == SVC_TABLET_DEPARTED;
    if (stop_event &&
        ((bid[0] && !svc_tablet_id_ok(bid)) || (stop_id[0] && !svc_tablet_id_ok(stop_id))))
        return refuse(&k, "booking_id and stop_id must be printable ids of at most %d bytes",
                      SVC_TABLET_MAX_ID);
    if (!stop_event && bid[0] && !svc_tablet_id_ok(bid))
        return refuse(&k, "booking_id must be a printable id of at most %d bytes",
                      SVC_TABLET_MAX_ID);
    snprintf(out->booking_id, sizeof(out->booking_id), "%s", bid);

    /* Then the van, as the day sees it now. */
    if (c->day == NULL)
        return refuse(&k, "no service day is open today");
    if (dsp_vehicle_get(c->day, c->vehicle, &k.vi) < 0)
        return refuse(&k, "%s is not in today's fleet", k.vid);
    if (!k.vi.in_service)
        return refuse(&k, "%s is out of service", k.vid);
    k.n_plan = dsp_plan_get(c->day, c->vehicle, &k.first, 1);
    if (k.n_plan < 0)
        return refuse(&k, "%s is not in today's fleet", k.vid);

    switch (ev->kind) {
    case SVC_TABLET_DEPARTED:
        return check_departed(&k, bid, stop_id);
    case SVC_TABLET_ARRIVED:
        return check_arrived(&k, bid, stop_id);
    case SVC_TABLET_BOARDED:
    case SVC_TABLET_NO_SHOW:
        return check_pickup(&k, ev->kind, bid);
    case SVC_TABLET_ALIGHTED:
        return check_alighted(&k, bid);
    case SVC_TABLET_BREAK_START:
        return check_break_start(&k, bid);
    case SVC_TABLET_BREAK_END:
        return check_break_end(&k, bid);
    default:
        return refuse(&k, "not an event");
    }
}

/* ------------------------------------------------------------------------ */
/* apply                                                                    */

static const char *move_name(svc_tablet_move_kind kind)
{
    static const char *const names[] = {"vehicle_arrive", "vehicle_depart", "rider_boarded",
                                        "rider_alighted", "rider_no_show",  "break_start",
                                        "break_end"};
    return kind <= SVC_TABLET_MOVE_BREAK_END ? names[kind] : "?";
}

int svc_tablet_apply(const svc_tablet_ctx *c, svc_tablet_result *r)
{
    if (c == NULL || r == NULL || c->day == NULL || r->n_moves < 0 ||
        r->n_moves > SVC_TABLET_MAX_MOVES)
        return SVC_TABLET_EINVAL;
    r->n_applied = 0;
    r->dsp_rc = 0;
    for (int i = 0; i < r->n_moves; i++) {
        dsp_day *d = c->day;
        int now = c->now, v = c->vehicle, rc;
        int64_t b = r->moves[i].booking;

        switch (r->moves[i].kind) {
        case SVC_TABLET_MOVE_ARRIVE:
            rc = dsp_vehicle_arrive(d, now, v);
            break;
        case SVC_TABLET_MOVE_DEPART:
            rc = dsp_vehicle_depart(d, now, v);
            break;
        case SVC_TABLET_MOVE_BOARDED:
            rc = dsp_rider_boarded(d, now, v, b);
            break;
        case SVC_TABLET_MOVE_ALIGHTED:
            rc = dsp_rider_alighted(d, now, v, b);
            break;
        case SVC_TABLET_MOVE_NO_SHOW:
            rc = dsp_rider_no_show(d, now, v, b);
            break;
        case SVC_TABLET_MOVE_BREAK_START:
            rc = dsp_break_start(d, now, v, b);
            break;
        case SVC_TABLET_MOVE_BREAK_END:
            rc = dsp_break_end(d, now, v, b);
            break;
        default:
            rc = DSP_EINVAL;
            break;
        }
        if (rc < 0) {
            r->dsp_rc = rc;
            snprintf(r->error, sizeof(r->error),
                     "%s: %s (move %d of %d) failed after the event was checked: %s",
                     c->vehicle_id != NULL ? c->vehicle_id : "", move_name(r->moves[i].kind), i + 1,
                     r->n_moves, dsp_strerror(rc));
            return SVC_TABLET_EAPPLY;
        }
        r->n_applied++;
    }
    return 0;
}

int svc_tablet_event_handle(const svc_tablet_ctx *c, const svc_tablet_event *ev,
                            svc_tablet_result *out)
{
    int rc = svc_tablet_check(c, ev, out);

    if (rc < 0)
        return rc;
    return svc_tablet_apply(c, out);
}
