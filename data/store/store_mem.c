/*
 * store_mem.c - the store interface (store.h) in memory, for the simulator
 * and unit tests: the same records and the same rules as the PostgreSQL
 * store (data/db/db_store.c), without a database.
 *
 * Tables are growable arrays of records that own their strings.  The rules
 * are the SQL's: bookings are upserted by id (only the columns a booking's
 * life changes are replaced, attention cleared), booking events, idempotency
 * records and driver events are kept once per key, plans keep the newest
 * seq, riders and tokens are inserts (a duplicate id - or token hash - is
 * DB_ECONFLICT for the whole transaction), references to vehicles and riders
 * must exist and NOT NULL / CHECK columns are checked (DB_EQUERY), so a
 * caller that works against this store does not fail on the real one for a
 * reason this one hid.  Text columns that are NOT NULL DEFAULT '' in SQL are
 * kept as "" when given NULL, references given as "" as NULL, as
 * db_store.c sends them.  Coordinates are kept exact (PostgreSQL gets them
 * rounded to 1e-7 degrees).
 *
 * Time: submitted transactions and reads wait in one queue; store_mem_pump
 * runs them in order of submission, so a commit happens at the pump (a read
 * queued after a write sees it) and no callback ever runs inside a submit.
 * Whatever a callback submits waits for the next pump.
 *
 * A transaction is all or nothing: first every check and allocation (table
 * growth, the dates of derived events), then the changes, which cannot
 * fail.  Failure injection decides at submission: the next n transactions
 * fail with the given rc (DB_EUNKNOWN: applied, but reported unknown), and
 * while "unavailable" every submission and read fails DB_EUNAVAIL, as does
 * every blocking call.
 *
 * Cost: look-ups are linear scans (a test or a simulated day holds
 * thousands of rows, not millions); reads sort their answer.
 */
#include "data/db/db_err.h"
#include "data/store/store.h"
#include "data/text/jtext.h"
#include "solver/errf.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- records that own their strings ---- */

#define OFF(type, field) offsetof(type, field)

static const size_t booking_strs[] = {
    OFF(store_booking_row, id),         OFF(store_booking_row, date),
    OFF(store_booking_row, rider_id),   OFF(store_booking_row, created_by),
    OFF(store_booking_row, status),     OFF(store_booking_row, pickup_stop),
    OFF(store_booking_row, drop_stop),  OFF(store_booking_row, when_kind),
    OFF(store_booking_row, vehicle_id), OFF(store_booking_row, reason),
    OFF(store_booking_row, notes),      OFF(store_booking_row, attention)};
static const size_t event_strs[] = {
    OFF(store_event_row, booking_id), OFF(store_event_row, date),
    OFF(store_event_row, kind),       OFF(store_event_row, from_status),
    OFF(store_event_row, to_status),  OFF(store_event_row, vehicle_id),
    OFF(store_event_row, detail),     OFF(store_event_row, actor),
    OFF(store_event_row, event_key)};
static const size_t plan_strs[] = {OFF(store_plan_row, vehicle_id), OFF(store_plan_row, date),
                                   OFF(store_plan_row, stops)};
static const size_t idem_strs[] = {
    OFF(store_idem_row, token_id),       OFF(store_idem_row, key),
    OFF(store_idem_row, method),         OFF(store_idem_row, path),
    OFF(store_idem_row, request_sha256), OFF(store_idem_row, response)};
static const size_t drv_strs[] = {
    OFF(store_driver_event_row, vehicle_id), OFF(store_driver_event_row, event_id),
    OFF(store_driver_event_row, kind),       OFF(store_driver_event_row, booking_id),
    OFF(store_driver_event_row, date),       OFF(store_driver_event_row, result)};
static const size_t rider_strs[] = {
    OFF(store_rider_row, id),           OFF(store_rider_row, name),
    OFF(store_rider_row, name_kana),    OFF(store_rider_row, phone),
    OFF(store_rider_row, phone_digits), OFF(store_rider_row, home_address),
    OFF(store_rider_row, home_stop_id), OFF(store_rider_row, mobility),
    OFF(store_rider_row, notes),        OFF(store_rider_row, created),
    OFF(store_rider_row, name_fold),    OFF(store_rider_row, merged_into)};
static const size_t token_strs[] = {
    OFF(store_token_row, id),         OFF(store_token_row, token_sha256),
    OFF(store_token_row, role),       OFF(store_token_row, rider_id),
    OFF(store_token_row, vehicle_id), OFF(store_token_row, label)};
static const size_t vehicle_strs[] = {OFF(store_vehicle_row, id), OFF(store_vehicle_row, configs),
                                      OFF(store_vehicle_row, depot_stop)};

#define NSTRS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char **field(void *rec, size_t off)
{
    return (const char **)(void *)((char *)rec + off);
}

static void rec_free(void *rec, const size_t *offs, int n)
{
    for (int i = 0; i < n; i++) {
        const char **f = field(rec, offs[i]);
        free((char *)*f);
        *f = NULL;
    }
}

/* A deep copy of src into dst; 0, or -1 (out of memory) with dst empty. */
static int rec_copy(void *dst, const void *src, size_t size, const size_t *offs, int n)
{
    memcpy(dst, src, size);
    for (int i = 0; i < n; i++) {
        const char **f = field(dst, offs[i]);
        char *c;
        if (*f == NULL)
            continue;
        if ((c = strdup(*f)) == NULL) {
            for (int k = i; k < n; k++)
                *field(dst, offs[k]) = NULL;
            rec_free(dst, offs, i);
            return -1;
        }
        *f = c;
    }
    return 0;
}

