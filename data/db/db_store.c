/*
 * db_store.c - the store interface (data/store/store.h) over PostgreSQL,
 * through data/db: the daemon's SQL, moved behind store_ops.
 *
 * Writes.  A store_txn is a list of statements (static SQL text and copies
 * of its text parameters), not yet a db_txn: the same list is either turned
 * into one db_txn at txn_submit (asynchronous, group-committed by data/db)
 * or run by exec_txn_blocking as ONE blocking transaction before the loop
 * serves (db_exec_blocking_txn).  Every put_* is the daemon's statement with
 * its ON CONFLICT rule, so a transaction re-sent after DB_EUNKNOWN stores
 * each record once:
 *
 *   bookings          upsert by id (the columns a booking's life changes,
 *                     attention cleared); its identity columns stay
 *   booking_events    ON CONFLICT (event_key) DO NOTHING
 *   plans             upsert only when the stored seq is older
 *   idempotency_keys  ON CONFLICT (token_id, key) DO NOTHING
 *   driver_events     ON CONFLICT (vehicle_id, event_id) DO NOTHING
 *   riders, tokens    plain inserts (a second one is a conflict); a rider's
 *                     name_fold and phone_digits folded here (data/text)
 *                     when the caller leaves them NULL
 *   update_rider      UPDATE by id (an unknown id changes nothing)
 *   merge_rider       one guarded statement: the bookings move and the
 *                     rider is marked only if the guard holds
 *   end_stored_booking, mark_attention
 *                     "WITH u AS (UPDATE ... RETURNING) INSERT INTO
 *                     booking_events ... FROM u": the event exists only if
 *                     the row still had the status the caller saw
 *
 * A put_* that runs out of memory marks the transaction broken: submitting
 * it anyway fails with DB_ENOMEM and commits nothing (a transaction missing
 * one of its statements must never be half stored).
 *
 * Failing without a loop.  data/db defers every failure of a submitted
 * db_txn to its loop, so callbacks never run inside txn_submit or a read -
 * except in two cases with no loop to defer on: the store has no connection
 * yet (db NULL: DB_EUNAVAIL at once, as store.h allows) and a failed
 * allocation of the few bytes of a db_txn (DB_ENOMEM at once).  A
 * transaction whose statements cannot be copied into its db_txn is sent as
 * the placeholder "SELECT 1" and answered DB_ENOMEM, so that answer too
 * comes from the loop.  An empty transaction is "SELECT 1" on the write
 * connection: its rc 0 comes in order, after everything submitted before.
 *
 * Reads are single read-only statements (data/db may run them on its second
 * connection, never behind a group commit's fsync).  Their rows are decoded
 * into the record structs, whose strings point into the db_result and are
 * valid inside the callback only.  The load_* calls use db_exec_blocking,
 * each on a short-lived connection, as the daemon's start always did.
 *
 * Text parameters: integers that are never negative go as NULL when -1
 * (store.h), coordinates as %.7f (about 1 cm), NAN coordinates as NULL.
 */
#include "data/db/db.h"
#include "data/store/store.h"
#include "data/text/jtext.h"
#include "solver/errf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_store {
    struct db *d; /* NULL: blocking calls only */
    char *conninfo;
};

typedef struct dbs_stmt {
    const char *sql; /* static text */
    int n_params;
    char *mem; /* one block: the pointer array, then the copied texts */
} dbs_stmt;

struct store_txn {
    db_store *s;
    dbs_stmt *stmts;
    int n, cap;
    int build_rc; /* DB_ENOMEM once a put_* could not be added */
    store_done_cb cb;
    void *ud;
};

/* ---- formatting parameters ---- */

#define NUM_LEN 32

static const char *num(char *buf, int64_t x)
{
    snprintf(buf, NUM_LEN, "%lld", (long long)x);
    return buf;
}

/* -1 (or any negative) is "none": SQL NULL. */
static const char *num_or_null(char *buf, int64_t x)
{
    return x < 0 ? NULL : num(buf, x);
}

static const char *coord(char *buf, double x)
{
    if (isnan(x))
        return NULL;
    snprintf(buf, NUM_LEN, "%.7f", x);
    return buf;
}

static const char *or_empty(const char *s)
{
    return s != NULL ? s : "";
}

/* References to other tables (riders, vehicles): "" is none as well. */
static const char *ref_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* ---- decoding results ---- */

static int int_of(const char *v)
{
    return v != NULL ? atoi(v) : -1;
}

static int64_t int64_of(const char *v)
{
    return v != NULL ? (int64_t)strtoll(v, NULL, 10) : -1;
}

static double dbl_of(const char *v)
{
    return v != NULL ? strtod(v, NULL) : NAN;
}

/* Columns of store_booking_row, in its order (28). */
#define DBS_BOOKING_COLS                                                                           \
    "id, service_date::text, rider_id, created_by, status, pickup_stop, pickup_lat, pickup_lon, "  \
    "drop_stop, drop_lat, drop_lon, when_kind, time_s, passengers, wheelchairs, requested_s, "     \
    "expires_s, promise_from_s, promise_to_s, latest_dropoff_s, vehicle_id, planned_pickup_s, "    \
    "planned_dropoff_s, pickup_s, dropoff_s, reason, notes, attention"
#define DBS_BOOKING_NCOLS 28

