/*
 * metrics.c - GET /metrics in the Prometheus text exposition format
 * (version 0.0.4): HTTP requests by route and status class with latency
 * histograms, offers and rejections by reason, quotes, confirmations,
 * cancellations, expiries, re-plans, the store's commit latency, open
 * connections and bookings.
 *
 * Histograms use fixed buckets from 0.5 ms to 10 s; everything is counted on
 * the loop thread, so no locks.
 */
#include "api/server/srv_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double api_hist_bounds[API_HIST_BUCKETS] = {0.0005, 0.001, 0.002, 0.003, 0.004, 0.005,
                                                  0.0075, 0.01,  0.025, 0.05,  0.1,   0.25,
                                                  0.5,    1.0,   2.5,   5.0,   10.0,  30.0};

void api_hist_add(api_hist *h, double seconds)
{
    h->count++;
    h->sum += seconds;
    for (int i = 0; i < API_HIST_BUCKETS; i++)
        if (seconds <= api_hist_bounds[i]) {
            h->bucket[i]++;
            break;
        }
}

typedef struct buf {
    char *p;
    size_t n, cap;
    int failed;
} buf;

static void put(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->n) {
            b->n += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static void hist(buf *b, const char *name, const char *labels, const api_hist *h)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";

    for (int i = 0; i < API_HIST_BUCKETS; i++) {
        cum += h->bucket[i];
        put(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, api_hist_bounds[i],
            (unsigned long long)cum);
    }
    put(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)h->count);
    put(b, "%s_sum{%s} %.6f\n", name, labels, h->sum);
    put(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}