/* Moves one owned string field: *dst freed, takes *src, *src NULL. */
static void take(const char **dst, const char **src)
{
    free((char *)*dst);
    *dst = *src;
    *src = NULL;
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int grow(void **v, int *cap, int need, size_t size)
{
    int ncap = *cap ? *cap : 16;
    void *nv;

    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    if ((nv = realloc(*v, (size_t)ncap * size)) == NULL)
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* ---- the store ---- */

typedef struct mem_drv {
    store_driver_event_row r;
    int64_t received_unix;
} mem_drv;

typedef struct mem_token {
    store_token_row r;
    int revoked;
} mem_token;

typedef struct mem_vehicle {
    store_vehicle_row r;
    char *out_of_service_on;
} mem_vehicle;

#define TABLE(type)                                                                                \
    struct {                                                                                       \
        type *v;                                                                                   \
        int n, cap;                                                                                \
    }

typedef void (*mem_fn)(void); /* any callback, converted back by kind */

typedef struct mem_item mem_item;

struct store_mem {
    TABLE(store_booking_row) bookings;
    TABLE(store_event_row) events;
    TABLE(store_plan_row) plans;
    TABLE(store_idem_row) idem;
    TABLE(mem_drv) drv;
    TABLE(store_rider_row) riders;
    TABLE(mem_token) tokens;
    TABLE(mem_vehicle) vehicles;
    mem_item *head, *tail; /* waiting for the pump */
    int fail_n, fail_rc;
    int unavailable;
};

/* ---- transactions: operations with owned copies ---- */

enum {
    OP_BOOKING,
    OP_EVENT,
    OP_PLAN,
    OP_IDEM,
    OP_DRIVER_EVENT,
    OP_RIDER,
    OP_TOKEN,
    OP_REVOKE,
    OP_VEHICLE_OUT,
    OP_END,
    OP_MARK,
    OP_RIDER_UPDATE, /* r: the new values of rider r.id */
    OP_RIDER_MERGE   /* a[0] from, a[1] into; copies: into's id for each booking that moves */
};

typedef struct mem_op {
    int kind;
    store_booking_row b;
    store_event_row e; /* OP_EVENT, and the event of OP_END / OP_MARK */
    store_plan_row p;
    store_idem_row i;
    store_driver_event_row d;
    store_rider_row r;
    store_token_row t;
    const char *a[4]; /* OP_REVOKE id; OP_VEHICLE_OUT id, date; OP_END id, from, to, detail;
                         OP_MARK id, status, attention */
    char **copies;    /* OP_RIDER_MERGE, made at prepare so that applying cannot fail */
    int n_copies;
} mem_op;

static const size_t op_args[] = {OFF(mem_op, a[0]), OFF(mem_op, a[1]), OFF(mem_op, a[2]),
                                 OFF(mem_op, a[3])};

static void op_free(mem_op *o)
{
    rec_free(&o->b, booking_strs, NSTRS(booking_strs));
    rec_free(&o->e, event_strs, NSTRS(event_strs));
    rec_free(&o->p, plan_strs, NSTRS(plan_strs));
    rec_free(&o->i, idem_strs, NSTRS(idem_strs));
    rec_free(&o->d, drv_strs, NSTRS(drv_strs));
    rec_free(&o->r, rider_strs, NSTRS(rider_strs));
    rec_free(&o->t, token_strs, NSTRS(token_strs));
    rec_free(o, op_args, NSTRS(op_args));
    for (int i = 0; i < o->n_copies; i++)
        free(o->copies[i]);
    free(o->copies);
    o->copies = NULL;
    o->n_copies = 0;
}

enum {
    ITEM_TXN,
    ITEM_BOOKINGS,
    ITEM_BOOKING_GET,
    ITEM_RIDERS_SEARCH,
    ITEM_RIDERS_GET,
    ITEM_DRV,
    ITEM_RIDERS_PHONE
};

struct mem_item {
    mem_item *next;
    int kind;
    int rc; /* decided at submission: 0, or the failure to report */
    mem_fn cb;
    void *ud;
    store_txn *t;           /* ITEM_TXN */
    store_booking_filter f; /* ITEM_BOOKINGS (strings owned) */
    char *s1, *s2;          /* booking id; digits, text */
    char **ids;             /* ITEM_RIDERS_GET */
    int n_ids;
    int num; /* limit, hours */
};

struct store_txn {
    store_mem *m;
    mem_op *ops;
    int n, cap;
    int broken;    /* DB_ENOMEM: a put_* could not be copied */
    int refused;   /* DB_EQUERY: a record the SQL would refuse (NOT NULL, CHECK) */
    mem_item item; /* its place in the queue once submitted */
};

static void txn_free(store_txn *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->n; i++)
        op_free(&t->ops[i]);
    free(t->ops);
    free(t);
}

static store_txn *mem_txn_new(void *ctx)
{
    store_txn *t = calloc(1, sizeof(*t));

    if (t != NULL)
        t->m = ctx;
    return t;
}

/* A new zeroed operation of kind, or NULL (t broken). */
static mem_op *op_new(store_txn *t, int kind)
{
    mem_op *o;

    if (t->broken)
        return NULL;
    if (grow((void **)&t->ops, &t->cap, t->n + 1, sizeof(*t->ops)) < 0) {
        t->broken = DB_ENOMEM;
        return NULL;
    }
    o = &t->ops[t->n++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    return o;
}

/* The last operation could not be filled: dropped, t broken. */
static int op_fail(store_txn *t)
{
    op_free(&t->ops[--t->n]);
    t->broken = DB_ENOMEM;
    return DB_ENOMEM;
}

static int dup_or_fail(const char **dst, const char *src)
{
    if (src == NULL) {
        *dst = NULL;
        return 0;
    }
    return (*dst = strdup(src)) != NULL ? 0 : -1;
}

/* NOT NULL DEFAULT '' columns given NULL, and references given "". */
static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

static const char *ref_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void refuse_if(store_txn *t, int bad)
{
    if (bad && t->refused == 0)
        t->refused = DB_EQUERY;
}

static int is_open_status(const char *s)
{
    return same(s, "offered") || same(s, "confirmed") || same(s, "assigned") ||
           same(s, "picked_up");
}

static int mem_put_booking(store_txn *t, const store_booking_row *r)
{
    store_booking_row c = *r;
    mem_op *o = op_new(t, OP_BOOKING);

    if (o == NULL)
        return DB_ENOMEM;
    c.rider_id = ref_or_null(r->rider_id);
    c.reason = or_empty(r->reason);
    c.notes = or_empty(r->notes);
    c.attention = NULL; /* an upsert clears it */
    if (c.time_s < 0)
        c.time_s = -1;
    if (rec_copy(&o->b, &c, sizeof(c), booking_strs, NSTRS(booking_strs)) < 0)
        return op_fail(t);
    refuse_if(t, !c.id || !c.date || !c.created_by || !c.status || !c.when_kind ||
                     isnan(c.pickup_lat) || isnan(c.pickup_lon) || isnan(c.drop_lat) ||
                     isnan(c.drop_lon) || c.passengers < 1 || c.wheelchairs < 0);
    return 0;
}

static int mem_put_event(store_txn *t, const store_event_row *r)
{
    store_event_row c = *r;
    mem_op *o = op_new(t, OP_EVENT);

    if (o == NULL)
        return DB_ENOMEM;
    c.detail = or_empty(r->detail);
    c.actor = or_empty(r->actor);
    if (rec_copy(&o->e, &c, sizeof(c), event_strs, NSTRS(event_strs)) < 0)
        return op_fail(t);
    refuse_if(t, !c.booking_id || !c.date || !c.kind);
    return 0;
}

static int mem_put_plan(store_txn *t, const store_plan_row *r)
{
    store_plan_row c = *r;
    mem_op *o = op_new(t, OP_PLAN);

    if (o == NULL)
        return DB_ENOMEM;
    if (c.stops == NULL)
        c.stops = "[]";
    if (rec_copy(&o->p, &c, sizeof(c), plan_strs, NSTRS(plan_strs)) < 0)
        return op_fail(t);
    refuse_if(t, !c.vehicle_id || !c.date);
    return 0;
}

static int mem_put_idem(store_txn *t, const store_idem_row *r)
{
    store_idem_row c = *r;
    mem_op *o = op_new(t, OP_IDEM);

    if (o == NULL)
        return DB_ENOMEM;
    c.response = or_empty(r->response);
    if (rec_copy(&o->i, &c, sizeof(c), idem_strs, NSTRS(idem_strs)) < 0)
        return op_fail(t);
    refuse_if(t, !c.token_id || !c.key || !c.method || !c.path || !c.request_sha256);
    return 0;
}

static int mem_put_driver_event(store_txn *t, const store_driver_event_row *r)
{
    static const char *const kinds[] = {"arrived", "departed",    "boarded",  "alighted",
                                        "no_show", "break_start", "break_end"};
    store_driver_event_row c = *r;
    mem_op *o = op_new(t, OP_DRIVER_EVENT);
    int known = 0;

    if (o == NULL)
        return DB_ENOMEM;
    c.booking_id = or_empty(r->booking_id);
    if (c.unix_ms < 0)
        c.unix_ms = 0;
    if (rec_copy(&o->d, &c, sizeof(c), drv_strs, NSTRS(drv_strs)) < 0)
        return op_fail(t);
    for (int i = 0; i < 7; i++)
        known |= same(c.kind, kinds[i]);
    refuse_if(t, !c.vehicle_id || !c.event_id || !known || !c.date || !c.result);
    return 0;
}

static void digits_of(const char *phone, char *out, size_t len)
{
    size_t k = 0;

    for (const char *q = phone ? phone : ""; *q && k + 1 < len; q++)
        if (*q >= '0' && *q <= '9')
            out[k++] = *q;
    out[k] = '\0';
}

/* The folded search columns of c (name_fold, phone_digits) where c gives
 * them NULL, as db_store.c computes them: jt_fold_rider and jt_fold_phone
 * (the digits alone when the phone does not fold).  fold has
 * strlen(name) + strlen(kana) + 2 bytes; -1 when it could not be made. */
static int rider_folds(store_rider_row *c, char *digits, size_t dlen, char **fold)
{
    size_t cap = strlen(c->name ? c->name : "") + strlen(c->name_kana ? c->name_kana : "") + 2;

    *fold = NULL;
    if (c->phone_digits == NULL) {
        if (jt_fold_phone(c->phone, digits, dlen) < 0)
            digits_of(c->phone, digits, dlen);
        c->phone_digits = digits;
    }
    if (c->name_fold == NULL) {
        if ((*fold = malloc(cap)) == NULL)
            return -1;
        if (jt_fold_rider(c->name, c->name_kana, *fold, cap) < 0)
            (*fold)[0] = '\0';
        c->name_fold = *fold;
    }
    return 0;
}

static int mem_put_rider(store_txn *t, const store_rider_row *r)
{
    store_rider_row c = *r;
    mem_op *o = op_new(t, OP_RIDER);
    char digits[64], created[32], *fold;
    time_t now = time(NULL);
    struct tm tm;

    if (o == NULL)
        return DB_ENOMEM;
    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    c.name_kana = or_empty(r->name_kana);
    c.phone = or_empty(r->phone);
    c.home_address = or_empty(r->home_address);
    c.mobility = or_empty(r->mobility);
    c.notes = or_empty(r->notes);
    c.wheelchair = r->wheelchair != 0;
    c.created = created;
    c.merged_into = NULL;
    if (isnan(c.home_lat) || isnan(c.home_lon))
        c.home_lat = c.home_lon = NAN;
    if (rider_folds(&c, digits, sizeof(digits), &fold) < 0)
        return op_fail(t);
    if (rec_copy(&o->r, &c, sizeof(c), rider_strs, NSTRS(rider_strs)) < 0) {
        free(fold);
        return op_fail(t);
    }
    free(fold);
    refuse_if(t, !c.id || !c.name);
    return 0;
}

static int mem_update_rider(store_txn *t, const store_rider_row *r)
{
    store_rider_row c = *r;
    mem_op *o = op_new(t, OP_RIDER_UPDATE);
    char digits[64], *fold;

    if (o == NULL)
        return DB_ENOMEM;
    c.name_kana = or_empty(r->name_kana);
    c.phone = or_empty(r->phone);
    c.home_address = or_empty(r->home_address);
    c.mobility = or_empty(r->mobility);
    c.notes = or_empty(r->notes);
    c.wheelchair = r->wheelchair != 0;
    c.created = c.merged_into = NULL;
    if (isnan(c.home_lat) || isnan(c.home_lon))
        c.home_lat = c.home_lon = NAN;
    if (rider_folds(&c, digits, sizeof(digits), &fold) < 0)
        return op_fail(t);
    if (rec_copy(&o->r, &c, sizeof(c), rider_strs, NSTRS(rider_strs)) < 0) {
        free(fold);
        return op_fail(t);
    }
    free(fold);
    refuse_if(t, !c.id || !c.name); /* name is NOT NULL */
    return 0;
}

static int mem_put_token(store_txn *t, const store_token_row *r)
{
    store_token_row c = *r;
    mem_op *o = op_new(t, OP_TOKEN);

    if (o == NULL)
        return DB_ENOMEM;
    c.rider_id = ref_or_null(r->rider_id);
    c.vehicle_id = ref_or_null(r->vehicle_id);
    c.label = or_empty(r->label);
    if (rec_copy(&o->t, &c, sizeof(c), token_strs, NSTRS(token_strs)) < 0)
        return op_fail(t);
    refuse_if(t, !c.id || !c.token_sha256 ||
                     !(same(c.role, "admin") || same(c.role, "operator") || same(c.role, "rider") ||
                       same(c.role, "driver") || same(c.role, "planner")) ||
                     (same(c.role, "rider") && !c.rider_id) ||
                     (same(c.role, "driver") && !c.vehicle_id));
    return 0;
}

/* An operation on up to four strings (copied). */
static int args_op(store_txn *t, int kind, const char *a0, const char *a1, const char *a2,
                   const char *a3)
{
    mem_op *o = op_new(t, kind);

    if (o == NULL)
        return DB_ENOMEM;
    if (dup_or_fail(&o->a[0], a0) < 0 || dup_or_fail(&o->a[1], a1) < 0 ||
        dup_or_fail(&o->a[2], a2) < 0 || dup_or_fail(&o->a[3], a3) < 0)
        return op_fail(t);
    return 0;
}

static int mem_revoke_token(store_txn *t, const char *token_id)
{
    return args_op(t, OP_REVOKE, token_id, NULL, NULL, NULL);
}

static int mem_vehicle_out(store_txn *t, const char *vehicle_id, const char *date)
{
    int rc = args_op(t, OP_VEHICLE_OUT, vehicle_id, date, NULL, NULL);

    refuse_if(t, rc == 0 && date == NULL);
    return rc;
}

/* The event a conditional update adds (its date filled in at commit). */
static int derived_event(store_txn *t, const char *id, int time_s, const char *kind,
                         const char *from, const char *to, const char *detail, const char *actor,
                         const char *key)
{
    store_event_row e = {id, NULL, time_s, kind, from, to, NULL, or_empty(detail), or_empty(actor),
                         key};

    if (rec_copy(&t->ops[t->n - 1].e, &e, sizeof(e), event_strs, NSTRS(event_strs)) < 0)
        return op_fail(t);
    return 0;
}

static int mem_end_stored_booking(store_txn *t, const char *booking_id, const char *from,
                                  const char *to, int time_s, const char *detail, const char *actor,
                                  const char *event_key)
{
    int rc = args_op(t, OP_END, booking_id, from, to, or_empty(detail));

    if (rc == 0)
        rc = derived_event(t, booking_id, time_s, "status", from, to, detail, actor, event_key);
    refuse_if(t, rc == 0 && (booking_id == NULL || to == NULL));
    return rc;
}

static int mem_merge_rider(store_txn *t, const char *from_id, const char *into_id)
{
    int rc = args_op(t, OP_RIDER_MERGE, from_id, into_id, NULL, NULL);

    refuse_if(t, rc == 0 && (from_id == NULL || into_id == NULL));
    return rc;
}

static int mem_mark_attention(store_txn *t, const char *booking_id, const char *status,
                              const char *attention, int time_s, const char *actor,
                              const char *event_key)
{
    int rc = args_op(t, OP_MARK, booking_id, status, attention, NULL);

    if (rc == 0)
        rc = derived_event(t, booking_id, time_s, "attention", status, status, attention, actor,
                           event_key);
    return rc;
}

/* ---- commit ---- */

static store_booking_row *find_booking(store_mem *m, const char *id)
{
    for (int i = 0; i < m->bookings.n; i++)
        if (same(m->bookings.v[i].id, id))
            return &m->bookings.v[i];
    return NULL;
}

static int event_key_known(const store_mem *m, const char *key)
{
    if (key == NULL)
        return 0; /* NULL keys never collide (a unique index ignores them) */
    for (int i = 0; i < m->events.n; i++)
        if (same(m->events.v[i].event_key, key))
            return 1;
    return 0;
}

static mem_vehicle *find_vehicle(store_mem *m, const char *id)
{
    for (int i = 0; i < m->vehicles.n; i++)
        if (same(m->vehicles.v[i].r.id, id))
            return &m->vehicles.v[i];
    return NULL;
}

static int rider_known(const store_mem *m, const store_txn *t, int upto, const char *id)
{
    for (int i = 0; i < m->riders.n; i++)
        if (same(m->riders.v[i].id, id))
            return 1;
    for (int k = 0; k < upto; k++)
        if (t->ops[k].kind == OP_RIDER && same(t->ops[k].r.id, id))
            return 1;
    return 0;
}

static int token_clash(const store_mem *m, const store_txn *t, int upto, const store_token_row *r)
{
    for (int i = 0; i < m->tokens.n; i++)
        if (same(m->tokens.v[i].r.id, r->id) ||
            same(m->tokens.v[i].r.token_sha256, r->token_sha256))
            return 1;
    for (int k = 0; k < upto; k++)
        if (t->ops[k].kind == OP_TOKEN &&
            (same(t->ops[k].t.id, r->id) || same(t->ops[k].t.token_sha256, r->token_sha256)))
            return 1;
    return 0;
}

/* The service date of booking id as it will be when op k runs (the table,
 * or a booking inserted earlier in t; a stored booking keeps its date). */
static const char *date_before(store_mem *m, const store_txn *t, int k, const char *id)
{
    const store_booking_row *b = find_booking(m, id);

    if (b != NULL)
        return b->date;
    for (int i = 0; i < k; i++)
        if (t->ops[i].kind == OP_BOOKING && same(t->ops[i].b.id, id))
            return t->ops[i].b.date;
    return NULL;
}

/* Every check and allocation of t before any change: 0 or DB_E*. */
static int commit_prepare(store_mem *m, store_txn *t)
{
    int need[8] = {0};

    if (t->broken)
        return t->broken;
    if (t->refused)
        return t->refused;
    for (int k = 0; k < t->n; k++) {
        mem_op *o = &t->ops[k];
        switch (o->kind) {
        case OP_BOOKING:
            if (o->b.rider_id != NULL && !rider_known(m, t, k, o->b.rider_id))
                return DB_EQUERY; /* foreign key */
            need[0]++;
            break;
        case OP_EVENT:
            need[1]++;
            break;
        case OP_PLAN:
            if (find_vehicle(m, o->p.vehicle_id) == NULL)
                return DB_EQUERY;
            need[2]++;
            break;
        case OP_IDEM:
            need[3]++;
            break;
        case OP_DRIVER_EVENT:
            if (find_vehicle(m, o->d.vehicle_id) == NULL)
                return DB_EQUERY;
            need[4]++;
            break;
        case OP_RIDER:
            if (rider_known(m, t, k, o->r.id))
                return DB_ECONFLICT;
            need[5]++;
            break;
        case OP_TOKEN:
            if (token_clash(m, t, k, &o->t))
                return DB_ECONFLICT;
            if ((o->t.rider_id != NULL && !rider_known(m, t, k, o->t.rider_id)) ||
                (o->t.vehicle_id != NULL && find_vehicle(m, o->t.vehicle_id) == NULL))
                return DB_EQUERY;
            need[6]++;
            break;
        case OP_RIDER_MERGE: {
            /* a copy of into's id for every booking that may move (the
             * table's and those this transaction inserts before it) */
            int n = 0;
            for (int i = 0; i < m->bookings.n; i++)
                n += same(m->bookings.v[i].rider_id, o->a[0]);
            for (int i = 0; i < k; i++)
                n += t->ops[i].kind == OP_BOOKING && same(t->ops[i].b.rider_id, o->a[0]);
            if (o->copies == NULL && n > 0) {
                if ((o->copies = calloc((size_t)n, sizeof(char *))) == NULL)
                    return DB_ENOMEM;
                for (; o->n_copies < n; o->n_copies++)
                    if ((o->copies[o->n_copies] = strdup(o->a[1])) == NULL)
                        return DB_ENOMEM;
            }
            break;
        }
        case OP_END:
        case OP_MARK: {
            const char *d = date_before(m, t, k, o->a[0]);
            if (o->e.date == NULL && d != NULL && (o->e.date = strdup(d)) == NULL)
                return DB_ENOMEM;
            need[1]++;
            break;
        }
        default:
            break;
        }
    }
    if (grow((void **)&m->bookings.v, &m->bookings.cap, m->bookings.n + need[0],
             sizeof(*m->bookings.v)) < 0 ||
        grow((void **)&m->events.v, &m->events.cap, m->events.n + need[1], sizeof(*m->events.v)) <
            0 ||
        grow((void **)&m->plans.v, &m->plans.cap, m->plans.n + need[2], sizeof(*m->plans.v)) < 0 ||
        grow((void **)&m->idem.v, &m->idem.cap, m->idem.n + need[3], sizeof(*m->idem.v)) < 0 ||
        grow((void **)&m->drv.v, &m->drv.cap, m->drv.n + need[4], sizeof(*m->drv.v)) < 0 ||
        grow((void **)&m->riders.v, &m->riders.cap, m->riders.n + need[5], sizeof(*m->riders.v)) <
            0 ||
        grow((void **)&m->tokens.v, &m->tokens.cap, m->tokens.n + need[6], sizeof(*m->tokens.v)) <
            0)
        return DB_ENOMEM;
    return 0;
}

/* Moves o->e into the events unless its key is known (room is reserved). */
static void add_event(store_mem *m, store_event_row *e)
{
    if (event_key_known(m, e->event_key))
        return;
    m->events.v[m->events.n++] = *e;
    memset(e, 0, sizeof(*e));
}

static void apply_booking(store_mem *m, mem_op *o)
{
    store_booking_row *b = find_booking(m, o->b.id), *n = &o->b;

    if (b == NULL) {
        m->bookings.v[m->bookings.n++] = *n;
        memset(n, 0, sizeof(*n));
        return;
    }
    /* the columns of the SQL's ON CONFLICT DO UPDATE, nothing else */
    take(&b->status, &n->status);
    b->expires_s = n->expires_s;
    b->promise_from_s = n->promise_from_s;
    b->promise_to_s = n->promise_to_s;
    b->latest_dropoff_s = n->latest_dropoff_s;
    take(&b->vehicle_id, &n->vehicle_id);
    b->planned_pickup_s = n->planned_pickup_s;
    b->planned_dropoff_s = n->planned_dropoff_s;
    b->pickup_s = n->pickup_s;
    b->dropoff_s = n->dropoff_s;
    take(&b->reason, &n->reason);
    free((char *)b->attention);
    b->attention = NULL;
}

static store_rider_row *find_rider(store_mem *m, const char *id)
{
    for (int i = 0; i < m->riders.n; i++)
        if (same(m->riders.v[i].id, id))
            return &m->riders.v[i];
    return NULL;
}

/* The SQL's UPDATE riders SET (editable columns) WHERE id = ... */
static void apply_rider_update(store_mem *m, store_rider_row *n)
{
    store_rider_row *r = find_rider(m, n->id);

    if (r == NULL)
        return;
    take(&r->name, &n->name);
    take(&r->name_kana, &n->name_kana);
    take(&r->phone, &n->phone);
    take(&r->phone_digits, &n->phone_digits);
    take(&r->home_address, &n->home_address);
    take(&r->home_stop_id, &n->home_stop_id);
    take(&r->mobility, &n->mobility);
    take(&r->notes, &n->notes);
    take(&r->name_fold, &n->name_fold);
    r->home_lat = n->home_lat;
    r->home_lon = n->home_lon;
    r->wheelchair = n->wheelchair;
}

/* The merge's guarded statement: nothing unless both riders exist, differ,
 * are not merged and from has no trip in progress. */
static void apply_rider_merge(store_mem *m, mem_op *o)
{
    store_rider_row *from = find_rider(m, o->a[0]), *into = find_rider(m, o->a[1]);
    int used = 0;

    if (from == NULL || into == NULL || from == into || from->merged_into != NULL ||
        into->merged_into != NULL)
        return;
    for (int i = 0; i < m->bookings.n; i++)
        if (same(m->bookings.v[i].rider_id, from->id) &&
            same(m->bookings.v[i].status, "picked_up"))
            return;
    for (int i = 0; i < m->bookings.n && used < o->n_copies; i++) {
        store_booking_row *b = &m->bookings.v[i];
        if (same(b->rider_id, from->id)) {
            free((char *)b->rider_id);
            b->rider_id = o->copies[used];
            o->copies[used++] = NULL;
        }
    }
    take(&from->merged_into, &o->a[1]);
}

static void apply_op(store_mem *m, mem_op *o, int64_t now)
{
    switch (o->kind) {
    case OP_BOOKING:
        apply_booking(m, o);
        break;
    case OP_EVENT:
        add_event(m, &o->e);
        break;
    case OP_PLAN: {
        store_plan_row *p = NULL;
        for (int i = 0; i < m->plans.n && p == NULL; i++)
            if (same(m->plans.v[i].vehicle_id, o->p.vehicle_id) &&
                same(m->plans.v[i].date, o->p.date))
                p = &m->plans.v[i];
        if (p == NULL) {
            m->plans.v[m->plans.n++] = o->p;
            memset(&o->p, 0, sizeof(o->p));
        } else if (p->seq < o->p.seq) {
            p->seq = o->p.seq;
            take(&p->stops, &o->p.stops);
        }
        break;
    }
    case OP_IDEM:
        for (int i = 0; i < m->idem.n; i++)
            if (same(m->idem.v[i].token_id, o->i.token_id) && same(m->idem.v[i].key, o->i.key))
                return;
        o->i.created_unix = now;
        m->idem.v[m->idem.n++] = o->i;
        memset(&o->i, 0, sizeof(o->i));
        break;
    case OP_DRIVER_EVENT:
        for (int i = 0; i < m->drv.n; i++)
            if (same(m->drv.v[i].r.vehicle_id, o->d.vehicle_id) &&
                same(m->drv.v[i].r.event_id, o->d.event_id))
                return;
        m->drv.v[m->drv.n].r = o->d;
        m->drv.v[m->drv.n++].received_unix = now;
        memset(&o->d, 0, sizeof(o->d));
        break;
    case OP_RIDER:
        m->riders.v[m->riders.n++] = o->r;
        memset(&o->r, 0, sizeof(o->r));
        break;
    case OP_RIDER_UPDATE:
        apply_rider_update(m, &o->r);
        break;
    case OP_RIDER_MERGE:
        apply_rider_merge(m, o);
        break;
    case OP_TOKEN:
        m->tokens.v[m->tokens.n].r = o->t;
        m->tokens.v[m->tokens.n++].revoked = 0;
        memset(&o->t, 0, sizeof(o->t));
        break;
    case OP_REVOKE:
        for (int i = 0; i < m->tokens.n; i++)
            if (same(m->tokens.v[i].r.id, o->a[0]))
                m->tokens.v[i].revoked = 1;
        break;
    case OP_VEHICLE_OUT: {
        mem_vehicle *v = find_vehicle(m, o->a[0]);
        if (v != NULL) {
            free(v->out_of_service_on);
            v->out_of_service_on = (char *)o->a[1];
            o->a[1] = NULL;
        }
        break;
    }
    case OP_END: {
        store_booking_row *b = find_booking(m, o->a[0]);
        if (b == NULL || !same(b->status, o->a[1]))
            break;
        if (same(o->a[2], "cancelled"))
            take(&b->reason, &o->a[3]);
        take(&b->status, &o->a[2]);
        free((char *)b->attention);
        b->attention = NULL;
        add_event(m, &o->e);
        break;
    }
    case OP_MARK: {
        store_booking_row *b = find_booking(m, o->a[0]);
        if (b == NULL || !same(b->status, o->a[1]) || b->attention != NULL)
            break;
        take(&b->attention, &o->a[2]);
        free((char *)b->vehicle_id);
        b->vehicle_id = NULL;
        b->planned_pickup_s = b->planned_dropoff_s = -1;
        add_event(m, &o->e);
        break;
    }
    default:
        break;
    }
}

/* Commits t (all or nothing); 0 or DB_E*. */
static int commit(store_mem *m, store_txn *t)
{
    int rc = commit_prepare(m, t);
    int64_t now = (int64_t)time(NULL);

    if (rc != 0)
        return rc;
    for (int k = 0; k < t->n; k++)
        apply_op(m, &t->ops[k], now);
    return 0;
}

/* The failure the next submission gets (0: none), counting one down. */
static int injected(store_mem *m)
{
    if (m->unavailable)
        return DB_EUNAVAIL;
    if (m->fail_n > 0) {
        m->fail_n--;
        return m->fail_rc;
    }
    return 0;
}

/* Runs a transaction whose failure (if any) was decided: kept unless the
 * decision says nothing is kept. */
static int run_txn(store_mem *m, store_txn *t, int rc)
{
    if (rc == 0 || rc == DB_EUNKNOWN) {
        int crc = commit(m, t);
        if (crc != 0)
            rc = crc;
    }
    return rc;
}

static void enqueue(store_mem *m, mem_item *it)
{
    it->next = NULL;
    if (m->tail != NULL)
        m->tail->next = it;
    else
        m->head = it;
    m->tail = it;
}

static void mem_txn_submit(store_txn *t, store_done_cb cb, void *ud)
{
    store_mem *m = t->m;

    t->item.kind = ITEM_TXN;
    t->item.rc = injected(m);
    t->item.cb = (mem_fn)cb;
    t->item.ud = ud;
    t->item.t = t;
    enqueue(m, &t->item);
}

static int mem_exec_txn_blocking(void *ctx, store_txn *t, char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = run_txn(m, t, injected(m));

    txn_free(t);
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (rc != 0)
        slv_errf(err, err_len, rc, "in-memory store: %s", db_strerror(rc));
    return rc;
}

/* ---- reads ---- */

static mem_item *item_new(store_mem *m, int kind, mem_fn cb, void *ud)
{
    mem_item *it = calloc(1, sizeof(*it));

    if (it == NULL)
        return NULL;
    it->kind = kind;
    it->cb = cb;
    it->ud = ud;
    it->rc = m->unavailable ? DB_EUNAVAIL : 0;
    return it;
}

static void item_free(mem_item *it)
{
    free((char *)it->f.rider_id);
    free((char *)it->f.date);
    free((char *)it->f.status);
    free((char *)it->f.after_id);
    free(it->s1);
    free(it->s2);
    for (int i = 0; i < it->n_ids; i++)
        free(it->ids[i]);
    free(it->ids);
    free(it);
}

static void answer(const mem_item *it, int rc, const void *rows, int n)
{
    if (it->kind == ITEM_BOOKINGS || it->kind == ITEM_BOOKING_GET)
        ((store_bookings_cb)it->cb)(it->ud, rc, rows, n);
    else if (it->kind == ITEM_DRV)
        ((store_driver_events_cb)it->cb)(it->ud, rc, rows, n);
    else
        ((store_riders_cb)it->cb)(it->ud, rc, rows, n);
}

/* A read that could not even be queued (out of memory) answers at once:
 * the one case where a callback runs inside the call. */
static void read_enqueue(store_mem *m, mem_item *it, int ok, int kind, mem_fn cb, void *ud)
{
    if (it != NULL && ok) {
        enqueue(m, it);
        return;
    }
    if (it != NULL)
        item_free(it);
    mem_item now = {.kind = kind, .cb = cb, .ud = ud};
    answer(&now, DB_ENOMEM, NULL, 0);
}

static int dup_opt(const char **dst, const char *src)
{
    return dup_or_fail(dst, src) == 0;
}

static void mem_bookings(void *ctx, const store_booking_filter *f, store_bookings_cb cb, void *ud)
{
    mem_item *it = item_new(ctx, ITEM_BOOKINGS, (mem_fn)cb, ud);
    int ok = it != NULL;

    if (ok) {
        it->f.attention = f->attention;
        it->f.limit = f->limit;
        ok = dup_opt(&it->f.rider_id, f->rider_id) && dup_opt(&it->f.date, f->date) &&
             dup_opt(&it->f.status, f->status) && dup_opt(&it->f.after_id, f->after_id);
    }
    read_enqueue(ctx, it, ok, ITEM_BOOKINGS, (mem_fn)cb, ud);
}

static void mem_booking_get(void *ctx, const char *id, store_bookings_cb cb, void *ud)
{
    mem_item *it = item_new(ctx, ITEM_BOOKING_GET, (mem_fn)cb, ud);
    int ok = it != NULL && (id == NULL || (it->s1 = strdup(id)) != NULL);

    read_enqueue(ctx, it, ok, ITEM_BOOKING_GET, (mem_fn)cb, ud);
}

/* The query's phone digits as db_store.c makes them: jt_fold_phone, or
 * the digits alone when it does not fold. */
static void query_digits(const char *phone, char *out, size_t len)
{
    if (jt_fold_phone(phone, out, len) < 0)
        digits_of(phone, out, len);
}

static void mem_riders_search(void *ctx, const char *digits, const char *text, int limit,
                              store_riders_cb cb, void *ud)
{
    mem_item *it = item_new(ctx, ITEM_RIDERS_SEARCH, (mem_fn)cb, ud);
    char dig[64];
    int ok = it != NULL;

    query_digits(digits, dig, sizeof(dig));
    if (ok) {
        it->num = limit > 0 ? limit : 50;
        ok = (!dig[0] || (it->s1 = strdup(dig)) != NULL) &&
             (text == NULL || !text[0] || (it->s2 = malloc(strlen(text) + 1)) != NULL);
        /* text that is not UTF-8 folds to "": it matches every rider, as
         * an empty pattern does in SQL (the API refuses it before) */
        if (ok && it->s2 != NULL && jt_fold_name(text, it->s2, strlen(text) + 1) < 0)
            it->s2[0] = '\0';
    }
    read_enqueue(ctx, it, ok, ITEM_RIDERS_SEARCH, (mem_fn)cb, ud);
}

static void mem_riders_by_phone(void *ctx, const char *phone, store_riders_cb cb, void *ud)
{
    mem_item *it = item_new(ctx, ITEM_RIDERS_PHONE, (mem_fn)cb, ud);
    char dig[64];
    int ok = it != NULL;

    query_digits(phone, dig, sizeof(dig));
    if (ok)
        ok = (it->s1 = strdup(dig)) != NULL;
    read_enqueue(ctx, it, ok, ITEM_RIDERS_PHONE, (mem_fn)cb, ud);
}

static void mem_riders_get(void *ctx, const char *const *ids, int n, store_riders_cb cb, void *ud)
{
    mem_item *it = item_new(ctx, ITEM_RIDERS_GET, (mem_fn)cb, ud);
    int ok = it != NULL;

    if (ok && n > 0)
        ok = (it->ids = calloc((size_t)n, sizeof(char *))) != NULL;
    for (int i = 0; ok && i < n; i++) {
        ok = (it->ids[i] = strdup(ids[i])) != NULL;
        it->n_ids = i + 1;
    }
    read_enqueue(ctx, it, ok, ITEM_RIDERS_GET, (mem_fn)cb, ud);
}

static void mem_driver_events_recent(void *ctx, int hours, store_driver_events_cb cb, void *ud)
{
    mem_item *it = item_new(ctx, ITEM_DRV, (mem_fn)cb, ud);

    if (it != NULL)
        it->num = hours;
    read_enqueue(ctx, it, it != NULL, ITEM_DRV, (mem_fn)cb, ud);
}

static int cmp_booking_id(const void *a, const void *b)
{
    return strcmp(((const store_booking_row *)a)->id, ((const store_booking_row *)b)->id);
}

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_rider(const void *a, const void *b)
{
    const store_rider_row *x = a, *y = b;
    int c = cmp_str(x->name_kana, y->name_kana);

    if (c == 0)
        c = cmp_str(x->name, y->name);
    return c != 0 ? c : cmp_str(x->id, y->id);
}

static int cmp_rider_id(const void *a, const void *b)
{
    return cmp_str(((const store_rider_row *)a)->id, ((const store_rider_row *)b)->id);
}

static int booking_matches(const store_booking_row *b, const store_booking_filter *f)
{
    return (f->rider_id == NULL || same(b->rider_id, f->rider_id)) &&
           (f->date == NULL || same(b->date, f->date)) &&
           (f->status == NULL || same(b->status, f->status)) &&
           (f->after_id == NULL || strcmp(b->id, f->after_id) > 0) &&
           (f->attention < 0 || (b->attention != NULL) == (f->attention != 0));
}

static int rider_matches(const store_rider_row *r, const mem_item *it)
{
    if (it->kind == ITEM_RIDERS_GET) {
        for (int i = 0; i < it->n_ids; i++)
            if (same(r->id, it->ids[i]))
                return 1;
        return 0;
    }
    if (r->merged_into != NULL)
        return 0;
    if (it->kind == ITEM_RIDERS_PHONE)
        return it->s1[0] != '\0' && same(r->phone_digits, it->s1);
    return (it->s1 == NULL || strstr(r->phone_digits, it->s1) != NULL) &&
           (it->s2 == NULL || strstr(r->name_fold ? r->name_fold : "", it->s2) != NULL);
}

/* Runs a read against the tables as they are now. */
static void run_read(store_mem *m, mem_item *it)
{
    void *rows = NULL;
    int n = 0, rc = it->rc;

    if (rc != 0) {
        answer(it, rc, NULL, 0);
        return;
    }
    if (it->kind == ITEM_BOOKINGS || it->kind == ITEM_BOOKING_GET) {
        store_booking_row *v = malloc((size_t)(m->bookings.n + 1) * sizeof(*v));
        rows = v;
        for (int i = 0; v != NULL && i < m->bookings.n; i++) {
            const store_booking_row *b = &m->bookings.v[i];
            if (it->kind == ITEM_BOOKING_GET ? same(b->id, it->s1) : booking_matches(b, &it->f))
                v[n++] = *b;
        }
        if (v != NULL)
            qsort(v, (size_t)n, sizeof(*v), cmp_booking_id);
        if (it->kind == ITEM_BOOKINGS && it->f.limit > 0 && n > it->f.limit)
            n = it->f.limit;
    } else if (it->kind == ITEM_DRV) {
        store_driver_event_row *v = malloc((size_t)(m->drv.n + 1) * sizeof(*v));
        int64_t since = (int64_t)time(NULL) - (int64_t)it->num * 3600;
        rows = v;
        for (int i = 0; v != NULL && i < m->drv.n; i++)
            if (m->drv.v[i].received_unix > since)
                v[n++] = m->drv.v[i].r;
    } else {
        store_rider_row *v = malloc((size_t)(m->riders.n + 1) * sizeof(*v));
        rows = v;
        for (int i = 0; v != NULL && i < m->riders.n; i++)
            if (rider_matches(&m->riders.v[i], it))
                v[n++] = m->riders.v[i];
        if (v != NULL && it->kind == ITEM_RIDERS_SEARCH) {
            qsort(v, (size_t)n, sizeof(*v), cmp_rider);
            if (n > it->num)
                n = it->num;
        } else if (v != NULL) {
            qsort(v, (size_t)n, sizeof(*v), cmp_rider_id);
        }
    }
    if (rows == NULL)
        answer(it, DB_ENOMEM, NULL, 0);
    else
        answer(it, 0, rows, n);
    free(rows);
}

int store_mem_pump(store_mem *m)
{
    mem_item *it = m->head, *next;
    int ran = 0;

    /* What the callbacks submit waits for the next pump. */
    m->head = m->tail = NULL;
    for (; it != NULL; it = next) {
        next = it->next;
        ran++;
        if (it->kind == ITEM_TXN) {
            store_txn *t = it->t;
            store_done_cb cb = (store_done_cb)it->cb;
            void *ud = it->ud;
            int rc = run_txn(m, t, it->rc);
            txn_free(t);
            if (cb != NULL)
                cb(ud, rc);
        } else {
            run_read(m, it);
            item_free(it);
        }
    }
    return ran;
}

/* ---- blocking calls ---- */

static int down(const store_mem *m, char *err, size_t err_len)
{
    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (m->unavailable)
        return slv_errf(err, err_len, DB_EUNAVAIL, "in-memory store: set unavailable");
    return 0;
}

static int mem_upsert_fleet(void *ctx, const store_vehicle_row *v, int n, char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len), added = 0;
    store_vehicle_row *copies = NULL;

    if (rc != 0)
        return rc;
    if (n > 0 && (copies = calloc((size_t)n, sizeof(*copies))) == NULL)
        return slv_errf(err, err_len, DB_ENOMEM, "out of memory for %d vehicles", n);
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++) {
        store_vehicle_row c = v[i];
        if (c.configs == NULL)
            c.configs = "[]";
        if (c.id == NULL ||
            rec_copy(&copies[i], &c, sizeof(c), vehicle_strs, NSTRS(vehicle_strs)) < 0) {
            rc = c.id == NULL ? slv_errf(err, err_len, DB_EQUERY, "vehicle %d has no id", i + 1)
                              : slv_errf(err, err_len, DB_ENOMEM, "out of memory");
            for (int k = 0; k < i; k++)
                rec_free(&copies[k], vehicle_strs, NSTRS(vehicle_strs));
            free(copies);
            return rc;
        }
        added += find_vehicle(m, c.id) == NULL;
    }
    if (grow((void **)&m->vehicles.v, &m->vehicles.cap, m->vehicles.n + added,
             sizeof(*m->vehicles.v)) < 0) {
        for (int k = 0; k < n; k++)
            rec_free(&copies[k], vehicle_strs, NSTRS(vehicle_strs));
        free(copies);
        return slv_errf(err, err_len, DB_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        mem_vehicle *x = find_vehicle(m, copies[i].id);
        if (x == NULL) {
            x = &m->vehicles.v[m->vehicles.n++];
            x->out_of_service_on = NULL;
        } else {
            rec_free(&x->r, vehicle_strs, NSTRS(vehicle_strs));
        }
        x->r = copies[i];
    }
    free(copies);
    return 0;
}

static int mem_load_tokens(void *ctx, void (*row)(void *ud, const store_token_row *r), void *ud,
                           char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len);

    for (int i = 0; rc == 0 && i < m->tokens.n; i++)
        if (!m->tokens.v[i].revoked)
            row(ud, &m->tokens.v[i].r);
    return rc;
}

