/*
 * loadgen.c - the load generator: booking+confirm pairs against a running
 * daemon at a fixed offered rate, with honest latency figures.
 *
 * Setup (one connection, before the clock starts): the service clock from
 * GET /v1/health ("now"), the day's hours from GET /v1/shifts (earliest
 * start, latest end of today's shifts), the bookable stops from
 * GET /v1/stops (depots left out), and n_riders riders registered with
 * POST /v1/riders.  A 401 or 403 there ends the run with a message saying
 * which token is needed; nothing was measured yet.
 *
 * Schedule.  Pair i (0 <= i < round(rate * duration)) is due at
 * t0 + i / rate; thread k of K sends pairs k, k+K, k+2K, ... over its own
 * keep-alive connection.  A pair is POST /v1/bookings (random rider,
 * random distinct pickup and drop-off stops, "asap" or "depart_after" a
 * random minute between twenty minutes from now and an hour before the
 * end of service) and, when that answers 201, POST .../confirm.  Each POST
 * carries an Idempotency-Key unique to the run, the pair and the step.
 * A confirmed booking is, with probability cancel_share, cancelled 0.5-3 s
 * later, in the thread's spare time before a due pair (or after the
 * schedule).
 *
 * Open loop (the default) counts latency from the time a pair was due, not
 * from when the thread got round to sending it: a thread stuck behind a
 * slow answer keeps its later pairs' clocks running (no coordinated
 * omission), and works off its backlog until drain time after the end;
 * what is not sent by then is "missed".  Closed loop counts from the
 * actual send and skips the slots that passed while the thread was busy
 * (more than one thread period late): it measures service time at whatever
 * rate the server sustains, never more than K requests in flight.  The
 * booking's latency is from the origin (due or sent) to its answer; the
 * pair's from the same origin to the confirm's answer; confirm and cancel
 * from their own send.  "send lag" is how late sends left against the
 * schedule: if it grows, the generator (K too small for rate x latency) or
 * the machine is the limit, not necessarily the server.
 *
 * Numbers.  Each thread keeps its own counters and log-linear histograms
 * (64 sub-buckets per power of two of microseconds: under 1.6 % error,
 * fixed 16 KiB each), merged after the run, so memory does not grow with
 * rate x duration and threads share nothing but a few atomics for the
 * progress line printed each second.
 */
#include "simulator/loadgen.h"

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

#include "simulator/httpc.h"
#include "simulator/loadgen_int.h"
#include "simulator/sim.h"

#define LG_SUB_BITS 6
#define LG_SUB (1 << LG_SUB_BITS)
#define LG_MAX_EXP 40 /* 2^40 us: 12 days, more than any answer */
#define LG_N_BUCKETS (LG_SUB + (LG_MAX_EXP - LG_SUB_BITS + 1) * LG_SUB)
#define LG_ID_LEN 64
#define LG_MAX_STOPS 100000

const char *sim_loadgen_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SIM_LOADGEN_ERR_CASE(name, code, msg)                                                      \
    case code:                                                                                     \
        return msg;
        SIM_LOADGEN_ERRNO_MAP(SIM_LOADGEN_ERR_CASE)
#undef SIM_LOADGEN_ERR_CASE
    default:
        return "unknown error";
    }
}

void sim_loadgen_opts_default(sim_loadgen_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->n_riders = 50;
    o->n_threads = 8;
    o->cancel_share = 0.1;
    o->asap_share = 0.2;
    o->open_loop = 1;
    o->timeout_ms = 10000;
}

/* ------------------------------------------------------------------------ */
/* Histograms                                                               */

typedef struct lg_hist {
    int64_t n;
    double sum_us, max_us;
    uint32_t b[LG_N_BUCKETS];
} lg_hist;

static int hist_index(int64_t us)
{
    int e = 0;

    if (us < LG_SUB)
        return us < 0 ? 0 : (int)us;
    for (uint64_t x = (uint64_t)us; x > 1; x >>= 1)
        e++;
    if (e > LG_MAX_EXP)
        return LG_N_BUCKETS - 1;
    return LG_SUB + (e - LG_SUB_BITS) * LG_SUB + (int)((us >> (e - LG_SUB_BITS)) & (LG_SUB - 1));
}

/* The middle of a bucket, in microseconds. */
static double hist_value(int i)
{
    int e, sub;

    if (i < LG_SUB)
        return i;
    e = (i - LG_SUB) / LG_SUB + LG_SUB_BITS;
    sub = (i - LG_SUB) % LG_SUB;
    return ldexp((double)(LG_SUB + sub) + 0.5, e - LG_SUB_BITS);
}

static void hist_add(lg_hist *h, int64_t us)
{
    h->n++;
    h->sum_us += (double)us;
    if ((double)us > h->max_us)
        h->max_us = (double)us;
    h->b[hist_index(us)]++;
}

