/*
 * svc_restore.c - the start: the store is the truth, and the service's
 * memory is rebuilt from it before anything is served.
 *
 * In order: the fleet is upserted (so bookings and plans may name its
 * vans); rider ids, the last 24 hours of idempotency records and every
 * van's stored plan seq are loaded (seqs continue where they stopped, so a
 * tablet never sees a number go back); vans taken out of service today stay
 * out; then every open booking (offered, confirmed, assigned, picked up) of
 * today and later is put back into the dispatcher with its stored promise
 * (dsp_booking_restore), riders on board first, offers last.
 *
 * A booking no van can take any more is never left as it was (acknowledged
 * offers once stayed "offered" forever, could be neither confirmed nor
 * cancelled, and failed again at every start):
 *   - an offer expires: its row and one event, as the tick would have done;
 *   - a confirmed trip whose promised window ended while the daemon was
 *     down, or that fits no van, keeps its status and is marked for the
 *     operators (attention "not_planned", with one event), who call the
 *     rider; it is listed and can be cancelled.  A later start that fails
 *     again adds nothing (the mark is made once); one that places it clears
 *     the mark with the booking's next row.
 * Riders on board are always put back (they are in the van).
 *
 * All of this uses the store's blocking calls: the loop does not run yet.
 */
#include "dispatcher/svc_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/db/db_err.h" /* DB_E codes */

typedef struct load_ctx {
    svc *s;
    int n, failed, not_restored;
    char err[256];
} load_ctx;

static void row_rider(void *ud, const char *id)
{
    load_ctx *c = ud;

    if (svc_rider_add(c->s, id) < 0)
        c->failed = 1;
    c->n++;
}

static void row_idem(void *ud, const store_idem_row *r)
{
    load_ctx *c = ud;
    svc_idem *e;
    svc_idem_state st = svc_idem_begin(c->s, r->token_id, r->key, r->request_sha256, &e);

    if (st != SVC_IDEM_NEW) {
        if (st == SVC_IDEM_NOMEM)
            c->failed = 1;
        return; /* a key stored before the rules were checked: not kept */
    }
    if ((e->body = strdup(r->response ? r->response : "")) == NULL) {
        svc_idem_drop(c->s, e);
        c->failed = 1;
        return;
    }
    e->status = r->status;
    e->created = r->created_unix;
    snprintf(e->method, sizeof(e->method), "%s", r->method ? r->method : "");
    svc_text_copy(e->path, sizeof(e->path), r->path ? r->path : "");
    e->done = 1;
    c->n++;
}

static void row_seq(void *ud, const char *vehicle_id, const char *date, int64_t seq)
{
    load_ctx *c = ud;
    char key[80];

    snprintf(key, sizeof(key), "%s\n%s", vehicle_id, date);
    if (svc_map_put(&c->s->seq_loaded, key, (void *)(intptr_t)seq) < 0)
        c->failed = 1;
}

static void row_out_of_service(void *ud, const char *vehicle_id)
{
    load_ctx *c = ud;
    svc_day *d;
    int k;

    if ((k = svc_vehicle_index(c->s, vehicle_id)) < 0 || (d = svc_day_today(c->s, 1)) == NULL)
        return;
    if (dsp_vehicle_out_of_service(d->dsp, svc_day_now(c->s, d), k) == 0)
        c->n++;
}

static int place_from_row(const svc *s, const char *stop, double lat, double lon, dsp_place *p)
{
    int k = svc_stop_index(s, stop);

    if (k >= 0) {
        p->stop = k;
        p->lat = s->area->stops[k].lat;
        p->lon = s->area->stops[k].lon;
        return 0;
    }
    if (s->area->time_s != NULL || isnan(lat) || isnan(lon))
        return -1;
    p->stop = -1;
    p->lat = lat;
    p->lon = lon;
    return 0;
}