static int mem_load_rider_ids(void *ctx, void (*row)(void *ud, const char *id), void *ud, char *err,
                              size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len);

    for (int i = 0; rc == 0 && i < m->riders.n; i++)
        row(ud, m->riders.v[i].id);
    return rc;
}

static int mem_load_idem(void *ctx, int hours, void (*row)(void *ud, const store_idem_row *r),
                         void *ud, char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len);
    int64_t since = (int64_t)time(NULL) - (int64_t)hours * 3600;

    for (int i = 0; rc == 0 && i < m->idem.n; i++)
        if (m->idem.v[i].created_unix > since)
            row(ud, &m->idem.v[i]);
    return rc;
}

static int mem_load_plan_seqs(void *ctx,
                              void (*row)(void *ud, const char *vehicle_id, const char *date,
                                          int64_t seq),
                              void *ud, char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len);

    for (int i = 0; rc == 0 && i < m->plans.n; i++)
        row(ud, m->plans.v[i].vehicle_id, m->plans.v[i].date, m->plans.v[i].seq);
    return rc;
}

static int mem_load_out_of_service(void *ctx, const char *date,
                                   void (*row)(void *ud, const char *vehicle_id), void *ud,
                                   char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len);

    for (int i = 0; rc == 0 && i < m->vehicles.n; i++)
        if (same(m->vehicles.v[i].out_of_service_on, date))
            row(ud, m->vehicles.v[i].r.id);
    return rc;
}

