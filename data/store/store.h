/*
 * store.h - the narrow interface between the service layer and where its
 * records are kept: one struct of functions (store_ops) and the records
 * that cross it, written as plain values (text, integers) with no SQL and
 * no JSON.  Two implementations:
 *
 *   data/db/db_store.c    PostgreSQL, through data/db (libpq on a libuv loop;
 *                         writes are group-committed transactions)
 *   data/store/store_mem.c  in memory: the simulator and unit tests; it can
 *                         be told to fail commits (now, or with an unknown
 *                         outcome) to test what callers do then
 *
 * Writes.  A store_txn collects records (put_*) and is submitted with a
 * callback that runs once it is committed (rc 0) or has failed (rc < 0, a
 * DB_E* code of data/db/db_err.h: DB_EUNAVAIL not committed, DB_EUNKNOWN outcome
 * unknown, DB_EQUERY/DB_ECONFLICT refused for good, DB_ENOMEM).  Only after
 * rc 0 may a change be acknowledged to anyone.  Submission always takes the
 * transaction (the callback comes later, also on failure, never from inside
 * txn_submit).  Order of submission is order of commit.  Every put_* is an
 * upsert or an idempotent insert, as its comment says, so a change re-sent
 * after DB_EUNKNOWN is stored once.
 *
 * Reads.  Asynchronous reads (lists, look-ups) answer through a callback
 * with an array of records valid only inside the callback.  The load_*
 * functions block and are for the start, before the loop serves.
 *
 * Integers: -1 means "none" (SQL NULL) for times, seconds and seqs that are
 * never negative otherwise.  Strings: NULL means none; all text is UTF-8.
 *
 * Ownership: the store copies whatever a put_* is given; the records handed
 * to callbacks belong to the store.
 */
#ifndef NORIAI_STORE_H
#define NORIAI_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store_txn store_txn;

/* ---- records ---- */

typedef struct store_booking_row {
    const char *id, *date; /* date: service day "YYYY-MM-DD" */
    const char *rider_id, *created_by, *status;
    const char *pickup_stop; /* area stop id, or NULL for a free point */
    double pickup_lat, pickup_lon;
    const char *drop_stop;
    double drop_lat, drop_lon;
    const char *when_kind; /* "asap", "depart_after", "arrive_by" */
    int time_s;            /* -1 for asap */
    int passengers, wheelchairs;
    int requested_s, expires_s;
    int promise_from_s, promise_to_s, latest_dropoff_s;
    const char *vehicle_id;
    int planned_pickup_s, planned_dropoff_s, pickup_s, dropoff_s;
    const char *reason, *notes;
    const char *attention; /* NULL, or why the operators must look ("not_planned") */
} store_booking_row;

typedef struct store_event_row {
    const char *booking_id, *date;
    int time_s;
    const char *kind, *from_status, *to_status, *vehicle_id, *detail, *actor;
    const char *event_key; /* unique: a re-sent event is stored once */
} store_event_row;

typedef struct store_plan_row {
    const char *vehicle_id, *date;
    int64_t seq;         /* an older seq never replaces a newer one */
    const char *stops;   /* compact JSON [[booking, "p"|"d"|"b", planned_s, committed], ...] */
} store_plan_row;

typedef struct store_idem_row {
    const char *token_id, *key, *method, *path, *request_sha256;
    int status;
    const char *response;
    int64_t created_unix; /* loads only */
} store_idem_row;

typedef struct store_driver_event_row {
    const char *vehicle_id, *event_id, *kind, *booking_id, *date;
    int64_t unix_ms;
    const char *result; /* "ok" or the refusal */
} store_driver_event_row;

typedef struct store_rider_row {
    const char *id, *name, *name_kana, *phone, *phone_digits, *home_address, *home_stop_id;
    double home_lat, home_lon; /* both NAN when none */
    int wheelchair;            /* 0/1 */
    const char *mobility, *notes;
    const char *created; /* ISO time, reads only */
    /* What a search by name compares (data/text/jtext.h jt_fold_rider of
     * name and kana); NULL in a put: the store folds it. */
    const char *name_fold;
    const char *merged_into; /* reads only: the rider this one was merged into, or NULL */
} store_rider_row;