static void decode_booking(const char *const *v, store_booking_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = v[0];
    r->date = v[1];
    r->rider_id = v[2];
    r->created_by = v[3];
    r->status = v[4];
    r->pickup_stop = v[5];
    r->pickup_lat = dbl_of(v[6]);
    r->pickup_lon = dbl_of(v[7]);
    r->drop_stop = v[8];
    r->drop_lat = dbl_of(v[9]);
    r->drop_lon = dbl_of(v[10]);
    r->when_kind = v[11];
    r->time_s = int_of(v[12]);
    r->passengers = int_of(v[13]);
    r->wheelchairs = int_of(v[14]);
    r->requested_s = int_of(v[15]);
    r->expires_s = int_of(v[16]);
    r->promise_from_s = int_of(v[17]);
    r->promise_to_s = int_of(v[18]);
    r->latest_dropoff_s = int_of(v[19]);
    r->vehicle_id = v[20];
    r->planned_pickup_s = int_of(v[21]);
    r->planned_dropoff_s = int_of(v[22]);
    r->pickup_s = int_of(v[23]);
    r->dropoff_s = int_of(v[24]);
    r->reason = v[25];
    r->notes = v[26];
    r->attention = v[27];
}

/* Columns of store_rider_row (15); created as ISO 8601 UTC. */
#define DBS_RIDER_COLS                                                                             \
    "id, name, name_kana, phone, phone_digits, home_address, home_stop, home_lat, home_lon, "      \
    "wheelchair, mobility, notes, "                                                                \
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), name_fold, "      \
    "merged_into"
#define DBS_RIDER_NCOLS 15

static void decode_rider(const char *const *v, store_rider_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = v[0];
    r->name = v[1];
    r->name_kana = v[2];
    r->phone = v[3];
    r->phone_digits = v[4];
    r->home_address = v[5];
    r->home_stop_id = v[6];
    r->home_lat = dbl_of(v[7]);
    r->home_lon = dbl_of(v[8]);
    r->wheelchair = v[9] != NULL && v[9][0] == 't';
    r->mobility = v[10];
    r->notes = v[11];
    r->created = v[12];
    r->name_fold = v[13];
    r->merged_into = v[14];
}

#define DBS_DRIVER_EVENT_COLS                                                                      \
    "vehicle_id, event_id, kind, booking_id, service_date::text, unix_ms, result"
#define DBS_DRIVER_EVENT_NCOLS 7

static void decode_driver_event(const char *const *v, store_driver_event_row *r)
{
    memset(r, 0, sizeof(*r));
    r->vehicle_id = v[0];
    r->event_id = v[1];
    r->kind = v[2];
    r->booking_id = v[3];
    r->date = v[4];
    r->unix_ms = int64_of(v[5]);
    r->result = v[6];
}

/* ---- transactions ---- */

static void stmts_free(store_txn *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->stmts[i].mem);
    free(t->stmts);
    t->stmts = NULL;
    t->n = t->cap = 0;
}

static void dbs_txn_free(store_txn *t)
{
    if (t == NULL)
        return;
    stmts_free(t);
    free(t);
}

static store_txn *dbs_txn_new(void *ctx)
{
    store_txn *t = calloc(1, sizeof(*t));

    if (t != NULL)
        t->s = ctx;
    return t;
}

/* Copies a statement into t; 0 or DB_ENOMEM (then t is broken for good). */
static int txn_add(store_txn *t, const char *sql, int n, const char *const *p)
{
    size_t total = (size_t)n * sizeof(char *), off;
    dbs_stmt *st;
    char **ptrs;

    if (t->build_rc != 0)
        return t->build_rc;
    if (t->n == t->cap) {
        int ncap = t->cap ? t->cap * 2 : 8;
        dbs_stmt *ns = realloc(t->stmts, (size_t)ncap * sizeof(*ns));
        if (ns == NULL)
            return t->build_rc = DB_ENOMEM;
        t->stmts = ns;
        t->cap = ncap;
    }
    for (int i = 0; i < n; i++)
        if (p[i] != NULL)
            total += strlen(p[i]) + 1;
    st = &t->stmts[t->n];
    st->mem = malloc(total > 0 ? total : 1);
    if (st->mem == NULL)
        return t->build_rc = DB_ENOMEM;
    st->sql = sql;
    st->n_params = n;
    ptrs = (char **)(void *)st->mem;
    off = (size_t)n * sizeof(char *);
    for (int i = 0; i < n; i++) {
        if (p[i] == NULL) {
            ptrs[i] = NULL;
            continue;
        }
        size_t len = strlen(p[i]) + 1;
        memcpy(st->mem + off, p[i], len);
        ptrs[i] = st->mem + off;
        off += len;
    }
    t->n++;
    return 0;
}

static const char *const *stmt_params(const dbs_stmt *st)
{
    return (const char *const *)(const void *)st->mem;
}

static void txn_done(void *ud, int rc, const db_result *res, const char *err)
{
    store_txn *t = ud;
    store_done_cb cb = t->cb;
    void *cud = t->ud;

    (void)res;
    (void)err;
    /* A placeholder was sent for a transaction that could not be built. */
    if (t->build_rc != 0)
        rc = t->build_rc;
    free(t);
    if (cb != NULL)
        cb(cud, rc);
}

/* The placeholder statement: an answer from the loop, in submission order. */
static db_txn *placeholder(struct db *d, int readonly)
{
    db_txn *dt = db_txn_new(d);

    if (dt != NULL && db_txn_add(dt, "SELECT 1", 0, NULL) < 0) {
        db_txn_free(dt);
        return NULL;
    }
    if (dt != NULL && readonly)
        db_txn_set_readonly(dt);
    return dt;
}

static void dbs_txn_submit(store_txn *t, store_done_cb cb, void *ud)
{
    struct db *d = t->s->d;
    db_txn *dt = NULL;
    int rc;

    t->cb = cb;
    t->ud = ud;
    if (d == NULL) {
        dbs_txn_free(t);
        if (cb != NULL)
            cb(ud, DB_EUNAVAIL);
        return;
    }
    if (t->build_rc == 0 && t->n > 0 && (dt = db_txn_new(d)) != NULL) {
        for (int i = 0; i < t->n; i++) {
            rc = db_txn_add(dt, t->stmts[i].sql, t->stmts[i].n_params, stmt_params(&t->stmts[i]));
            if (rc < 0) {
                t->build_rc = DB_ENOMEM;
                db_txn_free(dt);
                dt = NULL;
                break;
            }
        }
    } else if (t->build_rc == 0 && t->n > 0) {
        t->build_rc = DB_ENOMEM;
    }
    stmts_free(t);
    if (dt == NULL)
        dt = placeholder(d, 0);
    if (dt == NULL) {
        free(t);
        if (cb != NULL)
            cb(ud, DB_ENOMEM);
        return;
    }
    db_txn_submit(dt, txn_done, t);
}