static int status_rank(const char *s)
{
    return same(s, "picked_up") ? 0 : same(s, "offered") ? 2 : 1;
}

/* ORDER BY service_date, status rank, promise_from_s (NULL last), id */
static int cmp_open(const void *a, const void *b)
{
    const store_booking_row *x = a, *y = b;
    int c = strcmp(x->date, y->date);

    if (c == 0)
        c = status_rank(x->status) - status_rank(y->status);
    if (c == 0 && x->promise_from_s != y->promise_from_s)
        c = x->promise_from_s < 0                   ? 1
            : y->promise_from_s < 0                 ? -1
            : x->promise_from_s < y->promise_from_s ? -1
                                                    : 1;
    return c != 0 ? c : strcmp(x->id, y->id);
}

static int mem_load_open_bookings(void *ctx, const char *from_date,
                                  void (*row)(void *ud, const store_booking_row *r), void *ud,
                                  char *err, size_t err_len)
{
    store_mem *m = ctx;
    int rc = down(m, err, err_len), n = 0;
    store_booking_row *v;

    if (rc != 0)
        return rc;
    if ((v = malloc((size_t)(m->bookings.n + 1) * sizeof(*v))) == NULL)
        return slv_errf(err, err_len, DB_ENOMEM, "out of memory");
    for (int i = 0; i < m->bookings.n; i++) {
        const store_booking_row *b = &m->bookings.v[i];
        if (is_open_status(b->status) && (from_date == NULL || strcmp(b->date, from_date) >= 0))
            v[n++] = *b;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp_open);
    for (int i = 0; i < n; i++)
        row(ud, &v[i]);
    free(v);
    return 0;
}