/* Marks a stored open booking that could not be put back (see the essay). */
static void not_restored(load_ctx *c, const store_booking_row *r, int now_s, const char *why)
{
    svc *s = c->s;
    char key[40];
    store_txn *t;
    int offer = strcmp(r->status, "offered") == 0, rc;

    c->not_restored++;
    s->m.not_restored++;
    if (svc_random_id("rs_", key, sizeof(key)) < 0 || (t = s->st.ops->txn_new(s->st.ctx)) == NULL)
        return; /* stays as it is; tried again at the next start */
    rc = offer ? s->st.ops->end_stored_booking(t, r->id, "offered", "expired", now_s,
                                               "not_restored", "restore", key)
               : s->st.ops->mark_attention(t, r->id, r->status, "not_planned", now_s, "restore",
                                           key);
    if (rc == 0)
        rc = s->st.ops->exec_txn_blocking(s->st.ctx, t, c->err, sizeof(c->err));
    else
        s->st.ops->txn_free(t);
    if (rc < 0)
        svc_log(s, 0, "could not mark a booking that was not restored", r->id, c->err);
    else
        svc_log(s, 1, offer ? "offer not restored: expired" : "trip not restored: for the operators",
                r->id, why);
}

static void row_booking(void *ud, const store_booking_row *r)
{
    load_ctx *c = ud;
    svc *s = c->s;
    dsp_request req;
    dsp_restore rs;
    svc_day *d;
    svc_bk *b;
    int64_t idx;
    int rc, now;

    memset(&req, 0, sizeof(req));
    memset(&rs, 0, sizeof(rs));
    d = svc_day_get(s, r->date, 1);
    if (d == NULL) {
        svc_log(s, 1, "booking of a day outside the horizon not restored", r->id, r->date);
        return;
    }
    now = svc_day_now(s, d);
    if (place_from_row(s, r->pickup_stop, r->pickup_lat, r->pickup_lon, &req.pickup) < 0 ||
        place_from_row(s, r->drop_stop, r->drop_lat, r->drop_lon, &req.drop) < 0) {
        c->failed++;
        not_restored(c, r, now, "its stops are not in this area");
        return;
    }
    rs.req = &req;
    rs.status = (dsp_status)dsp_status_parse(r->status);
    /* The promised window ended while the daemon was down: a van arriving
     * hours late is no keeping of the promise; the operators call. */
    if ((rs.status == DSP_CONFIRMED || rs.status == DSP_ASSIGNED) && r->promise_to_s >= 0 &&
        r->promise_to_s < now) {
        not_restored(c, r, now, "the promised pickup window has passed");
        return;
    }
    req.ext_id = r->id;
    req.when = strcmp(r->when_kind, "depart_after") == 0 ? DSP_DEPART_AFTER
               : strcmp(r->when_kind, "arrive_by") == 0  ? DSP_ARRIVE_BY
                                                         : DSP_ASAP;
    req.time_s = r->time_s >= 0 ? r->time_s : 0;
    req.passengers = r->passengers;
    req.wheelchairs = r->wheelchairs;
    rs.requested_s = r->requested_s;
    rs.expires_s = r->expires_s >= 0 ? r->expires_s : r->requested_s + s->cfg.rules.offer_ttl_s;
    rs.promise_from_s = r->promise_from_s >= 0 ? r->promise_from_s : 0;
    rs.promise_to_s = r->promise_to_s >= 0 ? r->promise_to_s : 0;
    rs.latest_dropoff_s = r->latest_dropoff_s >= 0 ? r->latest_dropoff_s : 0;
    rs.vehicle = svc_vehicle_index(s, r->vehicle_id);
    rs.pickup_s = r->pickup_s;
    rc = dsp_booking_restore(d->dsp, now, &rs, &idx);
    if (rc < 0) {
        c->failed++;
        not_restored(c, r, now, dsp_strerror(rc));
        return;
    }
    b = svc_bk_new(s, d, idx, r->rider_id, r->notes);
    if (b == NULL) {
        c->failed++;
        return;
    }
    /* Keep the stored identity. */
    svc_map_del(&s->bookings, b->id);
    snprintf(b->id, sizeof(b->id), "%s", r->id);
    snprintf(b->created_by, sizeof(b->created_by), "%s", r->created_by ? r->created_by : "");
    if (svc_map_put(&s->bookings, b->id, b) < 0)
        c->failed++;
    svc_mark_row(s, b);
    s->m.restored++;
    c->n++;
}

