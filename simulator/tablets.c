/*
 * tablets.c - simulated driver tablets (tablets.h): N threads, one per
 * vehicle, each a tablet on the driver channel over simulator/wsc.c.
 *
 * A tablet connects (Authorization: Bearer, subprotocol noriai.driver.v1),
 * says Hello with the last route seq it holds, keeps the latest
 * RouteUpdate and drives it one event at a time, each waiting for its Ack
 * before the next:
 *
 *   departed (toward the first stop) -> arrived (at it) -> boarded, or
 *   no_show (a share no_show_share of pickups), or alighted, or
 *   break_start then break_end -> departed -> ...
 *
 * Routes do not show a break under way (the dispatcher hides its end), so
 * the tablet remembers the break it started and ends it before it departs.
 * A tablet refused three times in a row tries a break_end naming no break:
 * that ends a break started before the run (one the tablet cannot know
 * of), and is refused harmlessly otherwise.
 *
 * "arrived" waits for the stop's planned time, scaled: the route came with
 * the daemon's clock (generated_s), so the stop is due (planned_s -
 * generated_s) / speed seconds after the route arrived.  The daemon's clock
 * runs in real time and it takes events early, so with a large speed a
 * tablet simply acts as soon as its previous event is answered.  Two events
 * of a tablet are at least min_gap_ms apart, and the next after a served
 * stop (or a break's start) also waits its service time (the break's
 * length) / speed.  With nothing left to drive a tablet idles until a
 * route brings stops.  A refusal (a stale route, an unconfirmed offer
 * first in the plan that the tablet does not see) sends it back to
 * "arrived" at the first stop of its route after a second or after the
 * next route, whichever comes first.  Stops already served are remembered,
 * so a route older than the tablet's own progress does not send it back to
 * them.  (A van the daemon has on its way to a place no longer in its plan
 * - the booking it drove to was cancelled - can then neither arrive nor
 * depart through the channel: its tablet is refused until the run ends,
 * which the refusal tally shows as "* is on its way to another place".)
 *
 * Losing the connection: at each event's first send, with probability
 * drop_rate, the tablet drops its connection (a TCP reset or a plain close,
 * no close frame) at one of three moments: before sending the event, right
 * after sending it (before its Ack can arrive; the daemon may or may not
 * have read it), or right after its Ack.  It then reconnects with
 * exponential backoff (20 ms doubling to 2 s, jittered), says Hello with
 * its last seq, and sends the unanswered event again with the same
 * event_id.  With no event unanswered, it sends the last answered one
 * again after a reconnect (as a tablet that missed its Ack would): the
 * daemon must give the same answer (a "duplicate").  An Ack that does not
 * come within timeout_ms makes it reconnect too.
 *
 * End: after duration_s no new events are made; an event still
 * unanswered gets up to settle_s to be answered (reconnecting if need be).
 * Then every booking that an acknowledged boarded, alighted or no_show
 * named is read back with GET /v1/bookings/{id}: boarded must have made it
 * picked_up or dropped_off, alighted dropped_off, no_show no_show; one that
 * is not is "lost".  Two acknowledged events of one kind for one booking
 * would be a double application.
 *
 * Counting: an event counts once in events/acked_ok/refused however often
 * it was sent; sends after the first are resends.  A resumed connection
 * whose first route skips seqs after the one the tablet held has had its
 * gap healed by the resume (the current route replaces what was missed).
 * Refusal texts are tallied with ids (words holding a digit) replaced by
 * "*".
 *
 * Cost: one thread and one socket per tablet (stack 256 KiB); a route of
 * at most TB_MAX_STOPS stops per tablet; one small record per answered
 * rider event for the check.
 */
#include "simulator/tablets.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data/proto/driver.pb-c.h"
#include "simulator/httpc.h"
#include "simulator/loadgen_int.h"
#include "simulator/sim.h"
#include "simulator/wsc.h"

#define TB_ID_LEN 65 /* booking, stop and break ids: at most 64 bytes (the daemon's bound) */
#define TB_EV_LEN 48
#define TB_MAX_STOPS 256
#define TB_SERVED 64 /* stops served, remembered to filter older routes */
#define TB_REASONS 16
#define TB_KEEPALIVE_MS 15000
#define TB_BACKOFF_MIN_MS 20
#define TB_BACKOFF_MAX_MS 2000
#define TB_REFUSED_HOLD_MS 1000
#define TB_STUCK 3 /* refusals in a row before trying to end a forgotten break */
#define TB_IDLE_POLL_MS 200
#define TB_STACK (256 * 1024)
#define TB_SUBPROTOCOL "Sec-WebSocket-Protocol: noriai.driver.v1"

typedef Noriai__Driver__TabletMessage tmsg;
typedef Noriai__Driver__ServerMessage smsg;

enum { K_ARRIVED, K_DEPARTED, K_BOARDED, K_ALIGHTED, K_NO_SHOW, K_BREAK_START, K_BREAK_END, K_N };

static const char *const kind_name[K_N] = {"arrived", "departed",    "boarded",  "alighted",
                                           "no_show", "break_start", "break_end"};

/* What the tablet does next. */
enum { PH_DEPART, PH_ARRIVE, PH_SERVE, PH_BREAK, PH_IDLE };

void sim_tablets_opts_default(sim_tablets_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->speed = 60;
    o->no_show_share = 0.05;
    o->settle_s = 15;
    o->min_gap_ms = 50;
    o->timeout_ms = 5000;
}

/* ------------------------------------------------------------------------ */
/* State                                                                    */

typedef struct tb_stop {
    int kind; /* NORIAI__DRIVER__ROUTE_STOP__KIND__* */
    int planned_s, service_s;
    char booking[TB_ID_LEN];
    char stop[TB_ID_LEN];
} tb_stop;

typedef struct tb_event {
    char id[TB_EV_LEN];
    int kind; /* K_* */
    char booking[TB_ID_LEN];
    char stop[TB_ID_LEN];
    int stop_kind; /* of the stop it concerns (arrived), -1 none */
    int sends;
    int drawn;       /* the drop chance was drawn for it */
    int64_t sent_ns; /* the last send */
} tb_event;

/* An acknowledged rider event, for the check. */
typedef struct tb_record {
    int kind;
    char booking[TB_ID_LEN];
} tb_record;

typedef struct tb_run tb_run;

