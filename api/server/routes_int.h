/*
 * routes_int.h - private to the /v1 API's files: the request context, the
 * answers, the input helpers (routes.c) and the handlers by resource
 * (r_bookings.c, r_riders.c, r_fleet.c, r_admin.c).
 *
 * A handler gets an rctx with the caller's token (a copy: a revoke may free
 * the map's entry while the request waits for the store), the path's
 * parameters and, for POST, the idempotency record; it answers exactly once,
 * with rt_reply/rt_err (nothing changed) or rt_commit_reply (a change made
 * in memory: answered after svc_commit stored it), which free the context.
 */
#ifndef NORIAI_ROUTES_INT_H
#define NORIAI_ROUTES_INT_H

#include "api/server/srv_int.h"

typedef struct rctx rctx;
typedef void (*handler_fn)(rctx *c);

typedef struct route {
    const char *method, *pattern; /* '*' matches one path segment */
    int roles;
    handler_fn fn;
} route;

struct rctx {
    api_svc *s;
    api_http_req *req;
    int route;
    const api_token *tok; /* &tok_copy: the map's entry may be freed by a revoke meanwhile */
    api_token tok_copy;
    char param[2][128];
    int n_param;
    json_t *body;
    /* idempotency */
    svc_idem *idem;
    /* the answer waiting for its commit */
    int status;
    char *out;
    char extra[160];
    /* a token being created: stored in the map once committed */
    api_token *new_tok;
    char tok_sha[65];
};

#define ALL_ROLES                                                                                  \
    (API_ROLE_ADMIN | API_ROLE_OPERATOR | API_ROLE_RIDER | API_ROLE_DRIVER | API_ROLE_PLANNER)
#define STAFF (API_ROLE_ADMIN | API_ROLE_OPERATOR)
#define READERS (API_ROLE_ADMIN | API_ROLE_OPERATOR | API_ROLE_PLANNER)

/* ---- answers (routes.c) ---- */
void rt_free(rctx *c);
/* Counts the answer in the metrics (by route and status class). */
void rt_record(rctx *c, int status);
void rt_send_raw(rctx *c, int status, const char *body, const char *extra);
void rt_idem_drop(rctx *c); /* nothing changed: the key may be used again */
/* Answers with body j (taken) and frees the context. */
void rt_reply(rctx *c, int status, json_t *j, const char *extra);
json_t *rt_err_json(const char *code, const char *msg);
void rt_err(rctx *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rt_unavailable(rctx *c);
/* 1 (answered 503) when the store takes no writes now. */
int rt_store_down(rctx *c);
/* The change is made in memory; commit it (with the caller's own records
 * in txn, may be NULL; taken), then answer status/j. */
void rt_commit_reply(rctx *c, store_txn *txn, int status, json_t *j, const char *extra);
void rt_commit_reply_cb(rctx *c, store_txn *txn, int status, json_t *j, const char *extra,
                        svc_commit_cb cb);
/* The commit callback that answers (a callback of its own ends with it). */
void rt_after_commit(void *ud, int rc);
int rt_is_cancel(const rctx *c);

/* ---- input (routes.c): 0, or -1 answered 400 ---- */
int rt_body(rctx *c, int required);
int rt_keys(rctx *c, json_t *o, const char *where, const char *const *names);
int rt_str(rctx *c, json_t *o, const char *key, size_t max_chars, const char **out);
int rt_id(rctx *c, json_t *o, const char *key, size_t max_bytes, const char **out);
int rt_int(rctx *c, json_t *o, const char *key, int lo, int hi, int *out);
int rt_has_control(const char *s);

/* ---- handlers ---- */
/* r_bookings.c */
void h_quote(rctx *c);
void h_book(rctx *c);
void h_booking_get(rctx *c);
void h_confirm(rctx *c);
void h_cancel(rctx *c);
void h_bookings_list(rctx *c);
/* r_riders.c */
void h_rider_create(rctx *c);
void h_riders(rctx *c);
/* r_fleet.c */
void h_vehicles(rctx *c);
void h_vehicle(rctx *c);
void h_plan(rctx *c);
void h_out_of_service(rctx *c);
void h_shifts(rctx *c);
void h_stops(rctx *c);
/* r_admin.c */
void h_token_create(rctx *c);
void h_token_revoke(rctx *c);
void h_health(rctx *c);
void h_metrics(rctx *c);
void h_driver_ws(rctx *c);
void h_openapi(rctx *c);

#endif
