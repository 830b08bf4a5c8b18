/*
 * r_admin.c - tokens (create: shown once, stored hashed; revoke: the
 * token's tablets closed at once), health, metrics, the driver channel's
 * upgrade and the OpenAPI document.
 */
#include "api/server/routes_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/area/sha256.h"

extern const char *const api_doc_texts[]; /* api/openapi.json, built in */

static void token_committed(void *ud, int rc)
{
    rctx *c = ud;

    if (rc == 0 && svc_map_put(&c->s->tokens, c->tok_sha, c->new_tok) == 0)
        c->new_tok = NULL; /* the map has it now */
    rt_after_commit(ud, rc);
}

void h_token_create(rctx *c)
{
    static const char *const keys[] = {"role", "rider_id", "vehicle_id", "label", NULL};
    const char *role, *rider, *veh, *label;
    char tok[64], tid[40], sha[65];
    api_token *t;
    store_txn *txn;
    store st = api_store(c->s);
    int r;

    if (rt_body(c, 1) < 0 || rt_keys(c, c->body, "body", keys) < 0 ||
        rt_id(c, c->body, "role", 20, &role) < 0 ||
        rt_id(c, c->body, "rider_id", 39, &rider) < 0 ||
        rt_id(c, c->body, "vehicle_id", 47, &veh) < 0 ||
        rt_str(c, c->body, "label", 100, &label) < 0)
        return;
    if (role == NULL || (r = api_role_parse(role)) == 0) {
        rt_err(c, 400, "invalid_field",
                  "\"role\" must be admin, operator, rider, driver or planner");
        return;
    }
    if ((r == API_ROLE_RIDER) != (rider != NULL) || (r == API_ROLE_DRIVER) != (veh != NULL)) {
        rt_err(c, 400, "invalid_field",
                  "a rider token needs \"rider_id\", a driver token \"vehicle_id\", others neither");
        return;
    }
    if (rider != NULL && svc_map_get(&c->s->core->riders, rider) == NULL) {
        rt_err(c, 422, "unknown_rider", "no rider \"%s\"", rider);
        return;
    }
    if (veh != NULL && svc_vehicle_index(c->s->core, veh) < 0) {
        rt_err(c, 422, "unknown_vehicle", "no vehicle \"%s\"", veh);
        return;
    }
    if (rt_store_down(c))
        return;
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        rt_err(c, 503, "unavailable", "out of memory; nothing was created, try again shortly");
        return;
    }
    if (svc_random_id("nt_", tok, sizeof(tok)) < 0 || svc_random_id("tk_", tid, 20) < 0) {
        free(t);
        rt_err(c, 503, "unavailable",
                  "no randomness for a safe token; nothing was created, try again shortly");
        return;
    }
    area_sha256_hex(tok, strlen(tok), sha);
    snprintf(t->id, sizeof(t->id), "%s", tid);
    t->role = r;
    snprintf(t->rider_id, sizeof(t->rider_id), "%s", rider ? rider : "");
    snprintf(t->vehicle_id, sizeof(t->vehicle_id), "%s", veh ? veh : "");
    store_token_row tr = {.id = tid,
                          .token_sha256 = sha,
                          .role = role,
                          .rider_id = rider,
                          .vehicle_id = veh,
                          .label = label ? label : ""};
    txn = st.ops->txn_new(st.ctx);
    if (txn == NULL || st.ops->put_token(txn, &tr) < 0) {
        if (txn)
            st.ops->txn_free(txn);
        free(t);
        rt_err(c, 500, "internal", "out of memory");
        return;
    }
    /* The token is shown once, in this answer: a replay must not show it
     * again, so token creation keeps no idempotency record. */
    rt_idem_drop(c);
    c->new_tok = t;
    snprintf(c->tok_sha, sizeof(c->tok_sha), "%s", sha);
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o}", "id", tid, "token", tok, "role", role,
                          "rider_id", rider ? json_string(rider) : json_null(), "vehicle_id",
                          veh ? json_string(veh) : json_null());
    rt_commit_reply_cb(c, txn, 201, j, NULL, token_committed);
}

static void token_revoked(void *ud, int rc)
{
    rctx *c = ud;

    if (rc == 0) {
        api_token *t = svc_map_del(&c->s->tokens, c->tok_sha);
        /* Its open tablet connections end now: a revoked token must stop
         * receiving riders' names and phone numbers at once. */
        if (t != NULL)
            api_driver_token_revoked(c->s, t->id);
        free(t);
    }
    rt_after_commit(ud, rc);
}

void h_token_revoke(rctx *c)
{
    char sha[65] = "";
    const api_token *t = NULL;
    store_txn *txn;
    store st = api_store(c->s);

    if (rt_body(c, 0) < 0)
        return;
    for (size_t i = 0; i < c->s->tokens.cap && t == NULL; i++) {
        const svc_map_slot *sl = &c->s->tokens.slots[i];
        const api_token *x = sl->val;
        if (x != NULL && strcmp(x->id, c->param[0]) == 0) {
            t = x;
            snprintf(sha, sizeof(sha), "%s", sl->key);
        }
    }
    if (t == NULL) {
        rt_err(c, 404, "not_found", "no live token \"%s\"", c->param[0]);
        return;
    }
    if (strcmp(t->id, c->tok->id) == 0) {
        rt_err(c, 409, "invalid_state", "a token cannot revoke itself");
        return;
    }
    if (rt_store_down(c))
        return;
    txn = st.ops->txn_new(st.ctx);
    if (txn == NULL || st.ops->revoke_token(txn, c->param[0]) < 0) {
        if (txn != NULL)
            st.ops->txn_free(txn);
        rt_err(c, 500, "internal", "out of memory");
        return;
    }
    snprintf(c->tok_sha, sizeof(c->tok_sha), "%s", sha);
    rt_commit_reply_cb(c, txn, 200,
                         json_pack("{s:s,s:s,s:b}", "id", c->param[0], "role",
                                   api_role_name(t->role), "revoked", 1),
                         NULL, token_revoked);
}

void h_health(rctx *c)
{
    char today[11], now[40];
    int ready = api_store_ready(c->s);
    int64_t open = (int64_t)c->s->core->bookings.n; /* live bookings of today and days ahead */

    svc_today(c->s->core, today);
    svc_unix_iso(svc_unix_now(c->s->core), now, sizeof(now));
    rt_reply(c, ready ? 200 : 503,
          json_pack("{s:s,s:b,s:s,s:s,s:I,s:i,s:I}", "status", ready ? "ok" : "degraded",
                    "database", ready, "service_date", today, "now", now, "uptime_s",
                    (json_int_t)(time(NULL) - c->s->started), "vehicles", c->s->cfg.n_vehicles,
                    "bookings", (json_int_t)open),
          NULL);
}

void h_metrics(rctx *c)
{
    size_t len;
    char *txt = api_metrics_text(c->s, &len);

    rt_record(c, txt ? 200 : 500);
    if (txt == NULL)
        api_http_respond(c->req, 500, "text/plain", "out of memory\n", 14, NULL);
    else
        api_http_respond(c->req, 200, "text/plain; version=0.0.4", txt, len, NULL);
    free(txt);
    rt_free(c);
}

void h_driver_ws(rctx *c)
{
    api_http_req *req = c->req;

    rt_record(c, 101);
    c->req = NULL;
    api_driver_upgrade(c->s, c->tok, req);
    rt_free(c);
}

void h_openapi(rctx *c)
{
    rt_record(c, 200);
    api_http_respond(c->req, 200, "application/json", api_doc_texts[0], strlen(api_doc_texts[0]),
                     NULL);
    rt_free(c);
}