/* ---- writes ---- */

static int dbs_put_booking(store_txn *t, const store_booking_row *r)
{
    static const char *sql =
        "INSERT INTO bookings (id, service_date, rider_id, created_by, status, pickup_stop, "
        "pickup_lat, pickup_lon, drop_stop, drop_lat, drop_lon, when_kind, time_s, passengers, "
        "wheelchairs, requested_s, expires_s, promise_from_s, promise_to_s, latest_dropoff_s, "
        "vehicle_id, planned_pickup_s, planned_dropoff_s, pickup_s, dropoff_s, reason, notes) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,"
        "$23,$24,$25,$26,$27) ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, "
        "expires_s = EXCLUDED.expires_s, promise_from_s = EXCLUDED.promise_from_s, "
        "promise_to_s = EXCLUDED.promise_to_s, latest_dropoff_s = EXCLUDED.latest_dropoff_s, "
        "vehicle_id = EXCLUDED.vehicle_id, planned_pickup_s = EXCLUDED.planned_pickup_s, "
        "planned_dropoff_s = EXCLUDED.planned_dropoff_s, pickup_s = EXCLUDED.pickup_s, "
        "dropoff_s = EXCLUDED.dropoff_s, reason = EXCLUDED.reason, attention = NULL, "
        "updated_at = now()";
    char b[16][NUM_LEN];
    const char *p[27];

    p[0] = r->id;
    p[1] = r->date;
    p[2] = ref_or_null(r->rider_id);
    p[3] = r->created_by;
    p[4] = r->status;
    p[5] = r->pickup_stop;
    p[6] = coord(b[0], r->pickup_lat);
    p[7] = coord(b[1], r->pickup_lon);
    p[8] = r->drop_stop;
    p[9] = coord(b[2], r->drop_lat);
    p[10] = coord(b[3], r->drop_lon);
    p[11] = r->when_kind;
    p[12] = num_or_null(b[4], r->time_s);
    p[13] = num(b[5], r->passengers);
    p[14] = num(b[6], r->wheelchairs);
    p[15] = num(b[7], r->requested_s);
    p[16] = num_or_null(b[8], r->expires_s);
    p[17] = num_or_null(b[9], r->promise_from_s);
    p[18] = num_or_null(b[10], r->promise_to_s);
    p[19] = num_or_null(b[11], r->latest_dropoff_s);
    p[20] = r->vehicle_id;
    p[21] = num_or_null(b[12], r->planned_pickup_s);
    p[22] = num_or_null(b[13], r->planned_dropoff_s);
    p[23] = num_or_null(b[14], r->pickup_s);
    p[24] = num_or_null(b[15], r->dropoff_s);
    p[25] = or_empty(r->reason);
    p[26] = or_empty(r->notes);
    return txn_add(t, sql, 27, p);
}

static int dbs_put_event(store_txn *t, const store_event_row *r)
{
    static const char *sql =
        "INSERT INTO booking_events (booking_id, service_date, time_s, kind, from_status, "
        "to_status, vehicle_id, detail, actor, event_key) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,"
        "$10) ON CONFLICT (event_key) DO NOTHING";
    char ts[NUM_LEN];
    const char *p[10] = {r->booking_id,      r->date,      num(ts, r->time_s), r->kind,
                         r->from_status,     r->to_status, r->vehicle_id,      or_empty(r->detail),
                         or_empty(r->actor), r->event_key};

    return txn_add(t, sql, 10, p);
}

static int dbs_put_plan(store_txn *t, const store_plan_row *r)
{
    static const char *sql =
        "INSERT INTO plans (vehicle_id, service_date, seq, stops) VALUES ($1,$2,$3,$4) "
        "ON CONFLICT (vehicle_id, service_date) DO UPDATE SET seq = EXCLUDED.seq, "
        "stops = EXCLUDED.stops, updated_at = now() WHERE plans.seq < EXCLUDED.seq";
    char seq[NUM_LEN];
    const char *p[4] = {r->vehicle_id, r->date, num(seq, r->seq), r->stops ? r->stops : "[]"};

    return txn_add(t, sql, 4, p);
}

static int dbs_put_idem(store_txn *t, const store_idem_row *r)
{
    static const char *sql = "INSERT INTO idempotency_keys (token_id, key, method, path, "
                             "request_sha256, status, response) VALUES ($1,$2,$3,$4,$5,$6,$7) "
                             "ON CONFLICT (token_id, key) DO NOTHING";
    char st[NUM_LEN];
    const char *p[7] = {
        r->token_id,          r->key, r->method, r->path, r->request_sha256, num(st, r->status),
        or_empty(r->response)};

    return txn_add(t, sql, 7, p);
}

static int dbs_put_driver_event(store_txn *t, const store_driver_event_row *r)
{
    static const char *sql =
        "INSERT INTO driver_events (vehicle_id, event_id, kind, booking_id, service_date, "
        "unix_ms, result) VALUES ($1,$2,$3,$4,$5::date,$6::bigint,$7) "
        "ON CONFLICT (vehicle_id, event_id) DO NOTHING";
    char ms[NUM_LEN];
    const char *p[7] = {r->vehicle_id, r->event_id,
                        r->kind,       or_empty(r->booking_id),
                        r->date,       num(ms, r->unix_ms < 0 ? 0 : r->unix_ms),
                        r->result};

    return txn_add(t, sql, 7, p);
}