typedef struct store_token_row {
    const char *id, *token_sha256, *role, *rider_id, *vehicle_id, *label;
} store_token_row;

typedef struct store_vehicle_row {
    const char *id;
    const char *configs; /* JSON [{"seats":n,"wheelchairs":n},...] */
    double depot_lat, depot_lon;
    const char *depot_stop;
} store_vehicle_row;

typedef struct store_booking_filter {
    const char *rider_id, *date, *status; /* NULL: any */
    const char *after_id;                 /* cursor: ids greater than this */
    int attention;                        /* -1 any, 0 without, 1 with */
    int limit;                            /* <= 0: no limit */
} store_booking_filter;

/* ---- callbacks ---- */

typedef void (*store_done_cb)(void *ud, int rc);
typedef void (*store_bookings_cb)(void *ud, int rc, const store_booking_row *rows, int n);
typedef void (*store_riders_cb)(void *ud, int rc, const store_rider_row *rows, int n);
typedef void (*store_driver_events_cb)(void *ud, int rc, const store_driver_event_row *rows, int n);

/* ---- the interface ---- */

typedef struct store_ops {
    /* 1 when writes can be submitted now (connected). */
    int (*ready)(void *ctx);

    /* Write transactions. */
    store_txn *(*txn_new)(void *ctx); /* NULL on out of memory */
    void (*txn_free)(store_txn *t);   /* one never submitted */
    void (*txn_submit)(store_txn *t, store_done_cb cb, void *ud);
    /* Each returns 0 or DB_ENOMEM. */
    int (*put_booking)(store_txn *t, const store_booking_row *r);  /* upsert by id; clears attention */
    int (*put_event)(store_txn *t, const store_event_row *r);      /* insert, once per event_key */
    int (*put_plan)(store_txn *t, const store_plan_row *r);        /* upsert if seq is newer */
    int (*put_idem)(store_txn *t, const store_idem_row *r);        /* insert, once per (token, key) */
    int (*put_driver_event)(store_txn *t, const store_driver_event_row *r); /* once per (vehicle, event_id) */
    int (*put_rider)(store_txn *t, const store_rider_row *r);      /* insert (see update_rider) */
    int (*put_token)(store_txn *t, const store_token_row *r);      /* insert */
    int (*revoke_token)(store_txn *t, const char *token_id);
    int (*vehicle_out)(store_txn *t, const char *vehicle_id, const char *date);
    /* A booking kept only in the store (not placed after a restart) ends:
     * status from -> to, with one event (key, actor, detail) if the row
     * still had status from; attention cleared. */
    int (*end_stored_booking)(store_txn *t, const char *booking_id, const char *from,
                              const char *to, int time_s, const char *detail, const char *actor,
                              const char *event_key);

    /* Reads (asynchronous; rows valid inside the callback). */
    void (*bookings)(void *ctx, const store_booking_filter *f, store_bookings_cb cb, void *ud);
    void (*booking_get)(void *ctx, const char *id, store_bookings_cb cb, void *ud);
    /* by phone digits (contained), or by name/kana (contained, any case);
     * both given: both must match; limit <= 0 means 50.  The store folds
     * both (jt_fold_phone, jt_fold_name) and compares them with the
     * stored phone_digits and name_fold; merged riders are never found. */
    void (*riders_search)(void *ctx, const char *digits, const char *text, int limit,
                          store_riders_cb cb, void *ud);
    void (*riders_get)(void *ctx, const char *const *ids, int n, store_riders_cb cb, void *ud);
    void (*driver_events_recent)(void *ctx, int hours, store_driver_events_cb cb, void *ud);

    /* Blocking, before serving: each calls row() per record; 0 or DB_E*. */
    int (*upsert_fleet)(void *ctx, const store_vehicle_row *v, int n, char *err, size_t err_len);
    int (*load_tokens)(void *ctx, void (*row)(void *ud, const store_token_row *r), void *ud,
                       char *err, size_t err_len); /* not revoked */
    int (*load_rider_ids)(void *ctx, void (*row)(void *ud, const char *id), void *ud, char *err,
                          size_t err_len);
    int (*load_idem)(void *ctx, int hours, void (*row)(void *ud, const store_idem_row *r),
                     void *ud, char *err, size_t err_len);
    int (*load_plan_seqs)(void *ctx,
                          void (*row)(void *ud, const char *vehicle_id, const char *date,
                                      int64_t seq),
                          void *ud, char *err, size_t err_len);
    int (*load_out_of_service)(void *ctx, const char *date,
                               void (*row)(void *ud, const char *vehicle_id), void *ud, char *err,
                               size_t err_len);
    /* Open bookings (offered, confirmed, assigned, picked_up) of from_date
     * and later: picked up first, then confirmed/assigned, offers last, by
     * date and promised pickup. */
    int (*load_open_bookings)(void *ctx, const char *from_date,
                              void (*row)(void *ud, const store_booking_row *r), void *ud,
                              char *err, size_t err_len);
    /* Blocking writes at the start (restore, demo data), committed at once,
     * in one transaction; takes t (also on failure), as txn_submit does. */
    int (*exec_txn_blocking)(void *ctx, store_txn *t, char *err, size_t err_len);
    /* The service's own start-time mark of a booking it could not restore:
     * attention set (if not yet) with one event; 0 or DB_E*. */
    int (*mark_attention)(store_txn *t, const char *booking_id, const char *status,
                          const char *attention, int time_s, const char *actor,
                          const char *event_key);

    /* ---- riders: edit, find duplicates, merge (issue 12) ---- */

    /* Sets the editable fields of rider r->id (name, name_kana, phone,
     * home_address, home_stop_id, home_lat/lon, wheelchair, mobility,
     * notes) and, when r gives them NULL, phone_digits and name_fold
     * folded from them (as put_rider does).  An unknown id changes
     * nothing; setting the same values again is harmless.  0 or DB_ENOMEM. */
    int (*update_rider)(store_txn *t, const store_rider_row *r);
    /* Rider from_id merged into into_id: every booking of from_id moves to
     * into_id and from_id is marked merged_into (kept, never found by a
     * search again).  Happens only while both exist, neither is merged,
     * they differ and from_id has no booking picked_up; otherwise the
     * statement changes nothing (the caller checks first and reads back).
     * 0 or DB_ENOMEM. */
    int (*merge_rider)(store_txn *t, const char *from_id, const char *into_id);
    /* Riders not merged whose phone_digits equal jt_fold_phone(phone)
     * exactly (none for a phone that folds to ""), by id. */
    void (*riders_by_phone)(void *ctx, const char *phone, store_riders_cb cb, void *ud);
} store_ops;