char *api_metrics_text(api_svc *s, size_t *len)
{
    static const char *const cls[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    const api_metrics *m = &s->m;
    buf b = {.p = malloc(16384), .cap = 16384};
    db_stats ds;

    if (b.p == NULL)
        return NULL;
    put(&b, "# HELP noriai_http_requests_total HTTP requests answered, by route and status "
            "class.\n# TYPE noriai_http_requests_total counter\n");
    for (int r = 0; r < api_route_count() && r < API_N_ROUTES_MAX; r++) {
        const char *method, *pattern;
        api_route_get(r, &method, &pattern);
        for (int k = 0; k < 6; k++)
            if (m->http_requests[r][k])
                put(&b, "noriai_http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %llu\n",
                    method, pattern, cls[k], (unsigned long long)m->http_requests[r][k]);
    }
    put(&b, "# HELP noriai_http_request_duration_seconds Time from the first byte of a request "
            "to its answer.\n# TYPE noriai_http_request_duration_seconds histogram\n");
    for (int r = 0; r < api_route_count() && r < API_N_ROUTES_MAX; r++) {
        const char *method, *pattern;
        char labels[160];
        api_route_get(r, &method, &pattern);
        if (m->http_latency[r].count == 0)
            continue;
        snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", method, pattern);
        hist(&b, "noriai_http_request_duration_seconds", labels, &m->http_latency[r]);
    }
    put(&b, "# HELP noriai_offers_total Booking requests answered by the dispatcher.\n"
            "# TYPE noriai_offers_total counter\nnoriai_offers_total %llu\n",
        (unsigned long long)m->offers);
    put(&b, "# HELP noriai_offers_rejected_total Booking requests nothing could take, by "
            "reason.\n# TYPE noriai_offers_rejected_total counter\n");
    for (int r = 1; r < 7; r++)
        put(&b, "noriai_offers_rejected_total{reason=\"%s\"} %llu\n",
            dsp_reason_name((dsp_reason)r), (unsigned long long)m->offers_rejected[r]);
    put(&b, "# TYPE noriai_quotes_total counter\nnoriai_quotes_total %llu\n",
        (unsigned long long)m->quotes);
    put(&b, "# TYPE noriai_confirmations_total counter\nnoriai_confirmations_total %llu\n",
        (unsigned long long)m->confirms);
    put(&b, "# TYPE noriai_cancellations_total counter\nnoriai_cancellations_total %llu\n",
        (unsigned long long)m->cancels);
    put(&b, "# TYPE noriai_offers_expired_total counter\nnoriai_offers_expired_total %llu\n",
        (unsigned long long)s->core->m.expired);
    put(&b, "# HELP noriai_offer_duration_seconds Dispatcher time to answer one request.\n"
            "# TYPE noriai_offer_duration_seconds histogram\n");
    hist(&b, "noriai_offer_duration_seconds", "", &m->offer_latency);
    put(&b, "# HELP noriai_solver_runs_total Re-plans run (LNS + GLPK), by outcome.\n"
            "# TYPE noriai_solver_runs_total counter\n"
            "noriai_solver_runs_total{outcome=\"started\"} %llu\n"
            "noriai_solver_runs_total{outcome=\"improved\"} %llu\n"
            "noriai_solver_runs_total{outcome=\"stale\"} %llu\n"
            "noriai_solver_runs_total{outcome=\"failed\"} %llu\n",
        (unsigned long long)s->core->m.replans, (unsigned long long)s->core->m.replans_adopted,
        (unsigned long long)s->core->m.replans_stale, (unsigned long long)s->core->m.replans_failed);
    put(&b, "# TYPE noriai_solver_duration_seconds histogram\n");
    hist(&b, "noriai_solver_duration_seconds", "", &m->replan_latency);
    memset(&ds, 0, sizeof(ds));
    if (s->db != NULL)
        db_stats_get(s->db, &ds);
    put(&b, "# HELP noriai_db_transactions_total Store transactions, by outcome.\n"
            "# TYPE noriai_db_transactions_total counter\n"
            "noriai_db_transactions_total{outcome=\"committed\"} %llu\n"
            "noriai_db_transactions_total{outcome=\"failed\"} %llu\n"
            "# TYPE noriai_db_group_commits_total counter\nnoriai_db_group_commits_total %llu\n"
            "# TYPE noriai_db_reconnects_total counter\nnoriai_db_reconnects_total %llu\n",
        (unsigned long long)ds.txns_ok, (unsigned long long)ds.txns_failed,
        (unsigned long long)ds.groups, (unsigned long long)ds.reconnects);
    put(&b, "# HELP noriai_db_commit_duration_seconds Submit to commit of store transactions.\n"
            "# TYPE noriai_db_commit_duration_seconds histogram\n");
    {
        uint64_t cum = 0;
        for (int i = 0; i < 15; i++) {
            cum += ds.latency_hist[i];
            put(&b, "noriai_db_commit_duration_seconds_bucket{le=\"%g\"} %llu\n",
                (double)(1u << i) * 100e-6, (unsigned long long)cum);
        }
        cum += ds.latency_hist[15];
        put(&b, "noriai_db_commit_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)cum);
        put(&b, "noriai_db_commit_duration_seconds_sum %.6f\n",
            (double)ds.latency_us_sum / 1e6);
        put(&b, "noriai_db_commit_duration_seconds_count %llu\n", (unsigned long long)ds.txns_ok);
    }
    put(&b, "# TYPE noriai_db_up gauge\nnoriai_db_up %d\n", api_store_ready(s));
    put(&b, "# TYPE noriai_http_connections gauge\nnoriai_http_connections %d\n",
        s->http ? api_http_n_connections(s->http) : 0);
    put(&b, "# TYPE noriai_commits_failed_total counter\nnoriai_commits_failed_total %llu\n",
        (unsigned long long)s->core->m.commits_failed);
    put(&b, "# HELP noriai_events_lost_total Booking events not queued for want of memory (their "
            "bookings' rows were stored again).\n# TYPE noriai_events_lost_total counter\n"
            "noriai_events_lost_total %llu\n",
        (unsigned long long)s->core->m.events_lost);
    put(&b, "# HELP noriai_idempotency_refused_total Idempotency records the store refused for "
            "good (dropped, not retried).\n# TYPE noriai_idempotency_refused_total counter\n"
            "noriai_idempotency_refused_total %llu\n",
        (unsigned long long)s->core->m.idem_refused);
    put(&b, "# TYPE noriai_bookings_not_restored_total counter\n"
            "noriai_bookings_not_restored_total %llu\n",
        (unsigned long long)s->core->m.not_restored);
    put(&b, "# TYPE noriai_http_refused_connections_total counter\n"
            "noriai_http_refused_connections_total %llu\n",
        (unsigned long long)(s->http ? api_http_n_refused(s->http) : 0));
    {
        int64_t by[DSP_STATUS_COUNT] = {0};
        for (int i = 0; i < SVC_MAX_DAYS; i++) {
            const svc_day *d = &s->core->days[i];
            if (!d->used)
                continue;
            for (int64_t k = 0; k < d->cap_idx; k++) {
                dsp_booking_info bi;
                if (d->by_idx[k] != NULL && dsp_booking_get(d->dsp, k, &bi) == 0)
                    by[bi.status]++;
            }
        }
        put(&b, "# HELP noriai_bookings Live bookings by status (today and days ahead).\n"
                "# TYPE noriai_bookings gauge\n");
        for (int k = 0; k < DSP_STATUS_COUNT; k++)
            put(&b, "noriai_bookings{status=\"%s\"} %lld\n", dsp_status_name((dsp_status)k),
                (long long)by[k]);
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}