/* The digits a search by phone compares: jt_fold_phone (+81 -> 0), or the
 * digits alone when the text is not a phone number. */
static void phone_digits(const char *phone, char *out, size_t len)
{
    size_t k = 0;

    if (jt_fold_phone(phone, out, len) == 0)
        return;
    for (const char *q = phone ? phone : ""; *q && k + 1 < len; q++)
        if (*q >= '0' && *q <= '9')
            out[k++] = *q;
    out[k] = '\0';
}

/* The parameters $1..$13 of a rider (insert and update share them): id,
 * name, kana, phone, digits, address, stop, lat, lon, wheelchair,
 * mobility, notes, name_fold.  *fold is allocated when r has no
 * name_fold (the caller frees it); -1 when out of memory. */
static int rider_params(const store_rider_row *r, const char **p, char lat[NUM_LEN],
                        char lon[NUM_LEN], char digits[64], char **fold)
{
    int has_home = !isnan(r->home_lat) && !isnan(r->home_lon);

    *fold = NULL;
    if (r->phone_digits == NULL)
        phone_digits(r->phone, digits, 64);
    if (r->name_fold == NULL) {
        size_t cap = strlen(r->name ? r->name : "") + strlen(or_empty(r->name_kana)) + 2;
        if ((*fold = malloc(cap)) == NULL)
            return -1;
        if (jt_fold_rider(r->name, r->name_kana, *fold, cap) < 0)
            (*fold)[0] = '\0';
    }
    p[0] = r->id;
    p[1] = r->name;
    p[2] = or_empty(r->name_kana);
    p[3] = or_empty(r->phone);
    p[4] = r->phone_digits != NULL ? r->phone_digits : digits;
    p[5] = or_empty(r->home_address);
    p[6] = r->home_stop_id;
    p[7] = has_home ? coord(lat, r->home_lat) : NULL;
    p[8] = has_home ? coord(lon, r->home_lon) : NULL;
    p[9] = r->wheelchair ? "true" : "false";
    p[10] = or_empty(r->mobility);
    p[11] = or_empty(r->notes);
    p[12] = r->name_fold != NULL ? r->name_fold : *fold;
    return 0;
}

static int dbs_put_rider(store_txn *t, const store_rider_row *r)
{
    static const char *sql =
        "INSERT INTO riders (id, name, name_kana, phone, phone_digits, home_address, "
        "home_stop, home_lat, home_lon, wheelchair, mobility, notes, name_fold) VALUES ($1,$2,$3,"
        "$4,$5,$6,$7,$8::float8,$9::float8,$10::boolean,$11,$12,$13)";
    char lat[NUM_LEN], lon[NUM_LEN], digits[64], *fold;
    const char *p[13];
    int rc;

    if (rider_params(r, p, lat, lon, digits, &fold) < 0)
        return t->build_rc = DB_ENOMEM;
    rc = txn_add(t, sql, 13, p);
    free(fold);
    return rc;
}

static int dbs_update_rider(store_txn *t, const store_rider_row *r)
{
    static const char *sql =
        "UPDATE riders SET name = $2, name_kana = $3, phone = $4, phone_digits = $5, "
        "home_address = $6, home_stop = $7, home_lat = $8::float8, home_lon = $9::float8, "
        "wheelchair = $10::boolean, mobility = $11, notes = $12, name_fold = $13, "
        "updated_at = now() WHERE id = $1";
    char lat[NUM_LEN], lon[NUM_LEN], digits[64], *fold;
    const char *p[13];
    int rc;

    if (rider_params(r, p, lat, lon, digits, &fold) < 0)
        return t->build_rc = DB_ENOMEM;
    rc = txn_add(t, sql, 13, p);
    free(fold);
    return rc;
}

/* The guard (store.h): both exist, differ, neither merged, from has no
 * trip in progress; from is locked so that a concurrent merge of it waits
 * and then finds it merged.  The bookings' CTE runs whether or not the
 * outer statement reads it, and only for a guard that held. */
static int dbs_merge_rider(store_txn *t, const char *from_id, const char *into_id)
{
    static const char *sql =
        "WITH ok AS (SELECT f.id FROM riders f JOIN riders i ON i.id = $2 WHERE f.id = $1 "
        "AND f.id <> i.id AND f.merged_into IS NULL AND i.merged_into IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM bookings b WHERE b.rider_id = $1 AND b.status = 'picked_up') "
        "FOR UPDATE OF f), mv AS (UPDATE bookings SET rider_id = $2, updated_at = now() "
        "WHERE rider_id IN (SELECT id FROM ok) RETURNING id) UPDATE riders SET merged_into = $2, "
        "merged_at = now(), updated_at = now() WHERE id IN (SELECT id FROM ok)";
    const char *p[2] = {from_id, into_id};

    return txn_add(t, sql, 2, p);
}

static int dbs_put_token(store_txn *t, const store_token_row *r)
{
    static const char *sql = "INSERT INTO tokens (id, token_sha256, role, rider_id, "
                             "vehicle_id, label) VALUES ($1,$2,$3,$4,$5,$6)";
    const char *p[6] = {r->id,
                        r->token_sha256,
                        r->role,
                        ref_or_null(r->rider_id),
                        ref_or_null(r->vehicle_id),
                        or_empty(r->label)};

    return txn_add(t, sql, 6, p);
}