static int upsert_fleet(svc *s, char *err, size_t err_len)
{
    store_vehicle_row *rows = calloc((size_t)s->cfg.n_vehicles + 1, sizeof(*rows));
    char(*configs)[256] = calloc((size_t)s->cfg.n_vehicles + 1, sizeof(*configs));
    int rc = DB_ENOMEM;

    if (rows == NULL || configs == NULL)
        goto out;
    for (int v = 0; v < s->cfg.n_vehicles; v++) {
        const svc_vehicle_def *f = &s->cfg.vehicles[v];
        int stop = svc_depot_of(s, f);
        size_t n = 0;
        n += (size_t)snprintf(configs[v] + n, sizeof(configs[v]) - n, "[");
        for (int k = 0; k < f->n_configs && n < sizeof(configs[v]); k++)
            n += (size_t)snprintf(configs[v] + n, sizeof(configs[v]) - n,
                                  "%s{\"seats\":%d,\"wheelchairs\":%d}", k ? "," : "",
                                  f->seats[k], f->wheelchairs[k]);
        if (n < sizeof(configs[v]))
            snprintf(configs[v] + n, sizeof(configs[v]) - n, "]");
        rows[v].id = f->id;
        rows[v].configs = configs[v];
        rows[v].depot_lat = s->area->stops[stop].lat;
        rows[v].depot_lon = s->area->stops[stop].lon;
        rows[v].depot_stop = s->area->stops[stop].id;
    }
    rc = s->st.ops->upsert_fleet(s->st.ctx, rows, s->cfg.n_vehicles, err, err_len);
out:
    free(rows);
    free(configs);
    return rc;
}

int svc_restore(svc *s, char *err, size_t err_len)
{
    const store_ops *o = s->st.ops;
    load_ctx c = {.s = s};
    char today[11], msg[128];
    int rc;

    if ((rc = upsert_fleet(s, err, err_len)) < 0)
        return rc;
    if ((rc = o->load_rider_ids(s->st.ctx, row_rider, &c, err, err_len)) < 0)
        return rc;
    if ((rc = o->load_idem(s->st.ctx, 24, row_idem, &c, err, err_len)) < 0)
        return rc;
    if ((rc = o->load_plan_seqs(s->st.ctx, row_seq, &c, err, err_len)) < 0)
        return rc;
    if (c.failed) {
        snprintf(err, err_len, "out of memory loading riders, keys and plan numbers");
        return DB_ENOMEM;
    }
    svc_today(s, today);
    /* Vans taken out of service today stay out: before the bookings come
     * back, so none is planned onto them. */
    c.n = 0;
    if ((rc = o->load_out_of_service(s->st.ctx, today, row_out_of_service, &c, err, err_len)) < 0)
        return rc;
    c.n = 0;
    c.failed = 0;
    snprintf(s->actor, sizeof(s->actor), "restore");
    if ((rc = o->load_open_bookings(s->st.ctx, today, row_booking, &c, err, err_len)) < 0)
        return rc;
    snprintf(msg, sizeof(msg), "restored %d, not restored %d, failed %d", c.n, c.not_restored,
             c.failed);
    svc_log(s, 2, "open bookings restored", NULL, msg);
    /* Offers whose time ran out while the daemon was down expire now. */
    for (int i = 0; i < SVC_MAX_DAYS; i++)
        if (s->days[i].used)
            dsp_tick(s->days[i].dsp, svc_day_now(s, &s->days[i]));
    snprintf(s->actor, sizeof(s->actor), "system");
    return 0;
}