typedef struct tablet {
    tb_run *run;
    int k;
    pthread_t th;
    int started;
    char vehicle[48];
    char auth[200];
    sim_rng rng;
    /* the connection */
    sim_wsc ws;
    int connected, ever_connected;
    int64_t next_connect_ns;
    int backoff_ms;
    int64_t next_keepalive_ns;
    /* routes */
    char date[11];
    uint64_t held_seq, hello_seq;
    int await_first_route; /* the first route after a Hello of a reconnect is still to come */
    tb_stop *stops;
    int n_stops;
    int64_t route_rx_ns;
    int route_gen_s;
    char served[TB_SERVED][TB_ID_LEN + 2]; /* "P:id", "D:id", "B:id" (break started) */
    int n_served;
    char break_on[TB_ID_LEN]; /* the break under way, "" none */
    char at[TB_ID_LEN];       /* where "arrived" was acknowledged: the stop's booking/break */
    int at_kind;
    /* events */
    int phase;
    int64_t due_ns;
    int64_t last_ns; /* the last answer (or start) */
    tb_event pend;
    int has_pend;
    int pend_here;      /* pend was sent on this connection */
    int drop_after_ack; /* drop the connection when pend's answer comes */
    tb_event last;      /* the last answered event, and its answer */
    int last_ok;
    char last_error[160];
    int dup_out; /* last was sent again, its answer awaited */
    int refusals_in_row;
    uint64_t n_ids;
    /* results */
    tb_record *rec;
    size_t n_rec, cap_rec;
    sim_tablets_result res; /* this tablet's counters (reasons: in its own table) */
    sim_tablets_reason reasons[TB_REASONS];
    int n_reasons;
} tablet;

struct tb_run {
    const sim_tablets_opts *o;
    char run_id[20];
    int64_t t0_ns, end_ns, settle_end_ns;
    tablet *t;
    atomic_int n_connected, n_done;
    atomic_llong p_events, p_ok, p_refused, p_drops, p_reconnects;
};

static void note_error(tablet *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(tablet *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->res.first_error[0] != '\0')
        return;
    n = snprintf(t->res.first_error, sizeof(t->res.first_error), "%s: ", t->vehicle);
    va_start(ap, fmt);
    vsnprintf(t->res.first_error + n, sizeof(t->res.first_error) - (size_t)n, fmt, ap);
    va_end(ap);
}

static int64_t ms_ns(double ms)
{
    return (int64_t)(ms * 1e6);
}

/* The refusal with ids (words holding a digit) replaced by "*". */
static void reason_shape(const char *in, char *out, size_t len)
{
    size_t k = 0;

    while (*in && k + 2 < len) {
        size_t w = strcspn(in, " ;:,\"");
        int digit = 0;
        for (size_t i = 0; i < w; i++)
            digit |= in[i] >= '0' && in[i] <= '9';
        if (w > 0 && digit) {
            out[k++] = '*';
        } else {
            for (size_t i = 0; i < w && k + 2 < len; i++)
                out[k++] = in[i];
        }
        in += w;
        if (*in && k + 2 < len)
            out[k++] = *in++;
    }
    out[k] = '\0';
}