static int dbs_revoke_token(store_txn *t, const char *token_id)
{
    const char *p[1] = {token_id};

    return txn_add(t, "UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                   1, p);
}

static int dbs_vehicle_out(store_txn *t, const char *vehicle_id, const char *date)
{
    const char *p[2] = {vehicle_id, date};

    return txn_add(t, "UPDATE vehicles SET out_of_service_on = $2::date WHERE id = $1", 2, p);
}

/* routes.c's cancel_unplanned and service.c's expiry of an offer not
 * restored, as one statement: the reason is the detail only for a
 * cancellation (as the cancel wrote it; an expiry left it alone). */
static int dbs_end_stored_booking(store_txn *t, const char *booking_id, const char *from,
                                  const char *to, int time_s, const char *detail, const char *actor,
                                  const char *event_key)
{
    static const char *sql =
        "WITH u AS (UPDATE bookings SET status = $3, attention = NULL, reason = CASE WHEN $3 = "
        "'cancelled' THEN $4 ELSE reason END, updated_at = now() WHERE id = $1 AND status = $2 "
        "RETURNING id, service_date) INSERT INTO booking_events (booking_id, service_date, "
        "time_s, kind, from_status, to_status, vehicle_id, detail, actor, event_key) SELECT id, "
        "service_date, $5::int, 'status', $2, $3, NULL, $4, $6, $7 FROM u "
        "ON CONFLICT (event_key) DO NOTHING";
    char ts[NUM_LEN];
    const char *p[7] = {booking_id,      from,     to, or_empty(detail), num(ts, time_s),
                        or_empty(actor), event_key};

    return txn_add(t, sql, 7, p);
}

/* service.c's not_restored for a confirmed trip: the van and planned times
 * are dropped with the mark (no plan holds it any more), once. */
static int dbs_mark_attention(store_txn *t, const char *booking_id, const char *status,
                              const char *attention, int time_s, const char *actor,
                              const char *event_key)
{
    static const char *sql =
        "WITH u AS (UPDATE bookings SET attention = $3, vehicle_id = NULL, "
        "planned_pickup_s = NULL, planned_dropoff_s = NULL, updated_at = now() "
        "WHERE id = $1 AND status = $2 AND attention IS NULL RETURNING id, service_date) "
        "INSERT INTO booking_events (booking_id, service_date, time_s, kind, from_status, "
        "to_status, vehicle_id, detail, actor, event_key) SELECT id, service_date, "
        "$4::int, 'attention', $2, $2, NULL, $3, $5, $6 FROM u "
        "ON CONFLICT (event_key) DO NOTHING";
    char ts[NUM_LEN];
    const char *p[6] = {booking_id, status, attention, num(ts, time_s), or_empty(actor), event_key};

    return txn_add(t, sql, 6, p);
}

/* ---- asynchronous reads ---- */

enum { READ_BOOKINGS, READ_RIDERS, READ_DRIVER_EVENTS };

/* Any callback, kept as a generic function pointer and converted back by
 * kind (C allows the round trip between function pointer types). */
typedef void (*dbs_fn)(void);

typedef struct dbs_read {
    int kind;
    int build_rc;
    dbs_fn cb;
    void *ud;
} dbs_read;

static void read_answer(dbs_read *r, int rc, const void *rows, int n)
{
    switch (r->kind) {
    case READ_BOOKINGS:
        ((store_bookings_cb)r->cb)(r->ud, rc, rows, n);
        break;
    case READ_RIDERS:
        ((store_riders_cb)r->cb)(r->ud, rc, rows, n);
        break;
    default:
        ((store_driver_events_cb)r->cb)(r->ud, rc, rows, n);
        break;
    }
}

static void read_done(void *ud, int rc, const db_result *res, const char *err)
{
    static const int ncols[] = {DBS_BOOKING_NCOLS, DBS_RIDER_NCOLS, DBS_DRIVER_EVENT_NCOLS};
    static const size_t size[] = {sizeof(store_booking_row), sizeof(store_rider_row),
                                  sizeof(store_driver_event_row)};
    dbs_read *r = ud;
    const char *v[DBS_BOOKING_NCOLS];
    char *rows = NULL;
    int n = 0;

    (void)err;
    if (r->build_rc != 0)
        rc = r->build_rc;
    if (rc == 0) {
        n = db_result_rows(res, 0);
        if (n < 0 || db_result_cols(res, 0) < ncols[r->kind]) {
            rc = DB_EQUERY;
            n = 0;
        } else if (n > 0 && (rows = malloc((size_t)n * size[r->kind])) == NULL) {
            rc = DB_ENOMEM;
            n = 0;
        }
    }
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < ncols[r->kind]; c++)
            v[c] = db_result_value(res, 0, i, c);
        if (r->kind == READ_BOOKINGS)
            decode_booking(v, (store_booking_row *)(void *)rows + i);
        else if (r->kind == READ_RIDERS)
            decode_rider(v, (store_rider_row *)(void *)rows + i);
        else
            decode_driver_event(v, (store_driver_event_row *)(void *)rows + i);
    }
    read_answer(r, rc, rows, n);
    free(rows);
    free(r);
}

/* One read-only statement (sql NULL: it could not be made, out of memory);
 * the answer always through cb. */
static void read_submit(db_store *s, int kind, const char *sql, int n, const char *const *p,
                        dbs_fn cb, void *ud)
{
    dbs_read *r;
    db_txn *dt = NULL;

    if (s->d == NULL || (r = calloc(1, sizeof(*r))) == NULL) {
        dbs_read now = {kind, 0, cb, ud};
        read_answer(&now, s->d == NULL ? DB_EUNAVAIL : DB_ENOMEM, NULL, 0);
        return;
    }
    r->kind = kind;
    r->cb = cb;
    r->ud = ud;
    if ((dt = db_txn_new(s->d)) != NULL && (sql == NULL || db_txn_add(dt, sql, n, p) < 0)) {
        db_txn_free(dt);
        dt = NULL;
    }
    if (dt != NULL) {
        db_txn_set_readonly(dt);
    } else {
        r->build_rc = DB_ENOMEM;
        dt = placeholder(s->d, 1);
    }
    if (dt == NULL) {
        read_answer(r, DB_ENOMEM, NULL, 0);
        free(r);
        return;
    }
    db_txn_submit(dt, read_done, r);
}