static void hist_merge(lg_hist *into, const lg_hist *h)
{
    into->n += h->n;
    into->sum_us += h->sum_us;
    if (h->max_us > into->max_us)
        into->max_us = h->max_us;
    for (int i = 0; i < LG_N_BUCKETS; i++)
        into->b[i] += h->b[i];
}

static double hist_quantile_ms(const lg_hist *h, double q)
{
    int64_t rank = (int64_t)ceil(q * (double)h->n), seen = 0;

    if (h->n == 0)
        return 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < LG_N_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            double v = hist_value(i);
            return (v > h->max_us ? h->max_us : v) / 1000.0;
        }
    }
    return h->max_us / 1000.0;
}

static void hist_summary(const lg_hist *h, sim_loadgen_lat *out)
{
    out->n = h->n;
    out->mean_ms = h->n ? h->sum_us / (double)h->n / 1000.0 : 0;
    out->p50_ms = hist_quantile_ms(h, 0.50);
    out->p90_ms = hist_quantile_ms(h, 0.90);
    out->p99_ms = hist_quantile_ms(h, 0.99);
    out->max_ms = h->max_us / 1000.0;
}

/* ------------------------------------------------------------------------ */
/* Shared state of a run                                                    */

typedef struct lg_id {
    char s[LG_ID_LEN];
} lg_id;

typedef struct lg_cancel {
    lg_id id;
    int64_t due_ns;
} lg_cancel;

typedef struct lg_run lg_run;

typedef struct lg_worker {
    lg_run *run;
    int k;
    pthread_t th;
    sim_httpc *c;
    sim_rng rng;
    lg_hist book, confirm, pair, cancel, lag;
    int64_t by_status[SIM_LOADGEN_N_STATUS];
    int64_t requests, errors, sent, confirmed, missed, created, rejected, confirms, cancels;
    int64_t cleanup_cancels;
    int64_t last_done_ns;
    /* cancels waiting for their time, in due order (a FIFO: delays are drawn
     * from one range and pushed in time order, so due times nearly ascend) */
    lg_cancel *cq;
    size_t cq_head, cq_len, cq_cap;
    /* confirmed and not cancelled, for --cleanup */
    lg_id *kept;
    size_t n_kept, cap_kept;
    char first_error[256];
} lg_worker;

struct lg_run {
    const sim_loadgen_opts *o;
    char run_id[24];
    lg_id *stops, *riders;
    int n_stops, n_riders;
    int start_s, end_s; /* service hours from the shifts */
    int now_s;          /* service clock at now0_ns */
    int64_t now0_ns, t0_ns, n_pairs, drain_end_ns;
    char auth[300];
    /* progress */
    atomic_llong p_requests, p_pairs, p_confirmed, p_non2xx, p_errors, p_lag_max_us;
    atomic_int finished; /* threads done with their schedule */
};

int64_t lg_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void lg_sleep_until(int64_t t_ns)
{
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000LL),
                          .tv_nsec = (long)(t_ns % 1000000000LL)};

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void atomic_max(atomic_llong *a, long long v)
{
    long long cur = atomic_load(a);

    while (v > cur && !atomic_compare_exchange_weak(a, &cur, v)) {
    }
}

/* "HH:MM[:SS]" at s into seconds; -1 if it is not one. */
static int clock_of(const char *s)
{
    int h, m, sec = 0, n = 0;

    if (s == NULL || sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || h > 47 || m > 59)
        return -1;
    if (s[n] == ':' && sscanf(s + n + 1, "%2d", &sec) != 1)
        return -1;
    return h * 3600 + m * 60 + sec;
}

