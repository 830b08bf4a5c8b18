/*
 * db_int.h - what db.c (the asynchronous store) and db_blocking.c (migrations
 * and one-off queries) share; not part of the store's contract.
 */
#ifndef NORIAI_DB_INT_H
#define NORIAI_DB_INT_H

#include "data/db/db.h"

#include <postgresql/libpq-fe.h>

/* Key of the session advisory lock held while migrating ('nori'), so two
 * daemons starting together apply each migration once. */
#define DB_MIGRATE_LOCK_KEY "1852797545"

/* The migrations compiled in by scripts/embed.c (build/gen/sql_migrations.c). */
extern const int db_sql_count;
extern const char *const db_sql_names[];
extern const char *const db_sql_texts[];
extern const unsigned db_sql_lens[];

/* DB_ECONFLICT for a unique violation (SQLSTATE 23505), else DB_EQUERY. */
int db_sqlstate_rc(const char *sqlstate);

/* 1 when an error result means the session is gone rather than that one
 * statement failed: no SQLSTATE (libpq's own), class 08 (connection
 * exception), or 57P01..57P03 (server shutting down or not accepting). */
int db_sqlstate_is_conn_loss(const char *sqlstate);

/* libpq messages end with a newline and may span lines; copies msg into buf
 * with trailing white space dropped and inner newlines turned to "; ". */
void db_msg_clean(char *buf, size_t len, const char *msg);

/* A notice processor that drops notices (libpq prints them on stderr). */
void db_notice_quiet(void *arg, const char *message);

#endif