static void dbs_bookings(void *ctx, const store_booking_filter *f, store_bookings_cb cb, void *ud)
{
    static const char *sql =
        "SELECT " DBS_BOOKING_COLS " FROM bookings WHERE ($1::text IS NULL OR rider_id = $1) "
        "AND ($2::date IS NULL OR service_date = $2::date) AND ($3::text IS NULL OR "
        "status = $3) AND ($4::text IS NULL OR id > $4) AND ($6::boolean IS NULL OR "
        "(attention IS NOT NULL) = $6::boolean) ORDER BY id LIMIT $5::int";
    char lim[NUM_LEN];
    const char *p[6] = {f->rider_id,
                        f->date,
                        f->status,
                        f->after_id,
                        f->limit > 0 ? num(lim, f->limit) : NULL,
                        f->attention < 0 ? NULL
                        : f->attention   ? "true"
                                         : "false"};

    read_submit(ctx, READ_BOOKINGS, sql, 6, p, (dbs_fn)cb, ud);
}

static void dbs_booking_get(void *ctx, const char *id, store_bookings_cb cb, void *ud)
{
    const char *p[1] = {id};

    read_submit(ctx, READ_BOOKINGS, "SELECT " DBS_BOOKING_COLS " FROM bookings WHERE id = $1", 1, p,
                (dbs_fn)cb, ud);
}

/* LIKE wildcards of the input taken literally; out has 2 * strlen + 1. */
static void like_escape(const char *in, char *out)
{
    size_t n = 0;

    for (const char *q = in; *q; q++) {
        if (*q == '%' || *q == '_' || *q == '\\')
            out[n++] = '\\';
        out[n++] = *q;
    }
    out[n] = '\0';
}

static void dbs_riders_search(void *ctx, const char *digits, const char *text, int limit,
                              store_riders_cb cb, void *ud)
{
    static const char *sql =
        "SELECT " DBS_RIDER_COLS " FROM riders WHERE merged_into IS NULL AND ($1::text IS NULL "
        "OR phone_digits LIKE '%' || $1 || '%') AND ($2::text IS NULL OR name_fold LIKE '%' || "
        "$2 || '%') ORDER BY name_kana, name, id LIMIT $3::int";
    char lim[NUM_LEN], dig[64], *pat = NULL, *folded = NULL;
    const char *p[3];

    /* Both sides folded alike (name_fold was stored by jt_fold_rider);
     * text that is not UTF-8 folds to "" and so matches every rider, as
     * before (the API refuses it first). */
    phone_digits(digits, dig, sizeof(dig));
    if (text != NULL && text[0] != '\0' &&
        ((folded = malloc(strlen(text) + 1)) == NULL ||
         (pat = malloc(2 * strlen(text) + 1)) == NULL)) {
        free(folded);
        read_submit(ctx, READ_RIDERS, NULL, 0, NULL, (dbs_fn)cb, ud);
        return;
    }
    if (pat != NULL) {
        if (jt_fold_name(text, folded, strlen(text) + 1) < 0)
            folded[0] = '\0';
        like_escape(folded, pat);
    }
    free(folded);
    p[0] = dig[0] ? dig : NULL;
    p[1] = pat;
    p[2] = num(lim, limit > 0 ? limit : 50);
    read_submit(ctx, READ_RIDERS, sql, 3, p, (dbs_fn)cb, ud);
    free(pat);
}

static void dbs_riders_by_phone(void *ctx, const char *phone, store_riders_cb cb, void *ud)
{
    char dig[64];
    const char *p[1];

    phone_digits(phone, dig, sizeof(dig));
    p[0] = dig;
    read_submit(ctx, READ_RIDERS,
                "SELECT " DBS_RIDER_COLS " FROM riders WHERE phone_digits = $1 AND $1 <> '' AND "
                "merged_into IS NULL ORDER BY id",
                1, p, (dbs_fn)cb, ud);
}

static void dbs_riders_get(void *ctx, const char *const *ids, int n, store_riders_cb cb, void *ud)
{
    size_t len = 3;
    char *arr, *q;
    const char *p[1];

    for (int i = 0; i < n; i++)
        len += 2 * strlen(ids[i]) + 3;
    if ((arr = malloc(len)) == NULL) {
        read_submit(ctx, READ_RIDERS, NULL, 0, NULL, (dbs_fn)cb, ud);
        return;
    }
    /* a text[] literal: {"id","id"} with " and \ escaped (as driver.c) */
    q = arr;
    *q++ = '{';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            *q++ = ',';
        *q++ = '"';
        for (const char *c = ids[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                *q++ = '\\';
            *q++ = *c;
        }
        *q++ = '"';
    }
    *q++ = '}';
    *q = '\0';
    p[0] = arr;
    read_submit(ctx, READ_RIDERS,
                "SELECT " DBS_RIDER_COLS " FROM riders WHERE id = ANY($1::text[]) ORDER BY id", 1,
                p, (dbs_fn)cb, ud);
    free(arr);
}

static void dbs_driver_events_recent(void *ctx, int hours, store_driver_events_cb cb, void *ud)
{
    char h[NUM_LEN];
    const char *p[1] = {num(h, hours)};

    read_submit(ctx, READ_DRIVER_EVENTS,
                "SELECT " DBS_DRIVER_EVENT_COLS " FROM driver_events "
                "WHERE received_at > now() - $1::int * interval '1 hour' "
                "ORDER BY received_at, vehicle_id, event_id",
                1, p, (dbs_fn)cb, ud);
}

/* ---- blocking calls ---- */

