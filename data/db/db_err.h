/*
 * db_err.h - the store's error codes alone (DB_E*, db_strerror), for code
 * that speaks of the store's outcomes without its connection: the store
 * interface (data/store/store.h) and the service layer, which must not pull
 * in libuv or libpq.  data/db/db.h includes it.
 */
#ifndef NORIAI_DB_ERR_H
#define NORIAI_DB_ERR_H

#define DB_ERRNO_MAP(X)                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(UNAVAIL, -3, "database unavailable")                                                         \
    X(UNKNOWN, -4, "database connection lost during commit; outcome unknown")                      \
    X(QUERY, -5, "statement failed")                                                               \
    X(CONFLICT, -6, "unique constraint violated")                                                  \
    X(MIGRATE, -7, "migration failed")                                                             \
    X(CLOSED, -8, "store is closing")

enum {
#define DB_ERR_ENUM(name, code, msg) DB_E##name = (code),
    DB_ERRNO_MAP(DB_ERR_ENUM)
#undef DB_ERR_ENUM
};

const char *db_strerror(int err);

#endif