static int mem_ready(void *ctx)
{
    return !((store_mem *)ctx)->unavailable;
}

static const store_ops mem_ops = {
    .ready = mem_ready,
    .txn_new = mem_txn_new,
    .txn_free = txn_free,
    .txn_submit = mem_txn_submit,
    .put_booking = mem_put_booking,
    .put_event = mem_put_event,
    .put_plan = mem_put_plan,
    .put_idem = mem_put_idem,
    .put_driver_event = mem_put_driver_event,
    .put_rider = mem_put_rider,
    .put_token = mem_put_token,
    .revoke_token = mem_revoke_token,
    .vehicle_out = mem_vehicle_out,
    .end_stored_booking = mem_end_stored_booking,
    .bookings = mem_bookings,
    .booking_get = mem_booking_get,
    .riders_search = mem_riders_search,
    .riders_get = mem_riders_get,
    .driver_events_recent = mem_driver_events_recent,
    .upsert_fleet = mem_upsert_fleet,
    .load_tokens = mem_load_tokens,
    .load_rider_ids = mem_load_rider_ids,
    .load_idem = mem_load_idem,
    .load_plan_seqs = mem_load_plan_seqs,
    .load_out_of_service = mem_load_out_of_service,
    .load_open_bookings = mem_load_open_bookings,
    .exec_txn_blocking = mem_exec_txn_blocking,
    .mark_attention = mem_mark_attention,
    .update_rider = mem_update_rider,
    .merge_rider = mem_merge_rider,
    .riders_by_phone = mem_riders_by_phone,
};