static int need_conninfo(const db_store *s, char *err, size_t err_len)
{
    if (s->conninfo == NULL)
        return slv_errf(err, err_len, DB_EINVAL, "the store has no conninfo for blocking calls");
    return 0;
}

/* A JSON string (with its quotes) of s into buf at *len; 0 or -1 when full. */
static int json_str(char *buf, size_t cap, size_t *len, const char *s)
{
    if (s == NULL) {
        if (*len + 5 > cap)
            return -1;
        memcpy(buf + *len, "null", 5);
        *len += 4;
        return 0;
    }
    if (*len + 1 >= cap)
        return -1;
    buf[(*len)++] = '"';
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (*len + 8 >= cap)
            return -1;
        if (*q == '"' || *q == '\\')
            *len += (size_t)snprintf(buf + *len, cap - *len, "\\%c", *q);
        else if (*q < 0x20)
            *len += (size_t)snprintf(buf + *len, cap - *len, "\\u%04x", *q);
        else
            buf[(*len)++] = (char)*q;
    }
    if (*len + 2 > cap)
        return -1;
    buf[(*len)++] = '"';
    buf[*len] = '\0';
    return 0;
}

static int dbs_upsert_fleet(void *ctx, const store_vehicle_row *v, int n, char *err, size_t err_len)
{
    db_store *s = ctx;
    size_t cap = 16, len = 0;
    char *js;
    const char *p[1];
    int rc;

    if ((rc = need_conninfo(s, err, err_len)) < 0)
        return rc;
    for (int i = 0; i < n; i++)
        cap += 128 + 6 * (strlen(v[i].id) + (v[i].depot_stop ? strlen(v[i].depot_stop) : 0)) +
               (v[i].configs ? strlen(v[i].configs) : 2);
    if ((js = malloc(cap)) == NULL)
        return slv_errf(err, err_len, DB_ENOMEM, "out of memory for the fleet of %d vehicles", n);
    js[len++] = '[';
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(js + len, cap - len, "%s{\"id\":", i ? "," : "");
        json_str(js, cap, &len, v[i].id);
        /* configs is JSON already (store.h); depot as %.7f degrees */
        len += (size_t)snprintf(js + len, cap - len,
                                ",\"configs\":%s,\"depot_lat\":%.7f,\"depot_lon\":%.7f,"
                                "\"depot_stop\":",
                                v[i].configs ? v[i].configs : "[]", v[i].depot_lat, v[i].depot_lon);
        json_str(js, cap, &len, v[i].depot_stop);
        len += (size_t)snprintf(js + len, cap - len, "}");
    }
    snprintf(js + len, cap - len, "]");
    p[0] = js;
    rc = db_exec_blocking(
        s->conninfo,
        "INSERT INTO vehicles (id, name, configs, depot_lat, depot_lon, depot_stop, active) "
        "SELECT x.id, x.id, x.configs, x.depot_lat, x.depot_lon, x.depot_stop, true "
        "FROM jsonb_to_recordset($1::jsonb) AS x(id text, configs jsonb, depot_lat float8, "
        "depot_lon float8, depot_stop text) ON CONFLICT (id) DO UPDATE SET configs = "
        "EXCLUDED.configs, depot_lat = EXCLUDED.depot_lat, depot_lon = EXCLUDED.depot_lon, "
        "depot_stop = EXCLUDED.depot_stop, active = true",
        1, p, NULL, NULL, err, err_len);
    free(js);
    return rc;
}

/* db_exec_blocking's rows, decoded for a load_* caller. */
typedef struct load_ctx {
    int need_cols;
    void (*decode)(struct load_ctx *c, const char *const *v);
    dbs_fn row;
    void *ud;
} load_ctx;

static void load_row(void *ud, int n_cols, const char *const *v)
{
    load_ctx *c = ud;

    if (n_cols >= c->need_cols)
        c->decode(c, v);
}

static void dec_token(load_ctx *c, const char *const *v)
{
    store_token_row r = {v[0], v[1], v[2], v[3], v[4], v[5]};
    ((void (*)(void *, const store_token_row *))c->row)(c->ud, &r);
}

static void dec_id(load_ctx *c, const char *const *v)
{
    ((void (*)(void *, const char *))c->row)(c->ud, v[0]);
}

static void dec_idem(load_ctx *c, const char *const *v)
{
    store_idem_row r = {v[0], v[1], v[2], v[3], v[4], int_of(v[5]), v[6], int64_of(v[7])};
    ((void (*)(void *, const store_idem_row *))c->row)(c->ud, &r);
}

static void dec_seq(load_ctx *c, const char *const *v)
{
    ((void (*)(void *, const char *, const char *, int64_t))c->row)(c->ud, v[0], v[1],
                                                                    int64_of(v[2]));
}

static void dec_booking(load_ctx *c, const char *const *v)
{
    store_booking_row r;
    decode_booking(v, &r);
    ((void (*)(void *, const store_booking_row *))c->row)(c->ud, &r);
}

static int load(db_store *s, const char *sql, int n, const char *const *p, load_ctx *c, char *err,
                size_t err_len)
{
    int rc = need_conninfo(s, err, err_len);

    if (rc < 0)
        return rc;
    return db_exec_blocking(s->conninfo, sql, n, p, load_row, c, err, err_len);
}

static int dbs_load_tokens(void *ctx, void (*row)(void *ud, const store_token_row *r), void *ud,
                           char *err, size_t err_len)
{
    load_ctx c = {6, dec_token, (dbs_fn)row, ud};

    return load(ctx,
                "SELECT id, token_sha256, role, rider_id, vehicle_id, label FROM tokens "
                "WHERE revoked_at IS NULL",
                0, NULL, &c, err, err_len);
}