/* A store: its functions and their context. */
typedef struct store {
    const store_ops *ops;
    void *ctx;
} store;

/* ---- PostgreSQL (data/db/db_store.c) ---- */

struct db; /* data/db/db.h */
typedef struct db_store db_store;

/* A store over connection d (may be NULL before the loop runs: then only
 * the blocking calls work, ready() is 0 and the rest fail DB_EUNAVAIL) and
 * conninfo for the blocking calls.  0 or DB_ENOMEM. */
int db_store_create(struct db *d, const char *conninfo, db_store **out);
/* Points the store at connection d (the loop's, once it exists). */
void db_store_set_db(db_store *s, struct db *d);
void db_store_destroy(db_store *s);
store db_store_get(db_store *s);

/* ---- the in-memory store (store_mem.c) ---- */

typedef struct store_mem store_mem;

int store_mem_create(store_mem **out); /* 0 or DB_ENOMEM */
void store_mem_destroy(store_mem *m);
/* The store interface over m. */
store store_mem_store(store_mem *m);
/* Failure injection: the next n submitted transactions fail with rc
 * (DB_EUNAVAIL: nothing kept; DB_EUNKNOWN: kept, but reported unknown;
 * DB_EQUERY: nothing kept). ready() answers !unavailable. */
void store_mem_fail_next(store_mem *m, int n, int rc);
void store_mem_set_unavailable(store_mem *m, int unavailable);
/* Callbacks of submitted transactions and reads run at the next pump (the
 * simulator and tests call it; there is no loop). Returns how many ran. */
int store_mem_pump(store_mem *m);
/* What is kept, for tests: counts and look-ups. */
int store_mem_count(const store_mem *m, const char *table); /* "bookings", "booking_events", ... */
const store_booking_row *store_mem_booking(const store_mem *m, const char *id);

#endif