/* Adds n of a reason to a table of cap entries; 0, or -1 when it is full. */
static int reason_add(sim_tablets_reason *tab, int *n_tab, int cap, const char *text, int64_t n)
{
    for (int i = 0; i < *n_tab; i++)
        if (strcmp(tab[i].text, text) == 0) {
            tab[i].n += n;
            return 0;
        }
    if (*n_tab >= cap)
        return -1;
    snprintf(tab[*n_tab].text, sizeof(tab[0].text), "%s", text);
    tab[(*n_tab)++].n = n;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The route                                                                */

static int is_served(const tablet *t, char tag, const char *id)
{
    int n = t->n_served < TB_SERVED ? t->n_served : TB_SERVED;

    for (int i = 0; i < n; i++)
        if (t->served[i][0] == tag && strcmp(t->served[i] + 2, id) == 0)
            return 1;
    return 0;
}

static void mark_served(tablet *t, char tag, const char *id)
{
    char *s = t->served[t->n_served++ % TB_SERVED];

    s[0] = tag;
    s[1] = ':';
    snprintf(s + 2, TB_ID_LEN, "%s", id);
}

static char stop_tag(int kind)
{
    return kind == NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP    ? 'P'
           : kind == NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF ? 'D'
                                                               : 'B';
}

/* A stop of a route the tablet's own progress has passed (an older
 * route): a pickup or drop-off served, a break started. */
static int passed(const tablet *t, const Noriai__Driver__RouteStop *s)
{
    return is_served(t, stop_tag((int)s->kind), s->booking_id);
}

/* When "arrived" at the first stop is due. */
static int64_t arrive_due(const tablet *t)
{
    const sim_tablets_opts *o = t->run->o;
    int64_t due = t->last_ns + ms_ns(o->min_gap_ms);

    if (t->n_stops > 0) {
        double ahead_s = (double)(t->stops[0].planned_s - t->route_gen_s) / o->speed;
        int64_t at = t->route_rx_ns + (int64_t)(ahead_s * 1e9);
        if (at > due)
            due = at;
    }
    return due;
}

static void take_route(tablet *t, const Noriai__Driver__RouteUpdate *r)
{
    int64_t now = lg_mono_ns();
    int same_day = strcmp(t->date, r->service_date) == 0;

    t->res.routes++;
    if (same_day && r->seq < t->held_seq)
        t->res.seq_back++;
    if (t->await_first_route && same_day && t->hello_seq > 0 && r->seq > t->hello_seq + 1)
        t->res.gaps_healed++;
    t->await_first_route = 0;
    t->held_seq = r->seq;
    snprintf(t->date, sizeof(t->date), "%.10s", r->service_date);
    t->n_stops = 0;
    for (size_t i = 0; i < r->n_stops && t->n_stops < TB_MAX_STOPS; i++) {
        const Noriai__Driver__RouteStop *s = r->stops[i];
        tb_stop *d = &t->stops[t->n_stops];
        if (strlen(s->booking_id) >= TB_ID_LEN || strlen(s->stop_id) >= TB_ID_LEN || passed(t, s))
            continue;
        d->kind = (int)s->kind;
        d->planned_s = s->planned_s;
        d->service_s = s->service_s;
        snprintf(d->booking, sizeof(d->booking), "%s", s->booking_id);
        snprintf(d->stop, sizeof(d->stop), "%s", s->stop_id);
        t->n_stops++;
    }
    t->route_rx_ns = now;
    t->route_gen_s = r->generated_s;
    /* Where the tablet stands against the new route. */
    if (t->phase == PH_SERVE && (t->n_stops == 0 || strcmp(t->stops[0].booking, t->at) != 0 ||
                                 t->stops[0].kind != t->at_kind))
        t->phase = PH_ARRIVE;
    if (t->phase == PH_IDLE && t->n_stops > 0)
        t->phase = PH_DEPART;
    if (t->phase == PH_ARRIVE)
        t->due_ns = arrive_due(t); /* also ends a refusal's hold */
}

/* Takes the stop (tag, booking) out of the route; its service time, or 0
 * when the route did not hold it (a newer route came first). */
static int remove_stop(tablet *t, char tag, const char *booking)
{
    for (int i = 0; i < t->n_stops; i++) {
        if (stop_tag(t->stops[i].kind) != tag || strcmp(t->stops[i].booking, booking) != 0)
            continue;
        int service_s = t->stops[i].service_s;
        memmove(t->stops + i, t->stops + i + 1, (size_t)(t->n_stops - i - 1) * sizeof(*t->stops));
        t->n_stops--;
        return service_s;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                  */

static int send_msg(tablet *t, const tmsg *m)
{
    uint8_t small[512], *buf = small;
    size_t n = noriai__driver__tablet_message__get_packed_size(m);
    int rc;

    if (n > sizeof(small) && (buf = malloc(n)) == NULL)
        return SIM_WSC_ENOMEM;
    noriai__driver__tablet_message__pack(m, buf);
    rc = sim_wsc_send(&t->ws, SIM_WSC_BINARY, buf, n);
    if (buf != small)
        free(buf);
    return rc;
}

static int send_event(tablet *t, const tb_event *ev)
{
    static const int msg_case[K_N] = {NORIAI__DRIVER__TABLET_MESSAGE__MSG_ARRIVED,
                                      NORIAI__DRIVER__TABLET_MESSAGE__MSG_DEPARTED,
                                      NORIAI__DRIVER__TABLET_MESSAGE__MSG_BOARDED,
                                      NORIAI__DRIVER__TABLET_MESSAGE__MSG_ALIGHTED,
                                      NORIAI__DRIVER__TABLET_MESSAGE__MSG_NO_SHOW,
                                      NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_START,
                                      NORIAI__DRIVER__TABLET_MESSAGE__MSG_BREAK_END};
    tmsg m = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
    Noriai__Driver__StopEvent se = NORIAI__DRIVER__STOP_EVENT__INIT;
    Noriai__Driver__RiderEvent re = NORIAI__DRIVER__RIDER_EVENT__INIT;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    m.event_id = (char *)ev->id;
    m.unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    m.msg_case = (Noriai__Driver__TabletMessage__MsgCase)msg_case[ev->kind];
    if (ev->kind == K_ARRIVED || ev->kind == K_DEPARTED) {
        se.booking_id = (char *)ev->booking;
        se.stop_id = (char *)ev->stop;
        if (ev->kind == K_ARRIVED)
            m.arrived = &se;
        else
            m.departed = &se;
    } else {
        re.booking_id = (char *)ev->booking;
        m.boarded = &re; /* every rider event has this shape and place in the union */
    }
    return send_msg(t, &m);
}

static void disconnect(tablet *t, int abrupt)
{
    if (!t->connected)
        return;
    if (abrupt && sim_rng_below(&t->rng, 2) == 0)
        sim_wsc_abort(&t->ws); /* a TCP reset */
    else
        sim_wsc_cleanup(&t->ws); /* FIN, but no close frame */
    t->connected = 0;
    t->pend_here = 0;
    t->drop_after_ack = 0;
    t->dup_out = 0;
    atomic_fetch_sub(&t->run->n_connected, 1);
    /* Come back soon: a tablet out of coverage for a moment. */
    t->next_connect_ns = lg_mono_ns() + ms_ns(t->backoff_ms * (0.5 + sim_rng_uniform(&t->rng)));
}

static void drop(tablet *t)
{
    t->res.drops++;
    atomic_fetch_add(&t->run->p_drops, 1);
    disconnect(t, 1);
}

/* Sends the pending event; at its first send, maybe drops the connection
 * around it. */
static void send_pending(tablet *t)
{
    const sim_tablets_opts *o = t->run->o;
    int mode = -1;

    if (!t->pend.drawn) {
        t->pend.drawn = 1;
        if (sim_rng_uniform(&t->rng) < o->drop_rate)
            mode = sim_rng_below(&t->rng, 3);
    }
    if (mode == 0) { /* before sending */
        drop(t);
        return;
    }
    if (send_event(t, &t->pend) < 0) {
        t->res.server_closes++;
        disconnect(t, 0);
        return;
    }
    if (t->pend.sends++ == 0) {
        t->res.events++;
        atomic_fetch_add(&t->run->p_events, 1);
    } else {
        t->res.resends++;
    }
    t->pend.sent_ns = lg_mono_ns();
    t->pend_here = 1;
    if (mode == 1) /* before its Ack can come */
        drop(t);
    else if (mode == 2)
        t->drop_after_ack = 1;
}

/* The next event from the phase and the route, made pending; 0 when there
 * is nothing to do now. */
static int make_event(tablet *t)
{
    const sim_tablets_opts *o = t->run->o;
    const tb_stop *s = t->n_stops > 0 ? &t->stops[0] : NULL;
    tb_event *ev = &t->pend;

    if (s == NULL && t->phase != PH_BREAK) {
        t->phase = PH_IDLE;
        t->due_ns = lg_mono_ns() + ms_ns(TB_IDLE_POLL_MS);
        return 0;
    }
    memset(ev, 0, sizeof(*ev));
    ev->stop_kind = -1;
    switch (t->phase) {
    case PH_DEPART:
        ev->kind = K_DEPARTED;
        break;
    case PH_ARRIVE:
        ev->kind = K_ARRIVED;
        ev->stop_kind = s->kind;
        snprintf(ev->booking, sizeof(ev->booking), "%s", s->booking);
        snprintf(ev->stop, sizeof(ev->stop), "%s", s->stop);
        break;
    case PH_SERVE:
        snprintf(ev->booking, sizeof(ev->booking), "%s", s->booking);
        if (s->kind == NORIAI__DRIVER__ROUTE_STOP__KIND__PICKUP)
            ev->kind = sim_rng_uniform(&t->rng) < o->no_show_share ? K_NO_SHOW : K_BOARDED;
        else if (s->kind == NORIAI__DRIVER__ROUTE_STOP__KIND__DROPOFF)
            ev->kind = K_ALIGHTED;
        else
            ev->kind = K_BREAK_START;
        break;
    case PH_BREAK:
        ev->kind = K_BREAK_END;
        snprintf(ev->booking, sizeof(ev->booking), "%s", t->break_on);
        break;
    default:
        t->phase = PH_DEPART;
        return 0;
    }
    snprintf(ev->id, sizeof(ev->id), "lg%s-t%d-%llu", t->run->run_id, t->k,
             (unsigned long long)++t->n_ids);
    t->has_pend = 1;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Answers                                                                  */

static void record(tablet *t, int kind, const char *booking)
{
    if (t->n_rec == t->cap_rec) {
        size_t cap = t->cap_rec ? 2 * t->cap_rec : 64;
        tb_record *n = realloc(t->rec, cap * sizeof(*n));
        if (n == NULL) {
            note_error(t, "out of memory keeping events for the check");
            return;
        }
        t->rec = n;
        t->cap_rec = cap;
    }
    t->rec[t->n_rec].kind = kind;
    snprintf(t->rec[t->n_rec].booking, TB_ID_LEN, "%s", booking);
    t->n_rec++;
}

/* A rider's stop (tag) done: remembered, out of the route, kept for the
 * check; its service time. */
static int served(tablet *t, char tag, const tb_event *ev)
{
    mark_served(t, tag, ev->booking);
    record(t, ev->kind, ev->booking);
    return remove_stop(t, tag, ev->booking);
}

/* An acknowledged event moves the tablet on. */
static void advance(tablet *t, const tb_event *ev, int64_t now)
{
    const sim_tablets_opts *o = t->run->o;
    int64_t gap = ms_ns(o->min_gap_ms), dwell;
    int service_s = 0;

    switch (ev->kind) {
    case K_DEPARTED:
        t->phase = PH_ARRIVE;
        t->due_ns = arrive_due(t);
        return;
    case K_ARRIVED:
        t->phase = PH_SERVE;
        snprintf(t->at, sizeof(t->at), "%s", ev->booking);
        t->at_kind = ev->stop_kind;
        t->due_ns = now + gap;
        return;
    case K_BOARDED:
        service_s = served(t, 'P', ev);
        break;
    case K_NO_SHOW: /* the booking leaves the plan */
        served(t, 'P', ev);
        mark_served(t, 'D', ev->booking);
        remove_stop(t, 'D', ev->booking);
        break;
    case K_ALIGHTED:
        service_s = served(t, 'D', ev);
        break;
    case K_BREAK_START:
        /* The break's end is no stop of the route; it follows here. */
        mark_served(t, 'B', ev->booking);
        service_s = remove_stop(t, 'B', ev->booking);
        snprintf(t->break_on, sizeof(t->break_on), "%s", ev->booking);
        break;
    case K_BREAK_END:
        t->break_on[0] = '\0';
        break;
    }
    dwell = (int64_t)((double)service_s / o->speed * 1e9);
    t->due_ns = now + (dwell > gap ? dwell : gap);
    if (ev->kind == K_BREAK_START)
        t->phase = PH_BREAK;
    else
        t->phase = t->n_stops > 0 ? PH_DEPART : PH_IDLE;
}

static void on_ack(tablet *t, const Noriai__Driver__Ack *a)
{
    int64_t now = lg_mono_ns();

    if (t->has_pend && strcmp(a->event_id, t->pend.id) == 0) {
        t->has_pend = 0;
        t->last = t->pend;
        t->last_ok = a->ok;
        snprintf(t->last_error, sizeof(t->last_error), "%s", a->error);
        t->last_ns = now;
        if (a->ok) {
            t->refusals_in_row = 0;
            t->res.acked_ok++;
            t->res.by_kind_ok[t->pend.kind]++;
            atomic_fetch_add(&t->run->p_ok, 1);
            advance(t, &t->pend, now);
        } else {
            char shape[sizeof(t->reasons[0].text)];
            t->res.refused++;
            atomic_fetch_add(&t->run->p_refused, 1);
            reason_shape(a->error, shape, sizeof(shape));
            if (reason_add(t->reasons, &t->n_reasons, TB_REASONS, shape, 1) < 0)
                t->res.refused_other++;
            /* Start again from the first stop of the route, after a while
             * or at the next route; a break the daemon does not see under
             * way is over. */
            if (t->pend.kind == K_BREAK_END)
                t->break_on[0] = '\0';
            t->phase = PH_ARRIVE;
            if (++t->refusals_in_row % TB_STUCK == 0 && t->pend.kind != K_BREAK_END) {
                /* Stuck: maybe on a break it has forgotten (one started
                 * before this run: routes do not show a break under way).
                 * A break_end naming none ends it, if there is one. */
                t->break_on[0] = '\0';
                t->phase = PH_BREAK;
            }
            t->due_ns = now + ms_ns(TB_REFUSED_HOLD_MS);
        }
        if (t->drop_after_ack)
            drop(t);
        return;
    }
    if (t->dup_out && strcmp(a->event_id, t->last.id) == 0) {
        t->dup_out = 0;
        t->res.duplicates++;
        if (!a->ok != !t->last_ok || (!a->ok && strcmp(a->error, t->last_error) != 0)) {
            t->res.dup_mismatch++;
            note_error(t, "event %s answered %s \"%s\" the first time, %s \"%s\" when sent again",
                       t->last.id, t->last_ok ? "ok" : "refused", t->last_error,
                       a->ok ? "ok" : "refused", a->error);
        }
        return;
    }
    note_error(t, "an Ack for an event not awaited: \"%s\" (%s) %s", a->event_id,
               a->ok ? "ok" : "refused", a->error);
}

static void on_frame(tablet *t, const uint8_t *p, size_t len)
{
    smsg *m = noriai__driver__server_message__unpack(NULL, len, p);

    if (m == NULL) {
        note_error(t, "a frame that is no ServerMessage (%zu bytes)", len);
        return;
    }
    switch (m->msg_case) {
    case NORIAI__DRIVER__SERVER_MESSAGE__MSG_ROUTE: {
        tmsg a = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
        Noriai__Driver__Ack ack = NORIAI__DRIVER__ACK__INIT;
        char id[32];
        take_route(t, m->route);
        snprintf(id, sizeof(id), "seq:%llu", (unsigned long long)m->route->seq);
        ack.event_id = id;
        ack.ok = 1;
        a.msg_case = NORIAI__DRIVER__TABLET_MESSAGE__MSG_ACK;
        a.ack = &ack;
        (void)send_msg(t, &a); /* a failure shows at the next read */
        break;
    }
    case NORIAI__DRIVER__SERVER_MESSAGE__MSG_ACK:
        on_ack(t, m->ack);
        break;
    case NORIAI__DRIVER__SERVER_MESSAGE__MSG_CANCELLATION:
        t->res.cancellations++;
        break;
    default:
        break;
    }
    noriai__driver__server_message__free_unpacked(m, NULL);
}

/* ------------------------------------------------------------------------ */
/* A tablet                                                                 */

static void hello(tablet *t)
{
    tmsg m = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
    Noriai__Driver__Hello h = NORIAI__DRIVER__HELLO__INIT;

    h.vehicle_id = t->vehicle;
    h.last_seq = t->held_seq;
    h.app_version = (char *)"noriai-loadgen";
    m.msg_case = NORIAI__DRIVER__TABLET_MESSAGE__MSG_HELLO;
    m.hello = &h;
    if (send_msg(t, &m) < 0) {
        t->res.server_closes++;
        disconnect(t, 0);
    }
}

static void tb_connect(tablet *t)
{
    const sim_tablets_opts *o = t->run->o;
    const char *hdr[3] = {t->auth, TB_SUBPROTOCOL, NULL};
    char err[300];
    int rc;

    rc = sim_wsc_open(&t->ws, o->host, o->port, "/v1/driver/ws", hdr, 0, o->timeout_ms, err,
                      sizeof(err));
    if (rc < 0) {
        t->res.connect_failures++;
        if (rc == SIM_WSC_EREFUSED)
            note_error(t, "%s: %.160s", err,
                       strstr(t->ws.head, "\r\n\r\n") ? strstr(t->ws.head, "\r\n\r\n") + 4 : "");
        else
            note_error(t, "%s", err);
        sim_wsc_cleanup(&t->ws);
        t->next_connect_ns = lg_mono_ns() + ms_ns(t->backoff_ms * (0.5 + sim_rng_uniform(&t->rng)));
        t->backoff_ms =
            t->backoff_ms * 2 > TB_BACKOFF_MAX_MS ? TB_BACKOFF_MAX_MS : t->backoff_ms * 2;
        return;
    }
    t->connected = 1;
    atomic_fetch_add(&t->run->n_connected, 1);
    t->res.connects++;
    if (t->ever_connected) {
        t->res.reconnects++;
        atomic_fetch_add(&t->run->p_reconnects, 1);
    }
    t->ever_connected = 1;
    t->backoff_ms = TB_BACKOFF_MIN_MS;
    t->next_keepalive_ns = lg_mono_ns() + ms_ns(TB_KEEPALIVE_MS);
    t->hello_seq = t->held_seq;
    t->await_first_route = t->res.reconnects > 0;
    hello(t);
    if (!t->connected)
        return;
    /* An unanswered event goes again from the loop; else, sometimes: */
    if (!t->has_pend && t->last.id[0]) {
        /* As if the tablet had missed the last Ack: the same answer again. */
        if (send_event(t, &t->last) == 0)
            t->dup_out = 1;
    }
}

static void keepalive(tablet *t)
{
    tmsg m = NORIAI__DRIVER__TABLET_MESSAGE__INIT;
    Noriai__Driver__KeepAlive k = NORIAI__DRIVER__KEEP_ALIVE__INIT;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    k.unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    m.msg_case = NORIAI__DRIVER__TABLET_MESSAGE__MSG_KEEPALIVE;
    m.keepalive = &k;
    (void)send_msg(t, &m);
    t->next_keepalive_ns = lg_mono_ns() + ms_ns(TB_KEEPALIVE_MS);
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static void *tablet_main(void *arg)
{
    tablet *t = arg;
    tb_run *run = t->run;
    const sim_tablets_opts *o = run->o;

    t->last_ns = lg_mono_ns();
    t->due_ns = t->last_ns;
    t->phase = PH_DEPART;
    t->backoff_ms = TB_BACKOFF_MIN_MS;
    for (;;) {
        int64_t now = lg_mono_ns(), wake;
        int driving = now < run->end_ns, rc;
        uint8_t *p;
        size_t len;

        if (now >= run->settle_end_ns || (!driving && !t->has_pend && !t->dup_out))
            break;
        if (!t->connected) {
            if (now < t->next_connect_ns)
                lg_sleep_until(min64(t->next_connect_ns, run->settle_end_ns));
            else
                tb_connect(t);
            continue;
        }
        if (now >= t->next_keepalive_ns)
            keepalive(t);
        if (t->has_pend && t->pend_here && now - t->pend.sent_ns > ms_ns(o->timeout_ms)) {
            t->res.ack_timeouts++;
            disconnect(t, 1);
            continue;
        }
        if (t->has_pend && !t->pend_here) {
            send_pending(t);
            continue;
        }
        if (driving && !t->has_pend && now >= t->due_ns) {
            if (make_event(t))
                send_pending(t);
            continue;
        }
        wake = min64(t->next_keepalive_ns, run->settle_end_ns);
        if (t->has_pend)
            wake = min64(wake, t->pend.sent_ns + ms_ns(o->timeout_ms) + 1);
        else if (driving)
            wake = min64(wake, min64(t->due_ns, run->end_ns));
        wake = min64(wake, now + ms_ns(TB_IDLE_POLL_MS));
        rc =
            sim_wsc_recv(&t->ws, wake > now ? (int)((wake - now + 999999) / 1000000) : 0, &p, &len);
        if (rc == SIM_WSC_BINARY)
            on_frame(t, p, len);
        else if (rc == SIM_WSC_CLOSE || rc < 0) {
            t->res.server_closes++;
            if (rc < 0 && rc != SIM_WSC_ECLOSED)
                note_error(t, "connection failed: %s", sim_wsc_strerror(rc));
            disconnect(t, 0);
        }
        free(p);
    }
    if (t->connected) {
        (void)sim_wsc_send_close(&t->ws, 1000, "loadgen done");
        (void)sim_wsc_wait_eof(&t->ws, 500);
        disconnect(t, 0);
    }
    if (t->has_pend)
        t->res.unanswered++;
    atomic_fetch_add(&run->n_done, 1);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Setup: the driver tokens                                                 */

/* A token or vehicle id from outside: printable, no blanks, fits. */
static int word_ok(const char *s, size_t cap)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static int cred_add(sim_tablet_cred **v, int *n, int *cap, const char *vehicle, const char *token)
{
    if (!word_ok(vehicle, sizeof((*v)->vehicle_id)) || lg_id_ok(vehicle, 48) < 0 ||
        !word_ok(token, sizeof((*v)->token)))
        return SIM_LOADGEN_EINVAL;
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 16;
        sim_tablet_cred *nv;
        if (c > SIM_TABLETS_MAX * 4 || (nv = realloc(*v, (size_t)c * sizeof(*nv))) == NULL)
            return SIM_LOADGEN_ENOMEM;
        *v = nv;
        *cap = c;
    }
    snprintf((*v)[*n].vehicle_id, sizeof((*v)[*n].vehicle_id), "%s", vehicle);
    snprintf((*v)[*n].token, sizeof((*v)[*n].token), "%s", token);
    (*n)++;
    return 0;
}

int sim_tablets_read_creds(const char *path, sim_tablet_cred **out, int *n_out, char *err,
                           size_t err_len)
{
    sim_tablet_cred *v = NULL;
    int n = 0, cap = 0, rc = 0, line = 0;
    json_t *j = NULL;
    FILE *f = NULL;
    char buf[512];

    *out = NULL;
    *n_out = 0;
    if ((f = fopen(path, "r")) == NULL) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return SIM_LOADGEN_EINVAL;
    }
    int c = fgetc(f);
    while (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        c = fgetc(f);
    if (c == '{') {
        json_error_t je;
        const char *key;
        json_t *val;
        ungetc(c, f);
        if ((j = json_loadf(f, 0, &je)) == NULL || !json_is_object(j)) {
            snprintf(err, err_len, "%s:%d: %s", path, je.line, j ? "not an object" : je.text);
            rc = SIM_LOADGEN_EINVAL;
            goto out;
        }
        json_object_foreach(j, key, val)
        {
            if ((rc = cred_add(&v, &n, &cap, key, json_string_value(val))) < 0) {
                snprintf(err, err_len,
                         "%s: \"%.60s\": wants a vehicle id and a token string of "
                         "printable characters",
                         path, key);
                goto out;
            }
        }
    } else {
        if (c != EOF)
            ungetc(c, f);
        while (fgets(buf, sizeof(buf), f) != NULL) {
            char veh[64], tok[160], extra[2];
            int k;
            line++;
            if (strchr(buf, '\n') == NULL && !feof(f)) {
                snprintf(err, err_len, "%s:%d: line too long", path, line);
                rc = SIM_LOADGEN_EINVAL;
                goto out;
            }
            k = sscanf(buf, "%63s %159s %1s", veh, tok, extra);
            if (k <= 0 || veh[0] == '#')
                continue;
            if (k != 2 || (rc = cred_add(&v, &n, &cap, veh, tok)) < 0) {
                snprintf(err, err_len, "%s:%d: wants \"VEHICLE TOKEN\"", path, line);
                rc = rc < 0 ? rc : SIM_LOADGEN_EINVAL;
                goto out;
            }
        }
    }
    if (n == 0) {
        snprintf(err, err_len, "%s: no tokens in it", path);
        rc = SIM_LOADGEN_EINVAL;
    }
out:
    json_decref(j);
    fclose(f);
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* One driver token per vehicle, the first n of today's fleet. */
static int make_creds(tb_run *run, sim_httpc *c, const char *auth, sim_tablet_cred *v, char *err,
                      size_t err_len)
{
    const sim_tablets_opts *o = run->o;
    json_t *j = NULL, *arr;
    int rc, n = 0;

    rc = lg_request_json(c, "GET", "/v1/vehicles", auth, NULL, NULL, 200, LG_ROLE_ADMIN, &j, err,
                         err_len);
    if (rc < 0)
        return rc == -1 ? SIM_LOADGEN_ECONNECT : SIM_LOADGEN_ESETUP;
    arr = json_object_get(j, "vehicles");
    for (size_t i = 0; i < json_array_size(arr) && n < o->n_tablets; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(arr, i), "id"));
        if (lg_id_ok(id, sizeof(v->vehicle_id)) == 0)
            snprintf(v[n++].vehicle_id, sizeof(v->vehicle_id), "%s", id);
    }
    json_decref(j);
    if (n < o->n_tablets) {
        snprintf(err, err_len, "GET /v1/vehicles: %d vehicles today, %d tablets asked for", n,
                 o->n_tablets);
        return SIM_LOADGEN_ESETUP;
    }
    for (int k = 0; k < n; k++) {
        char body[200], idem[80];
        const char *tok;
        snprintf(body, sizeof(body),
                 "{\"role\":\"driver\",\"vehicle_id\":\"%s\",\"label\":\"noriai loadgen tablet\"}",
                 v[k].vehicle_id);
        snprintf(idem, sizeof(idem), "lg%s-tok-%d", run->run_id, k);
        rc = lg_request_json(c, "POST", "/v1/tokens", auth, idem, body, 201, LG_ROLE_ADMIN, &j, err,
                             err_len);
        if (rc < 0)
            return rc == -1 ? SIM_LOADGEN_ECONNECT : SIM_LOADGEN_ESETUP;
        tok = json_string_value(json_object_get(j, "token"));
        if (!word_ok(tok, sizeof(v->token))) {
            snprintf(err, err_len, "POST /v1/tokens: no usable \"token\" in the answer");
            json_decref(j);
            return SIM_LOADGEN_ESETUP;
        }
        snprintf(v[k].token, sizeof(v->token), "%s", tok);
        json_decref(j);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The check                                                                */

static int rec_cmp(const void *a, const void *b)
{
    const tb_record *x = a, *y = b;
    int c = strcmp(x->booking, y->booking);

    return c != 0 ? c : x->kind - y->kind;
}

/* Every booking an acknowledged rider event named, read back. */
static void check(tb_run *run, sim_httpc *c, const char *auth, sim_tablets_result *r)
{
    const sim_tablets_opts *o = run->o;
    tb_record *all;
    size_t n = 0, i = 0;

    for (int k = 0; k < o->n_tablets; k++)
        n += run->t[k].n_rec;
    if (n == 0)
        return;
    if ((all = malloc(n * sizeof(*all))) == NULL) {
        snprintf(r->first_error, sizeof(r->first_error), "out of memory for the check");
        r->check_errors++;
        return;
    }
    n = 0;
    for (int k = 0; k < o->n_tablets; k++) {
        memcpy(all + n, run->t[k].rec, run->t[k].n_rec * sizeof(*all));
        n += run->t[k].n_rec;
    }
    qsort(all, n, sizeof(*all), rec_cmp);
    while (i < n) {
        const char *id = all[i].booking, *want, *st;
        int cnt[K_N] = {0};
        char path[160], err[300];
        json_t *j = NULL;
        size_t g = i;
        while (g < n && strcmp(all[g].booking, id) == 0)
            cnt[all[g++].kind]++;
        if (cnt[K_BOARDED] > 1 || cnt[K_ALIGHTED] > 1 || cnt[K_NO_SHOW] > 1 ||
            (cnt[K_BOARDED] > 0 && cnt[K_NO_SHOW] > 0)) {
            r->applied_twice++;
            if (!r->first_lost[0])
                snprintf(r->first_lost, sizeof(r->first_lost),
                         "%s: boarded %d, alighted %d, no_show %d acknowledged", id, cnt[K_BOARDED],
                         cnt[K_ALIGHTED], cnt[K_NO_SHOW]);
        }
        want = cnt[K_ALIGHTED] ? "dropped_off" : cnt[K_BOARDED] ? "picked_up" : "no_show";
        snprintf(path, sizeof(path), "/v1/bookings/%s", id);
        if (lg_id_ok(id, 100) < 0 || lg_request_json(c, "GET", path, auth, NULL, NULL, 200,
                                                     LG_ROLE_STAFF, &j, err, sizeof(err)) < 0) {
            r->check_errors++;
            if (!r->first_error[0])
                snprintf(r->first_error, sizeof(r->first_error), "check: %.240s",
                         lg_id_ok(id, 100) < 0 ? "a booking id unfit for a path" : err);
            i = g;
            continue;
        }
        st = json_string_value(json_object_get(j, "status"));
        st = st != NULL ? st : "";
        r->checked++;
        if (strcmp(st, want) != 0 &&
            !(strcmp(want, "picked_up") == 0 && strcmp(st, "dropped_off") == 0)) {
            r->lost++;
            if (!r->first_lost[0])
                snprintf(r->first_lost, sizeof(r->first_lost),
                         "%s: %s acknowledged, but its status is %s", id,
                         cnt[K_ALIGHTED]  ? "alighted"
                         : cnt[K_BOARDED] ? "boarded"
                                          : "no_show",
                         st);
        }
        json_decref(j);
        i = g;
    }
    free(all);
}

/* ------------------------------------------------------------------------ */
/* The run                                                                  */

static int check_opts(const sim_tablets_opts *o, char *err, size_t err_len)
{
    const char *bad = NULL;

    if (o->host[0] == '\0' || o->port < 1 || o->port > 65535)
        bad = "host and port";
    else if (o->n_tablets < 1 || o->n_tablets > SIM_TABLETS_MAX)
        bad = "number of tablets (1..1000)";
    else if (!(o->duration_s > 0 && o->duration_s <= SIM_TABLETS_MAX_DURATION_S))
        bad = "duration (0 < S <= 86400)";
    else if (!(o->speed >= 1 && o->speed <= SIM_TABLETS_MAX_SPEED))
        bad = "speed (1..1000000)";
    else if (!(o->drop_rate >= 0 && o->drop_rate <= 1))
        bad = "drop rate (0..1)";
    else if (!(o->no_show_share >= 0 && o->no_show_share <= 1))
        bad = "no-show share (0..1)";
    else if (!(o->settle_s >= 0 && o->settle_s <= 3600))
        bad = "settling time (0..3600 s)";
    else if (o->min_gap_ms < 0 || o->min_gap_ms > 60000)
        bad = "gap between events (0..60000 ms)";
    else if (o->timeout_ms < 1 || o->timeout_ms > 3600000)
        bad = "timeout (1..3600000 ms)";
    else if ((o->token == NULL && o->admin_token == NULL) ||
             (o->token != NULL && !word_ok(o->token, 160)) ||
             (o->admin_token != NULL && !word_ok(o->admin_token, 160)))
        bad = "token: an operator's or admin's token is needed for the check";
    else if (o->creds == NULL && o->admin_token == NULL)
        bad = "driver tokens: give them, or an admin token to make them";
    else if (o->creds != NULL && o->n_creds < o->n_tablets)
        bad = "driver tokens: fewer than tablets";
    if (bad == NULL)
        return 0;
    snprintf(err, err_len, "tablets: invalid %s", bad);
    return SIM_LOADGEN_EINVAL;
}

static void merge(tb_run *run, sim_tablets_result *r)
{
    const sim_tablets_opts *o = run->o;
    sim_tablets_reason all[SIM_TABLETS_MAX_REASONS * 4];
    int n_all = 0;

    for (int k = 0; k < o->n_tablets; k++) {
        const sim_tablets_result *x = &run->t[k].res;
        r->events += x->events;
        r->acked_ok += x->acked_ok;
        r->refused += x->refused;
        r->unanswered += x->unanswered;
        for (int i = 0; i < 7; i++)
            r->by_kind_ok[i] += x->by_kind_ok[i];
        r->refused_other += x->refused_other;
        r->connects += x->connects;
        r->reconnects += x->reconnects;
        r->drops += x->drops;
        r->server_closes += x->server_closes;
        r->connect_failures += x->connect_failures;
        r->ack_timeouts += x->ack_timeouts;
        r->resends += x->resends;
        r->duplicates += x->duplicates;
        r->dup_mismatch += x->dup_mismatch;
        r->routes += x->routes;
        r->gaps_healed += x->gaps_healed;
        r->seq_back += x->seq_back;
        r->cancellations += x->cancellations;
        if (!r->first_error[0] && x->first_error[0])
            snprintf(r->first_error, sizeof(r->first_error), "%s", x->first_error);
        for (int i = 0; i < run->t[k].n_reasons; i++)
            if (reason_add(all, &n_all, (int)(sizeof(all) / sizeof(all[0])),
                           run->t[k].reasons[i].text, run->t[k].reasons[i].n) < 0)
                r->refused_other += run->t[k].reasons[i].n;
    }
    /* The most frequent reasons first. */
    for (int i = 0; i < n_all; i++)
        for (int j = i + 1; j < n_all; j++)
            if (all[j].n > all[i].n) {
                sim_tablets_reason x = all[i];
                all[i] = all[j];
                all[j] = x;
            }
    for (int i = 0; i < n_all; i++) {
        if (i < SIM_TABLETS_MAX_REASONS)
            r->reasons[r->n_reasons++] = all[i];
        else
            r->refused_other += all[i].n;
    }
}

static void progress_line(tb_run *run, int64_t now)
{
    fprintf(run->o->progress,
            "[%5.1fs] tablets %d on, events %lld, ok %lld, refused %lld, drops %lld, "
            "reconnects %lld\n",
            (double)(now - run->t0_ns) / 1e9, atomic_load(&run->n_connected),
            (long long)atomic_load(&run->p_events), (long long)atomic_load(&run->p_ok),
            (long long)atomic_load(&run->p_refused), (long long)atomic_load(&run->p_drops),
            (long long)atomic_load(&run->p_reconnects));
    fflush(run->o->progress);
}

int sim_tablets_run(const sim_tablets_opts *o, sim_tablets_result *r, char *err, size_t err_len)
{
    tb_run *run = NULL;
    sim_httpc *c = NULL;
    sim_tablet_cred *made = NULL;
    const sim_tablet_cred *creds;
    char auth[200], admin[200];
    pthread_attr_t attr;
    struct timespec ts;
    int rc, n_started = 0;
    json_t *j = NULL;

    memset(r, 0, sizeof(*r));
    if ((rc = check_opts(o, err, err_len)) < 0)
        return rc;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token ? o->token : o->admin_token);
    snprintf(admin, sizeof(admin), "Authorization: Bearer %s",
             o->admin_token ? o->admin_token : "");
    if ((run = calloc(1, sizeof(*run))) == NULL ||
        (run->t = calloc((size_t)o->n_tablets, sizeof(*run->t))) == NULL) {
        rc = SIM_LOADGEN_ENOMEM;
        goto out;
    }
    run->o = o;
    /* Event ids must not repeat across runs (the daemon keeps them 48 h). */
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(run->run_id, sizeof(run->run_id), "%08x",
             (unsigned)((uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^
                        (uint64_t)getpid() << 16 ^ o->seed));
    if ((rc = sim_httpc_create(o->host, o->port, o->timeout_ms, &c)) < 0) {
        snprintf(err, err_len, "%s port %d: %s", o->host, o->port, sim_httpc_strerror(rc));
        rc = SIM_LOADGEN_EINVAL;
        goto out;
    }
    rc = lg_request_json(c, "GET", "/v1/health", auth, NULL, NULL, 200, LG_ROLE_STAFF, &j, err,
                         err_len);
    json_decref(j);
    if (rc < 0) {
        rc = rc == -1 ? SIM_LOADGEN_ECONNECT : SIM_LOADGEN_ESETUP;
        goto out;
    }
    creds = o->creds;
    if (creds == NULL) {
        if ((made = calloc((size_t)o->n_tablets, sizeof(*made))) == NULL) {
            rc = SIM_LOADGEN_ENOMEM;
            goto out;
        }
        if ((rc = make_creds(run, c, admin, made, err, err_len)) < 0)
            goto out;
        creds = made;
    }
    for (int k = 0; k < o->n_tablets; k++) {
        tablet *t = &run->t[k];
        t->run = run;
        t->k = k;
        snprintf(t->vehicle, sizeof(t->vehicle), "%s", creds[k].vehicle_id);
        snprintf(t->auth, sizeof(t->auth), "Authorization: Bearer %s", creds[k].token);
        sim_rng_seed(&t->rng, (o->seed ? o->seed : (uint64_t)ts.tv_nsec) * 7919u + (uint64_t)k);
        sim_wsc_init(&t->ws);
        if ((t->stops = calloc(TB_MAX_STOPS, sizeof(*t->stops))) == NULL) {
            rc = SIM_LOADGEN_ENOMEM;
            goto out;
        }
    }
    run->t0_ns = lg_mono_ns();
    run->end_ns = run->t0_ns + (int64_t)(o->duration_s * 1e9);
    run->settle_end_ns = run->end_ns + (int64_t)(o->settle_s * 1e9);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, TB_STACK);
    for (; n_started < o->n_tablets; n_started++)
        if (pthread_create(&run->t[n_started].th, &attr, tablet_main, &run->t[n_started]) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (n_started < o->n_tablets) {
        /* The tablets started stop at once. */
        run->end_ns = run->settle_end_ns = lg_mono_ns();
        snprintf(err, err_len, "cannot start tablet thread %d of %d", n_started + 1, o->n_tablets);
        rc = SIM_LOADGEN_ETHREAD;
    }
    for (int64_t next = run->t0_ns + 1000000000LL; atomic_load(&run->n_done) < n_started;) {
        int64_t now = lg_mono_ns();
        if (now >= next) {
            if (o->progress != NULL)
                progress_line(run, now);
            next += 1000000000LL;
        }
        lg_sleep_until(min64(next, now + 50000000LL));
    }
    for (int k = 0; k < n_started; k++)
        pthread_join(run->t[k].th, NULL);
    if (rc < 0)
        goto out;
    r->n_tablets = o->n_tablets;
    r->speed = o->speed;
    r->drop_rate = o->drop_rate;
    r->duration_s = o->duration_s;
    merge(run, r);
    check(run, c, auth, r);
    r->elapsed_s = (double)(lg_mono_ns() - run->t0_ns) / 1e9;
    rc = 0;
out:
    if (run != NULL && run->t != NULL)
        for (int k = 0; k < o->n_tablets; k++) {
            sim_wsc_cleanup(&run->t[k].ws);
            free(run->t[k].stops);
            free(run->t[k].rec);
        }
    if (run != NULL)
        free(run->t);
    free(run);
    free(made);
    sim_httpc_destroy(c);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

void sim_tablets_print(FILE *f, const sim_tablets_result *r)
{
    fprintf(f,
            "noriai loadgen tablets: %d tablets for %.1f s at speed %g, drop rate %.2f "
            "(%.1f s with settling and the check)\n",
            r->n_tablets, r->duration_s, r->speed, r->drop_rate, r->elapsed_s);
    fprintf(f, "events      %lld sent, %lld acknowledged ok, %lld refused, %lld unanswered\n",
            (long long)r->events, (long long)r->acked_ok, (long long)r->refused,
            (long long)r->unanswered);
    fprintf(f, "ok by kind ");
    for (int k = 0; k < K_N; k++)
        fprintf(f, " %s %lld%s", kind_name[k], (long long)r->by_kind_ok[k],
                k + 1 < K_N ? "," : "\n");
    for (int i = 0; i < r->n_reasons; i++)
        fprintf(f, "%s %6lld  %s\n", i == 0 ? "refusals  " : "          ",
                (long long)r->reasons[i].n, r->reasons[i].text);
    if (r->refused_other > 0)
        fprintf(f, "           %6lld  (other reasons)\n", (long long)r->refused_other);
    fprintf(f,
            "connection  %lld upgrades, %lld reconnects, %lld drops on purpose, %lld closed by "
            "the server, %lld connect failures, %lld Ack timeouts\n",
            (long long)r->connects, (long long)r->reconnects, (long long)r->drops,
            (long long)r->server_closes, (long long)r->connect_failures,
            (long long)r->ack_timeouts);
    fprintf(f, "resends     %lld (same event_id), %lld duplicates answered (%lld differently)\n",
            (long long)r->resends, (long long)r->duplicates, (long long)r->dup_mismatch);
    fprintf(f,
            "routes      %lld received, %lld seq gaps healed by resume, %lld older than held, "
            "%lld cancellations\n",
            (long long)r->routes, (long long)r->gaps_healed, (long long)r->seq_back,
            (long long)r->cancellations);
    fprintf(f,
            "check       %lld bookings read back: %lld lost, %lld applied twice, %lld unreadable\n",
            (long long)r->checked, (long long)r->lost, (long long)r->applied_twice,
            (long long)r->check_errors);
    if (r->first_lost[0])
        fprintf(f, "first lost: %s\n", r->first_lost);
    if (r->first_error[0])
        fprintf(f, "first error: %s\n", r->first_error);
    fprintf(f,
            "summary tablets=%d events=%lld ok=%lld refused=%lld unanswered=%lld reconnects=%lld "
            "resends=%lld duplicates=%lld routes=%lld gaps_healed=%lld lost=%lld "
            "applied_twice=%lld\n",
            r->n_tablets, (long long)r->events, (long long)r->acked_ok, (long long)r->refused,
            (long long)r->unanswered, (long long)r->reconnects, (long long)r->resends,
            (long long)r->duplicates, (long long)r->routes, (long long)r->gaps_healed,
            (long long)r->lost, (long long)r->applied_twice);
}

int sim_tablets_print_json(FILE *f, const sim_tablets_result *r)
{
    json_t *kinds = json_object(), *reasons = json_array(), *j;
    int rc;

    for (int k = 0; k < K_N; k++)
        json_object_set_new(kinds, kind_name[k], json_integer(r->by_kind_ok[k]));
    for (int i = 0; i < r->n_reasons; i++)
        json_array_append_new(reasons, json_pack("{s:s,s:I}", "reason", r->reasons[i].text, "n",
                                                 (json_int_t)r->reasons[i].n));
    j = json_pack(
        "{s:i,s:f,s:f,s:f,s:f,s:{s:I,s:I,s:I,s:I,s:o,s:o,s:I},"
        "s:{s:I,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I},"
        "s:{s:I,s:I,s:I,s:I},s:s,s:s}",
        "tablets", r->n_tablets, "speed", r->speed, "drop_rate", r->drop_rate, "duration_s",
        r->duration_s, "elapsed_s", r->elapsed_s, "events", "sent", (json_int_t)r->events, "ok",
        (json_int_t)r->acked_ok, "refused", (json_int_t)r->refused, "unanswered",
        (json_int_t)r->unanswered, "ok_by_kind", kinds, "refusals", reasons, "refused_other",
        (json_int_t)r->refused_other, "connection", "upgrades", (json_int_t)r->connects,
        "reconnects", (json_int_t)r->reconnects, "drops", (json_int_t)r->drops, "server_closes",
        (json_int_t)r->server_closes, "connect_failures", (json_int_t)r->connect_failures,
        "ack_timeouts", (json_int_t)r->ack_timeouts, "resends", "resends", (json_int_t)r->resends,
        "duplicates", (json_int_t)r->duplicates, "dup_mismatch", (json_int_t)r->dup_mismatch,
        "routes", "received", (json_int_t)r->routes, "gaps_healed", (json_int_t)r->gaps_healed,
        "seq_back", (json_int_t)r->seq_back, "cancellations", (json_int_t)r->cancellations, "check",
        "checked", (json_int_t)r->checked, "lost", (json_int_t)r->lost, "applied_twice",
        (json_int_t)r->applied_twice, "errors", (json_int_t)r->check_errors, "first_lost",
        r->first_lost, "first_error", r->first_error);
    if (j == NULL)
        return SIM_LOADGEN_ENOMEM;
    rc = json_dumpf(j, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? 0 : SIM_LOADGEN_EINVAL;
    json_decref(j);
    return rc;
}