static int dbs_load_rider_ids(void *ctx, void (*row)(void *ud, const char *id), void *ud, char *err,
                              size_t err_len)
{
    load_ctx c = {1, dec_id, (dbs_fn)row, ud};

    return load(ctx, "SELECT id FROM riders", 0, NULL, &c, err, err_len);
}

static int dbs_load_idem(void *ctx, int hours, void (*row)(void *ud, const store_idem_row *r),
                         void *ud, char *err, size_t err_len)
{
    load_ctx c = {8, dec_idem, (dbs_fn)row, ud};
    char h[NUM_LEN];
    const char *p[1] = {num(h, hours)};

    return load(ctx,
                "SELECT token_id, key, method, path, request_sha256, status, response, "
                "extract(epoch FROM created_at)::bigint FROM idempotency_keys "
                "WHERE created_at > now() - $1::int * interval '1 hour'",
                1, p, &c, err, err_len);
}

static int dbs_load_plan_seqs(void *ctx,
                              void (*row)(void *ud, const char *vehicle_id, const char *date,
                                          int64_t seq),
                              void *ud, char *err, size_t err_len)
{
    load_ctx c = {3, dec_seq, (dbs_fn)row, ud};

    return load(ctx, "SELECT vehicle_id, service_date::text, seq FROM plans", 0, NULL, &c, err,
                err_len);
}

static int dbs_load_out_of_service(void *ctx, const char *date,
                                   void (*row)(void *ud, const char *vehicle_id), void *ud,
                                   char *err, size_t err_len)
{
    load_ctx c = {1, dec_id, (dbs_fn)row, ud};
    const char *p[1] = {date};

    return load(ctx, "SELECT id FROM vehicles WHERE out_of_service_on = $1::date", 1, p, &c, err,
                err_len);
}

static int dbs_load_open_bookings(void *ctx, const char *from_date,
                                  void (*row)(void *ud, const store_booking_row *r), void *ud,
                                  char *err, size_t err_len)
{
    load_ctx c = {DBS_BOOKING_NCOLS, dec_booking, (dbs_fn)row, ud};
    const char *p[1] = {from_date};

    return load(ctx,
                "SELECT " DBS_BOOKING_COLS " FROM bookings WHERE service_date >= $1::date AND "
                "status IN ('offered', 'confirmed', 'assigned', 'picked_up') "
                "ORDER BY service_date, CASE status WHEN 'picked_up' THEN 0 WHEN 'offered' THEN 2 "
                "ELSE 1 END, promise_from_s, id",
                1, p, &c, err, err_len);
}

static int dbs_exec_txn_blocking(void *ctx, store_txn *t, char *err, size_t err_len)
{
    db_store *s = ctx;
    db_blocking_stmt *st = NULL;
    int rc;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if ((rc = need_conninfo(s, err, err_len)) < 0)
        goto out;
    if (t->build_rc != 0) {
        rc = slv_errf(err, err_len, t->build_rc,
                      "a statement could not be added to the transaction (out of memory)");
        goto out;
    }
    if (t->n > 0 && (st = malloc((size_t)t->n * sizeof(*st))) == NULL) {
        rc = slv_errf(err, err_len, DB_ENOMEM, "out of memory for %d statements", t->n);
        goto out;
    }
    for (int i = 0; i < t->n; i++) {
        st[i].sql = t->stmts[i].sql;
        st[i].n_params = t->stmts[i].n_params;
        st[i].params = stmt_params(&t->stmts[i]);
    }
    rc = db_exec_blocking_txn(s->conninfo, st, t->n, err, err_len);
out:
    free(st);
    dbs_txn_free(t);
    return rc;
}

static int dbs_ready(void *ctx)
{
    db_store *s = ctx;

    return s->d != NULL && db_ready(s->d);
}

static const store_ops dbs_ops = {
    .ready = dbs_ready,
    .txn_new = dbs_txn_new,
    .txn_free = dbs_txn_free,
    .txn_submit = dbs_txn_submit,
    .put_booking = dbs_put_booking,
    .put_event = dbs_put_event,
    .put_plan = dbs_put_plan,
    .put_idem = dbs_put_idem,
    .put_driver_event = dbs_put_driver_event,
    .put_rider = dbs_put_rider,
    .put_token = dbs_put_token,
    .revoke_token = dbs_revoke_token,
    .vehicle_out = dbs_vehicle_out,
    .end_stored_booking = dbs_end_stored_booking,
    .bookings = dbs_bookings,
    .booking_get = dbs_booking_get,
    .riders_search = dbs_riders_search,
    .riders_get = dbs_riders_get,
    .driver_events_recent = dbs_driver_events_recent,
    .upsert_fleet = dbs_upsert_fleet,
    .load_tokens = dbs_load_tokens,
    .load_rider_ids = dbs_load_rider_ids,
    .load_idem = dbs_load_idem,
    .load_plan_seqs = dbs_load_plan_seqs,
    .load_out_of_service = dbs_load_out_of_service,
    .load_open_bookings = dbs_load_open_bookings,
    .exec_txn_blocking = dbs_exec_txn_blocking,
    .mark_attention = dbs_mark_attention,
    .update_rider = dbs_update_rider,
    .merge_rider = dbs_merge_rider,
    .riders_by_phone = dbs_riders_by_phone,
};

int db_store_create(struct db *d, const char *conninfo, db_store **out)
{
    db_store *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL)
        return DB_ENOMEM;
    s->d = d;
    if (conninfo != NULL && (s->conninfo = strdup(conninfo)) == NULL) {
        free(s);
        return DB_ENOMEM;
    }
    *out = s;
    return 0;
}

void db_store_set_db(db_store *s, struct db *d)
{
    s->d = d;
}

void db_store_destroy(db_store *s)
{
    if (s == NULL)
        return;
    free(s->conninfo);
    free(s);
}

store db_store_get(db_store *s)
{
    store st = {&dbs_ops, s};

    return st;
}