/* ---- the store's life ---- */

int store_mem_create(store_mem **out)
{
    *out = calloc(1, sizeof(**out));
    return *out != NULL ? 0 : DB_ENOMEM;
}

/* Transactions and reads still waiting are dropped without their
 * callbacks (there is no one left to answer). */
void store_mem_destroy(store_mem *m)
{
    mem_item *it, *next;

    if (m == NULL)
        return;
    for (it = m->head; it != NULL; it = next) {
        next = it->next;
        if (it->kind == ITEM_TXN)
            txn_free(it->t);
        else
            item_free(it);
    }
    for (int i = 0; i < m->bookings.n; i++)
        rec_free(&m->bookings.v[i], booking_strs, NSTRS(booking_strs));
    for (int i = 0; i < m->events.n; i++)
        rec_free(&m->events.v[i], event_strs, NSTRS(event_strs));
    for (int i = 0; i < m->plans.n; i++)
        rec_free(&m->plans.v[i], plan_strs, NSTRS(plan_strs));
    for (int i = 0; i < m->idem.n; i++)
        rec_free(&m->idem.v[i], idem_strs, NSTRS(idem_strs));
    for (int i = 0; i < m->drv.n; i++)
        rec_free(&m->drv.v[i].r, drv_strs, NSTRS(drv_strs));
    for (int i = 0; i < m->riders.n; i++)
        rec_free(&m->riders.v[i], rider_strs, NSTRS(rider_strs));
    for (int i = 0; i < m->tokens.n; i++)
        rec_free(&m->tokens.v[i].r, token_strs, NSTRS(token_strs));
    for (int i = 0; i < m->vehicles.n; i++) {
        rec_free(&m->vehicles.v[i].r, vehicle_strs, NSTRS(vehicle_strs));
        free(m->vehicles.v[i].out_of_service_on);
    }
    free(m->bookings.v);
    free(m->events.v);
    free(m->plans.v);
    free(m->idem.v);
    free(m->drv.v);
    free(m->riders.v);
    free(m->tokens.v);
    free(m->vehicles.v);
    free(m);
}

store store_mem_store(store_mem *m)
{
    store s = {&mem_ops, m};

    return s;
}

void store_mem_fail_next(store_mem *m, int n, int rc)
{
    m->fail_n = n > 0 && rc < 0 ? n : 0;
    m->fail_rc = rc;
}

void store_mem_set_unavailable(store_mem *m, int unavailable)
{
    m->unavailable = unavailable != 0;
}

int store_mem_count(const store_mem *m, const char *table)
{
    static const char *const names[] = {"bookings",         "booking_events", "plans",
                                        "idempotency_keys", "driver_events",  "riders",
                                        "tokens",           "vehicles"};
    const int counts[] = {m->bookings.n, m->events.n, m->plans.n,  m->idem.n,
                          m->drv.n,      m->riders.n, m->tokens.n, m->vehicles.n};

    for (int i = 0; i < 8; i++)
        if (same(table, names[i]))
            return counts[i];
    return -1;
}

const store_booking_row *store_mem_booking(const store_mem *m, const char *id)
{
    for (int i = 0; i < m->bookings.n; i++)
        if (same(m->bookings.v[i].id, id))
            return &m->bookings.v[i];
    return NULL;
}