/* The clock part of an ISO time "YYYY-MM-DDTHH:MM:SS..." */
static int iso_clock(const char *iso)
{
    if (iso == NULL || strlen(iso) < 16 || iso[10] != 'T')
        return -1;
    return clock_of(iso + 11);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                 */

static void note_error(lg_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_error(lg_worker *w, const char *fmt, ...)
{
    va_list ap;

    if (w->first_error[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
    va_end(ap);
}

/*
 * One measured POST; returns the status (0 for a transport error) and the
 * answer in resp when the status is not 0.
 */
static int post(lg_worker *w, const char *path, const char *key, const char *body,
                sim_http_resp *resp, int64_t *done_ns)
{
    lg_run *run = w->run;
    char idem[160];
    const char *hdr[4] = {run->auth, "Content-Type: application/json", idem, NULL};
    int rc;

    snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
    rc = sim_httpc_request(w->c, "POST", path, hdr, body, body ? strlen(body) : 0, resp);
    *done_ns = lg_mono_ns();
    w->requests++;
    atomic_fetch_add(&run->p_requests, 1);
    if (rc < 0) {
        w->errors++;
        atomic_fetch_add(&run->p_errors, 1);
        note_error(w, "%s %s: %s", "POST", path, sim_httpc_strerror(rc));
        return 0;
    }
    if (resp->status >= 0 && resp->status < SIM_LOADGEN_N_STATUS)
        w->by_status[resp->status]++;
    if (resp->status < 200 || resp->status > 299) {
        atomic_fetch_add(&run->p_non2xx, 1);
        if (resp->status != 409) /* no room is an answer the load expects */
            note_error(w, "%.200s (HTTP %d)", resp->body ? resp->body : "", resp->status);
    }
    return resp->status;
}

static void cancel_one(lg_worker *w, const char *id, int measured)
{
    char path[120], key[120];
    sim_http_resp r;
    int64_t t_send = lg_mono_ns(), t_done;
    int st;

    snprintf(path, sizeof(path), "/v1/bookings/%s/cancel", id);
    snprintf(key, sizeof(key), "lg-%s-x-%s", w->run->run_id, id);
    if (!measured) {
        /* Cleanup: not part of the figures. */
        char idem[160];
        const char *hdr[4] = {w->run->auth, "Content-Type: application/json", idem, NULL};
        const char body[] = "{\"reason\":\"loadgen cleanup\"}";
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
        if (sim_httpc_request(w->c, "POST", path, hdr, body, sizeof(body) - 1, &r) == 0) {
            if (r.status == 200)
                w->cleanup_cancels++;
            sim_http_resp_free(&r);
        }
        return;
    }
    st = post(w, path, key, "{\"reason\":\"loadgen\"}", &r, &t_done);
    if (st != 0) {
        hist_add(&w->cancel, (t_done - t_send) / 1000);
        if (st == 200)
            w->cancels++;
        sim_http_resp_free(&r);
    }
}

static int cq_push(lg_worker *w, const char *id, int64_t due_ns)
{
    if (w->cq_head + w->cq_len == w->cq_cap) {
        if (w->cq_head > 0) { /* reuse the consumed front */
            memmove(w->cq, w->cq + w->cq_head, w->cq_len * sizeof(*w->cq));
            w->cq_head = 0;
        } else {
            size_t cap = w->cq_cap ? 2 * w->cq_cap : 64;
            lg_cancel *n = realloc(w->cq, cap * sizeof(*n));
            if (n == NULL)
                return -1;
            w->cq = n;
            w->cq_cap = cap;
        }
    }
    lg_cancel *e = &w->cq[w->cq_head + w->cq_len++];
    snprintf(e->id.s, sizeof(e->id.s), "%s", id);
    e->due_ns = due_ns;
    return 0;
}

static int kept_push(lg_worker *w, const char *id)
{
    if (w->n_kept == w->cap_kept) {
        size_t cap = w->cap_kept ? 2 * w->cap_kept : 256;
        lg_id *n = realloc(w->kept, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        w->kept = n;
        w->cap_kept = cap;
    }
    snprintf(w->kept[w->n_kept++].s, LG_ID_LEN, "%s", id);
    return 0;
}

/* Cancels whose time has come, while now is before `until` (0: no limit). */
static void run_due_cancels(lg_worker *w, int64_t until_ns)
{
    while (w->cq_len > 0) {
        int64_t now = lg_mono_ns();
        lg_cancel *e = &w->cq[w->cq_head];
        if ((until_ns > 0 && now >= until_ns) || (until_ns > 0 && e->due_ns > now))
            return;
        cancel_one(w, e->id.s, 1);
        w->cq_head++;
        w->cq_len--;
    }
}

static void booking_body(lg_worker *w, int64_t now_ns, char *buf, size_t len)
{
    lg_run *run = w->run;
    const char *rider = run->riders[sim_rng_below(&w->rng, run->n_riders)].s;
    int a = sim_rng_below(&w->rng, run->n_stops);
    int b = sim_rng_below(&w->rng, run->n_stops - 1);
    int now_s = run->now_s + (int)((now_ns - run->now0_ns) / 1000000000LL);
    int lo_min = (now_s + 20 * 60 + 59) / 60, hi_min = (run->end_s - 3600) / 60;

    if (b >= a)
        b++; /* distinct from the pickup */
    if (sim_rng_uniform(&w->rng) < run->o->asap_share || hi_min < lo_min) {
        snprintf(buf, len,
                 "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"%s\"},"
                 "\"dropoff\":{\"stop_id\":\"%s\"},\"when\":\"asap\"}",
                 rider, run->stops[a].s, run->stops[b].s);
        return;
    }
    int t_min = lo_min + sim_rng_below(&w->rng, hi_min - lo_min + 1);
    snprintf(buf, len,
             "{\"rider_id\":\"%s\",\"pickup\":{\"stop_id\":\"%s\"},"
             "\"dropoff\":{\"stop_id\":\"%s\"},\"when\":\"depart_after\",\"time\":\"%02d:%02d\"}",
             rider, run->stops[a].s, run->stops[b].s, t_min / 60, t_min % 60);
}

int lg_id_ok(const char *s, size_t len)
{
    return s != NULL && strlen(s) < len && strlen(s) > 0 && strpbrk(s, "/?#\"\\ \r\n") == NULL
               ? 0
               : -1;
}

/* The "id" of a JSON answer into id; 0 or -1 (see lg_id_ok). */
static int answer_id(const sim_http_resp *r, char *id, size_t len)
{
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *s = json_string_value(json_object_get(j, "id"));
    int rc = lg_id_ok(s, len);

    if (rc == 0)
        snprintf(id, len, "%s", s);
    json_decref(j);
    return rc;
}

static void one_pair(lg_worker *w, int64_t i, int64_t due_ns)
{
    lg_run *run = w->run;
    char body[512], key[80], path[120], id[LG_ID_LEN];
    sim_http_resp r;
    int64_t t_send = lg_mono_ns(), t_done, origin;
    int st;

    origin = run->o->open_loop ? due_ns : t_send;
    hist_add(&w->lag, (t_send > due_ns ? t_send - due_ns : 0) / 1000);
    atomic_max(&run->p_lag_max_us, (t_send > due_ns ? t_send - due_ns : 0) / 1000);
    booking_body(w, t_send, body, sizeof(body));
    snprintf(key, sizeof(key), "lg-%s-b-%lld", run->run_id, (long long)i);
    w->sent++;
    atomic_fetch_add(&run->p_pairs, 1);
    st = post(w, "/v1/bookings", key, body, &r, &t_done);
    if (st == 0)
        goto done;
    hist_add(&w->book, (t_done - origin) / 1000);
    if (st == 409)
        w->rejected++;
    if (st != 201 || answer_id(&r, id, sizeof(id)) < 0) {
        if (st == 201)
            note_error(w, "booking answer without a usable id: %.200s", r.body);
        sim_http_resp_free(&r);
        goto done;
    }
    w->created++;
    sim_http_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/bookings/%s/confirm", id);
    snprintf(key, sizeof(key), "lg-%s-c-%lld", run->run_id, (long long)i);
    t_send = t_done;
    st = post(w, path, key, NULL, &r, &t_done);
    if (st == 0)
        goto done;
    hist_add(&w->confirm, (t_done - t_send) / 1000);
    w->confirms++;
    sim_http_resp_free(&r);
    if (st != 200)
        goto done;
    hist_add(&w->pair, (t_done - origin) / 1000);
    w->confirmed++;
    atomic_fetch_add(&run->p_confirmed, 1);
    if (sim_rng_uniform(&w->rng) < run->o->cancel_share) {
        int64_t delay = 500000000LL + (int64_t)(sim_rng_uniform(&w->rng) * 2.5e9);
        if (cq_push(w, id, t_done + delay) < 0)
            note_error(w, "out of memory queueing a cancel");
    } else if (run->o->cleanup && kept_push(w, id) < 0) {
        note_error(w, "out of memory keeping ids for the cleanup");
    }
done:
    w->last_done_ns = t_done;
}

static void *worker_main(void *arg)
{
    lg_worker *w = arg;
    lg_run *run = w->run;
    const int K = run->o->n_threads;
    const double period_ns = 1e9 / run->o->rate;

    for (int64_t i = w->k; i < run->n_pairs; i += K) {
        int64_t due = run->t0_ns + (int64_t)((double)i * period_ns), now;
        run_due_cancels(w, due);
        now = lg_mono_ns();
        if (now < due) {
            lg_sleep_until(due);
        } else if (!run->o->open_loop && now > due + (int64_t)(K * period_ns)) {
            w->missed++; /* closed loop: that slot passed while we were busy */
            continue;
        } else if (now > run->drain_end_ns) {
            w->missed++; /* open loop: too far behind to be worth sending */
            continue;
        }
        one_pair(w, i, due);
    }
    run_due_cancels(w, 0);
    atomic_fetch_add(&run->finished, 1);
    return NULL;
}

/* After every thread's schedule: cancel what the run left confirmed. */
static void *cleanup_main(void *arg)
{
    lg_worker *w = arg;

    for (size_t j = 0; j < w->n_kept; j++)
        cancel_one(w, w->kept[j].s, 0);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Setup                                                                    */

int lg_request_json(sim_httpc *c, const char *method, const char *path, const char *auth,
                    const char *idem, const char *body, int want_status, const char *role,
                    json_t **out, char *err, size_t err_len)
{
    char idem_line[160];
    const char *hdr[4] = {auth, NULL, NULL, NULL};
    sim_http_resp r;
    int rc, n = 1;

    *out = NULL;
    if (body != NULL)
        hdr[n++] = "Content-Type: application/json";
    if (idem != NULL) {
        snprintf(idem_line, sizeof(idem_line), "Idempotency-Key: %.120s", idem);
        hdr[n++] = idem_line;
    }
    rc = sim_httpc_request(c, method, path, hdr, body, body != NULL ? strlen(body) : 0, &r);
    if (rc < 0) {
        snprintf(err, err_len, "%s %s: %s", method, path, sim_httpc_strerror(rc));
        return -1;
    }
    if (r.status != want_status) {
        snprintf(err, err_len, "%s %s answered HTTP %d: %.200s%s%s%s", method, path, r.status,
                 r.body, r.status == 401 ? " - the token was not accepted" : "",
                 r.status == 403 ? " - this needs " : "", r.status == 403 ? role : "");
        sim_http_resp_free(&r);
        return -2;
    }
    *out = json_loadb(r.body, r.body_len, 0, NULL);
    sim_http_resp_free(&r);
    if (*out == NULL) {
        snprintf(err, err_len, "%s %s: the answer is not JSON", method, path);
        return -2;
    }
    return 0;
}

static int setup_get(sim_httpc *c, const lg_run *run, const char *path, json_t **out, char *err,
                     size_t err_len)
{
    int rc = lg_request_json(c, "GET", path, run->auth, NULL, NULL, 200, LG_ROLE_STAFF, out, err,
                             err_len);

    return rc == -1 ? SIM_LOADGEN_ECONNECT : rc < 0 ? SIM_LOADGEN_ESETUP : 0;
}

static int setup(lg_run *run, sim_httpc *c, char *err, size_t err_len)
{
    const sim_loadgen_opts *o = run->o;
    json_t *j = NULL, *arr;
    char today[16] = "";
    int rc;

    /* The service clock. */
    if ((rc = setup_get(c, run, "/v1/health", &j, err, err_len)) < 0)
        return rc;
    const char *now = json_string_value(json_object_get(j, "now"));
    const char *date = json_string_value(json_object_get(j, "service_date"));
    run->now0_ns = lg_mono_ns();
    run->now_s = iso_clock(now);
    snprintf(today, sizeof(today), "%s", date ? date : "");
    json_decref(j);
    if (run->now_s < 0 || strlen(today) != 10) {
        snprintf(err, err_len, "GET /v1/health: no \"now\" and \"service_date\" in the answer");
        return SIM_LOADGEN_ESETUP;
    }
    /* Service hours: the span of today's shifts. */
    if ((rc = setup_get(c, run, "/v1/shifts", &j, err, err_len)) < 0)
        return rc;
    run->start_s = 86400;
    run->end_s = 0;
    arr = json_object_get(j, "shifts");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *s = json_array_get(arr, i);
        const char *sd = json_string_value(json_object_get(s, "date"));
        int a = iso_clock(json_string_value(json_object_get(s, "start")));
        int b = iso_clock(json_string_value(json_object_get(s, "end")));
        if (sd == NULL || strcmp(sd, today) != 0 || a < 0 || b < 0)
            continue;
        if (a < run->start_s)
            run->start_s = a;
        if (b > run->end_s)
            run->end_s = b;
    }
    json_decref(j);
    if (run->end_s <= run->start_s) {
        run->start_s = run->now_s; /* no shifts today: everything "asap" */
        run->end_s = run->now_s;
    }
    /* Stops. */
    if ((rc = setup_get(c, run, "/v1/stops?limit=1000", &j, err, err_len)) < 0)
        return rc;
    arr = json_object_get(j, "stops");
    run->stops = calloc(json_array_size(arr) + 1, sizeof(*run->stops));
    if (run->stops == NULL) {
        json_decref(j);
        return SIM_LOADGEN_ENOMEM;
    }
    for (size_t i = 0; i < json_array_size(arr) && run->n_stops < LG_MAX_STOPS; i++) {
        json_t *s = json_array_get(arr, i);
        const char *id = json_string_value(json_object_get(s, "id"));
        const char *kind = json_string_value(json_object_get(s, "kind"));
        if (id == NULL || strlen(id) >= LG_ID_LEN || strpbrk(id, "\"\\") != NULL ||
            (kind != NULL && strcmp(kind, "depot") == 0))
            continue;
        snprintf(run->stops[run->n_stops++].s, LG_ID_LEN, "%s", id);
    }
    json_decref(j);
    if (run->n_stops < 2) {
        snprintf(err, err_len, "GET /v1/stops: fewer than two bookable stops");
        return SIM_LOADGEN_ESETUP;
    }
    /* Riders. */
    run->riders = calloc((size_t)o->n_riders, sizeof(*run->riders));
    if (run->riders == NULL)
        return SIM_LOADGEN_ENOMEM;
    for (int k = 0; k < o->n_riders; k++) {
        char body[320], idem[120];
        const char *id;
        snprintf(body, sizeof(body),
                 "{\"name\":\"Loadgen Rider %d\",\"name_kana\":\"ロードジェン\","
                 "\"phone\":\"000-%04d-%04d\",\"allow_duplicate\":true,"
                 "\"notes\":\"noriai loadgen %s\"}",
                 k + 1, k / 10000 % 10000, k % 10000, run->run_id);
        snprintf(idem, sizeof(idem), "lg-%s-r-%d", run->run_id, k);
        rc = lg_request_json(c, "POST", "/v1/riders", run->auth, idem, body, 201, LG_ROLE_STAFF,
                             &j, err, err_len);
        if (rc < 0)
            return rc == -1 ? SIM_LOADGEN_ECONNECT : SIM_LOADGEN_ESETUP;
        id = json_string_value(json_object_get(j, "id"));
        if (lg_id_ok(id, LG_ID_LEN) < 0) {
            snprintf(err, err_len, "POST /v1/riders: no usable \"id\" in the answer");
            json_decref(j);
            return SIM_LOADGEN_ESETUP;
        }
        snprintf(run->riders[k].s, LG_ID_LEN, "%s", id);
        json_decref(j);
        run->n_riders++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The run                                                                  */

static void progress_line(lg_run *run, int64_t *last_pairs, int sec)
{
    long long pairs = atomic_load(&run->p_pairs);
    long long lag = atomic_exchange(&run->p_lag_max_us, 0);

    fprintf(run->o->progress,
            "loadgen: %3ds  %5lld pairs/s  sent %lld  confirmed %lld  requests %lld  "
            "non-2xx %lld  errors %lld  max send lag %.1f ms\n",
            sec, pairs - (long long)*last_pairs, pairs, (long long)atomic_load(&run->p_confirmed),
            (long long)atomic_load(&run->p_requests), (long long)atomic_load(&run->p_non2xx),
            (long long)atomic_load(&run->p_errors), (double)lag / 1000.0);
    fflush(run->o->progress);
    *last_pairs = pairs;
}

static int check_opts(const sim_loadgen_opts *o, char *err, size_t err_len)
{
    const char *bad = NULL;

    if (o->host[0] == '\0' || o->port < 1 || o->port > 65535)
        bad = "a server address (host and port) is required";
    else if (o->token == NULL || o->token[0] == '\0' || strlen(o->token) > 200 ||
             strpbrk(o->token, "\r\n") != NULL)
        bad = "a bearer token (at most 200 characters) is required";
    else if (!(o->rate > 0) || o->rate > SIM_LOADGEN_MAX_RATE)
        bad = "the rate must be above 0 and at most 100000 pairs per second";
    else if (!(o->duration_s > 0) || o->duration_s > SIM_LOADGEN_MAX_DURATION_S)
        bad = "the duration must be above 0 and at most 86400 seconds";
    else if (o->n_threads < 1 || o->n_threads > SIM_LOADGEN_MAX_THREADS)
        bad = "threads must be 1 to 256";
    else if (o->n_riders < 1 || o->n_riders > SIM_LOADGEN_MAX_RIDERS)
        bad = "riders must be 1 to 100000";
    else if (!(o->cancel_share >= 0 && o->cancel_share <= 1) ||
             !(o->asap_share >= 0 && o->asap_share <= 1))
        bad = "shares must be between 0 and 1";
    else if (o->timeout_ms < 1)
        bad = "the timeout must be positive";
    else if (o->rate * o->duration_s < 0.5)
        bad = "rate x duration gives no pair at all";
    if (bad != NULL) {
        snprintf(err, err_len, "%s", bad);
        return SIM_LOADGEN_EINVAL;
    }
    return 0;
}

int sim_loadgen_run(const sim_loadgen_opts *o, sim_loadgen_result *r, char *err, size_t err_len)
{
    lg_run *run = NULL;
    lg_worker *w = NULL;
    sim_httpc *c = NULL;
    lg_hist *tot = NULL;
    int rc, started = 0;
    int64_t last_done = 0;

    memset(r, 0, sizeof(*r));
    if ((rc = check_opts(o, err, err_len)) < 0)
        return rc;
    run = calloc(1, sizeof(*run));
    w = calloc((size_t)o->n_threads, sizeof(*w));
    tot = calloc(5, sizeof(*tot));
    if (run == NULL || w == NULL || tot == NULL) {
        rc = SIM_LOADGEN_ENOMEM;
        goto out;
    }
    run->o = o;
    snprintf(run->auth, sizeof(run->auth), "Authorization: Bearer %s", o->token);
    {
        uint64_t x = (uint64_t)lg_mono_ns() ^ ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
        sim_rng g;
        sim_rng_seed(&g, x);
        snprintf(run->run_id, sizeof(run->run_id), "%012llx",
                 (unsigned long long)(sim_rng_next(&g) & 0xffffffffffffULL));
    }
    json_object_seed(0); /* before any thread uses jansson */
    if ((rc = sim_httpc_create(o->host, o->port, o->timeout_ms, &c)) < 0) {
        snprintf(err, err_len, "%s:%d: %s", o->host, o->port, sim_httpc_strerror(rc));
        rc = SIM_LOADGEN_EINVAL;
        goto out;
    }
    if ((rc = setup(run, c, err, err_len)) < 0)
        goto out;
    r->n_stops = run->n_stops;
    r->n_riders = run->n_riders;
    r->service_start_s = run->start_s;
    r->service_end_s = run->end_s;
    r->now_s = run->now_s;
    run->n_pairs = llround(o->rate * o->duration_s);
    for (int k = 0; k < o->n_threads; k++) {
        w[k].run = run;
        w[k].k = k;
        sim_rng_seed(&w[k].rng, (o->seed ? o->seed : (uint64_t)lg_mono_ns()) +
                                    0x9e3779b97f4a7c15ULL * (uint64_t)(k + 1));
        if ((rc = sim_httpc_create(o->host, o->port, o->timeout_ms, &w[k].c)) < 0) {
            rc = SIM_LOADGEN_ENOMEM;
            goto out;
        }
    }
    /* A short lead so every thread is waiting when the first slot comes. */
    run->t0_ns = lg_mono_ns() + 50000000LL;
    {
        double drain_s = o->duration_s < 2 ? 2 : o->duration_s > 10 ? 10 : o->duration_s;
        run->drain_end_ns = run->t0_ns + (int64_t)((o->duration_s + drain_s) * 1e9);
    }
    for (started = 0; started < o->n_threads; started++)
        if (pthread_create(&w[started].th, NULL, worker_main, &w[started]) != 0) {
            snprintf(err, err_len, "cannot start thread %d of %d", started + 1, o->n_threads);
            rc = SIM_LOADGEN_ETHREAD;
            break;
        }
    if (rc == 0 && o->progress != NULL) {
        /* Once a second until the schedule and its drain are over. */
        int64_t last_pairs = 0;
        for (int sec = 1;; sec++) {
            lg_sleep_until(run->t0_ns + (int64_t)sec * 1000000000LL);
            progress_line(run, &last_pairs, sec);
            if (atomic_load(&run->finished) == o->n_threads || lg_mono_ns() > run->drain_end_ns)
                break;
        }
    }
    for (int k = 0; k < started; k++)
        pthread_join(w[k].th, NULL);
    if (rc < 0)
        goto out;
    if (o->cleanup) {
        for (started = 0; started < o->n_threads; started++)
            if (pthread_create(&w[started].th, NULL, cleanup_main, &w[started]) != 0)
                break;
        for (int k = 0; k < started; k++)
            pthread_join(w[k].th, NULL);
    }
    /* Merge. */
    r->rate = o->rate;
    r->duration_s = o->duration_s;
    r->n_threads = o->n_threads;
    r->open_loop = o->open_loop;
    r->pairs_scheduled = run->n_pairs;
    for (int k = 0; k < o->n_threads; k++) {
        lg_worker *x = &w[k];
        hist_merge(&tot[0], &x->book);
        hist_merge(&tot[1], &x->confirm);
        hist_merge(&tot[2], &x->pair);
        hist_merge(&tot[3], &x->cancel);
        hist_merge(&tot[4], &x->lag);
        for (int s = 0; s < SIM_LOADGEN_N_STATUS; s++)
            r->by_status[s] += x->by_status[s];
        r->requests += x->requests;
        r->transport_errors += x->errors;
        r->pairs_sent += x->sent;
        r->pairs_confirmed += x->confirmed;
        r->pairs_missed += x->missed;
        r->bookings += x->sent;
        r->bookings_created += x->created;
        r->bookings_rejected += x->rejected;
        r->confirms += x->confirms;
        r->cancels += x->cancels;
        r->cleanup_cancels += x->cleanup_cancels;
        if (x->last_done_ns > last_done)
            last_done = x->last_done_ns;
        if (r->first_error[0] == '\0' && x->first_error[0] != '\0')
            snprintf(r->first_error, sizeof(r->first_error), "%s", x->first_error);
    }
    hist_summary(&tot[0], &r->booking);
    hist_summary(&tot[1], &r->confirm);
    hist_summary(&tot[2], &r->pair);
    hist_summary(&tot[3], &r->cancel);
    hist_summary(&tot[4], &r->lag);
    r->elapsed_s = last_done > run->t0_ns ? (double)(last_done - run->t0_ns) / 1e9 : 0;
    /* The schedule spans duration_s; an earlier finish still counts that long. */
    if (r->elapsed_s < o->duration_s)
        r->elapsed_s = o->duration_s;
    r->pairs_per_s = r->elapsed_s > 0 ? (double)r->pairs_confirmed / r->elapsed_s : 0;
    rc = 0;
out:
    sim_httpc_destroy(c);
    if (w != NULL)
        for (int k = 0; k < o->n_threads; k++) {
            sim_httpc_destroy(w[k].c);
            free(w[k].cq);
            free(w[k].kept);
        }
    if (run != NULL) {
        free(run->stops);
        free(run->riders);
    }
    free(tot);
    free(w);
    free(run);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

static void lat_line(FILE *f, const char *name, const sim_loadgen_lat *l)
{
    fprintf(f, "  %-10s %8lld %8.2f %8.2f %8.2f %8.2f %8.2f\n", name, (long long)l->n, l->mean_ms,
            l->p50_ms, l->p90_ms, l->p99_ms, l->max_ms);
}

void sim_loadgen_print(FILE *f, const sim_loadgen_result *r)
{
    int64_t non2xx = 0;

    fprintf(f,
            "noriai loadgen: %.1f pairs/s offered for %.1f s (%s loop), %d threads, %d riders, "
            "%d stops, service %02d:%02d-%02d:%02d, clock %02d:%02d\n",
            r->rate, r->duration_s, r->open_loop ? "open" : "closed", r->n_threads, r->n_riders,
            r->n_stops, r->service_start_s / 3600, r->service_start_s / 60 % 60,
            r->service_end_s / 3600, r->service_end_s / 60 % 60, r->now_s / 3600,
            r->now_s / 60 % 60);
    fprintf(f, "requests    %lld sent, %lld transport errors\n", (long long)r->requests,
            (long long)r->transport_errors);
    fprintf(f, "by status  ");
    for (int s = 0; s < SIM_LOADGEN_N_STATUS; s++)
        if (r->by_status[s] > 0) {
            fprintf(f, " %d: %lld", s, (long long)r->by_status[s]);
            if (s < 200 || s > 299)
                non2xx += r->by_status[s];
        }
    fprintf(f, "\n");
    fprintf(f,
            "pairs       %lld scheduled, %lld sent, %lld confirmed, %lld missed; "
            "%lld bookings refused (409); %.1f pairs/s achieved over %.2f s\n",
            (long long)r->pairs_scheduled, (long long)r->pairs_sent,
            (long long)r->pairs_confirmed, (long long)r->pairs_missed,
            (long long)r->bookings_rejected, r->pairs_per_s, r->elapsed_s);
    fprintf(f, "cancels     %lld during the run", (long long)r->cancels);
    if (r->cleanup_cancels > 0)
        fprintf(f, ", %lld in the cleanup after it", (long long)r->cleanup_cancels);
    fprintf(f, "\nlatency ms        n     mean      p50      p90      p99      max\n");
    lat_line(f, "booking", &r->booking);
    lat_line(f, "confirm", &r->confirm);
    lat_line(f, "pair", &r->pair);
    lat_line(f, "cancel", &r->cancel);
    lat_line(f, "send lag", &r->lag);
    if (r->first_error[0])
        fprintf(f, "first unexpected answer: %s\n", r->first_error);
    fprintf(f,
            "summary rate=%.0f achieved=%.1f pair_p50_ms=%.2f pair_p99_ms=%.2f "
            "booking_p99_ms=%.2f confirm_p99_ms=%.2f non2xx=%lld errors=%lld missed=%lld\n",
            r->rate, r->pairs_per_s, r->pair.p50_ms, r->pair.p99_ms, r->booking.p99_ms,
            r->confirm.p99_ms, (long long)non2xx, (long long)r->transport_errors,
            (long long)r->pairs_missed);
}

static json_t *lat_json(const sim_loadgen_lat *l)
{
    return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "n", (json_int_t)l->n, "mean_ms", l->mean_ms,
                     "p50_ms", l->p50_ms, "p90_ms", l->p90_ms, "p99_ms", l->p99_ms, "max_ms",
                     l->max_ms);
}

int sim_loadgen_print_json(FILE *f, const sim_loadgen_result *r)
{
    json_t *st = json_object(), *j;
    int rc;

    for (int s = 0; s < SIM_LOADGEN_N_STATUS; s++)
        if (r->by_status[s] > 0) {
            char k[16];
            snprintf(k, sizeof(k), "%d", s);
            json_object_set_new(st, k, json_integer(r->by_status[s]));
        }
    j = json_pack("{s:f,s:f,s:f,s:i,s:b,s:i,s:i,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:o,"
                  "s:{s:I,s:I,s:I},s:I,s:I,s:f,s:o,s:o,s:o,s:o,s:o,s:s}",
                  "rate", r->rate, "duration_s", r->duration_s, "elapsed_s", r->elapsed_s,
                  "threads", r->n_threads, "open_loop", r->open_loop, "riders", r->n_riders,
                  "stops", r->n_stops, "pairs", "scheduled", (json_int_t)r->pairs_scheduled,
                  "sent", (json_int_t)r->pairs_sent, "confirmed", (json_int_t)r->pairs_confirmed,
                  "missed", (json_int_t)r->pairs_missed, "requests", (json_int_t)r->requests,
                  "transport_errors", (json_int_t)r->transport_errors, "by_status", st,
                  "bookings", "sent", (json_int_t)r->bookings, "created",
                  (json_int_t)r->bookings_created, "refused", (json_int_t)r->bookings_rejected,
                  "cancels", (json_int_t)r->cancels, "cleanup_cancels",
                  (json_int_t)r->cleanup_cancels, "pairs_per_s", r->pairs_per_s, "booking",
                  lat_json(&r->booking), "confirm", lat_json(&r->confirm), "pair",
                  lat_json(&r->pair), "cancel", lat_json(&r->cancel), "send_lag",
                  lat_json(&r->lag), "first_error", r->first_error);
    if (j == NULL)
        return SIM_LOADGEN_ENOMEM;
    rc = json_dumpf(j, f, JSON_COMPACT) == 0 && fputc('\n', f) != EOF ? 0 : SIM_LOADGEN_EINVAL;
    json_decref(j);
    return rc;
}
