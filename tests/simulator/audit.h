/*
 * audit.h - an independent audit of a simulated day, from its output files
 * alone (trips.csv and stops.csv in a folder).
 *
 * It shares no code with the simulator or the dispatcher: its own CSV
 * splitter, its own load bookkeeping, and the caller's travel-time function,
 * so a bug in the engine cannot hide itself by being repeated here.  What it
 * checks:
 *
 *   capacity   replaying each van's stops in sequence order (alighting
 *              before boarding at a stop), with passengers and wheelchairs
 *              from trips.csv, the load after every stop fits one of the
 *              van's configurations (a party of p riders with w wheelchairs
 *              takes p - w seats and w wheelchair places) and equals the
 *              seats_used / wheelchairs_used the file reports; no rider
 *              boards twice, alights without boarding, or is left on board
 *              at the van's last stop;
 *   travel     arrival(k+1) >= departure(k) + travel(k -> k+1) x (1 - noise
 *              allowance), and departure >= arrival at every stop;
 *   trips      every dropped_off trip boarded and alighted once, on the van
 *              named in trips.csv, with pickup_s / dropoff_s inside those
 *              stops' [arrival, departure]; with check_promises, pickup
 *              within [promise_from_s, promise_to_s] and drop-off by
 *              latest_dropoff_s; the ride (dropoff - pickup) within
 *              ride_alpha x direct + ride_beta_s, times (1 + noise allowance),
 *              where direct is the travel function between the boarding and
 *              the alighting stop; a trip with another status never rode.
 *
 * Use: fill an audit_opts and call audit_day(dir, &opts); it returns the
 * number of violations (0: clean) and prints the first few, each naming the
 * file and line, to opts.log (stderr if NULL).  Missing files or columns
 * count as violations too.
 */
#ifndef NORIAI_TEST_AUDIT_H
#define NORIAI_TEST_AUDIT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define AUDIT_MAX_CONFIGS 4
#define AUDIT_MAX_FIELDS 64

typedef struct audit_vehicle {
    const char *id;
    int n_configs;
    int seats[AUDIT_MAX_CONFIGS];
    int wheelchairs[AUDIT_MAX_CONFIGS];
} audit_vehicle;

/* Drive time in seconds between two locations as written in stops.csv (a
 * stop id, or "lat,lon"); a negative answer means "unknown, do not check". */
typedef int (*audit_travel_fn)(void *ud, const char *from, const char *to);

typedef struct audit_opts {
    const audit_vehicle *vehicles; /* capacity by van id; NULL: capacity not checked */
    int n_vehicles;
    audit_travel_fn travel; /* NULL: travel and ride limits not checked */
    void *travel_ud;
    double noise_allowance; /* share a drive may be faster than travel() says */
    double ride_alpha;      /* ride limit alpha * direct + beta; alpha <= 0: none */
    int ride_beta_s;
    int check_promises;
    int slack_s;   /* rounding tolerance on every time comparison */
    int max_print; /* violations printed; 0: 10 */
    FILE *log;     /* NULL: stderr */
} audit_opts;

/* ------------------------------------------------------------------------ */
/* A table read whole: header names and rows of fields (owned strings).     */

typedef struct audit_table {
    char path[600];
    int n_cols;
    char *col[AUDIT_MAX_FIELDS];
    int n_rows;
    char ***row; /* row[i][j], j < n_cols ("" where the line was short) */
    int *line;   /* 1-based file line of each row */
} audit_table;

typedef struct audit_ctx {
    const audit_opts *o;
    int violations;
    FILE *log;
} audit_ctx;

static inline void audit_note(audit_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void audit_note(audit_ctx *c, const char *fmt, ...)
{
    int max = c->o->max_print > 0 ? c->o->max_print : 10;
    va_list ap;

    c->violations++;
    if (c->violations > max)
        return;
    va_start(ap, fmt);
    fputs("audit: ", c->log);
    vfprintf(c->log, fmt, ap);
    fputc('\n', c->log);
    va_end(ap);
}

/* Splits one line (no line break) into fields, RFC 4180 quotes; returns the
 * count, or -1 on a malformed quote. */
static inline int audit_split(const char *s, char **out, int max)
{
    int n = 0;
    size_t len = strlen(s);
    char *buf = malloc(len + 1);
    const char *p = s;

    if (buf == NULL)
        return -1;
    for (;;) {
        size_t k = 0;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0') {
                    free(buf);
                    for (int i = 0; i < n; i++)
                        free(out[i]);
                    return -1;
                }
                if (*p == '"' && p[1] == '"') {
                    buf[k++] = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    buf[k++] = *p++;
                }
            }
        } else {
            while (*p != ',' && *p != '\0')
                buf[k++] = *p++;
        }
        buf[k] = '\0';
        if (n < max)
            out[n++] = strdup(buf);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '\0') { /* text after a closing quote */
            free(buf);
            for (int i = 0; i < n; i++)
                free(out[i]);
            return -1;
        }
        break;
    }
    free(buf);
    return n;
}

static inline void audit_table_free(audit_table *t)
{
    for (int i = 0; i < t->n_rows; i++) {
        for (int j = 0; j < t->n_cols; j++)
            free(t->row[i][j]);
        free(t->row[i]);
    }
    for (int j = 0; j < t->n_cols; j++)
        free(t->col[j]);
    free(t->row);
    free(t->line);
    memset(t, 0, sizeof(*t));
}

/* 0, or -1 (noted) if the file cannot be read or a line is malformed. */
static inline int audit_table_read(audit_ctx *c, const char *dir, const char *name, audit_table *t)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int line_no = 0, cap_rows = 0;

    memset(t, 0, sizeof(*t));
    snprintf(t->path, sizeof(t->path), "%s/%s", dir, name);
    if ((f = fopen(t->path, "r")) == NULL) {
        audit_note(c, "%s: cannot be read", t->path);
        return -1;
    }
    while ((got = getline(&line, &cap, f)) >= 0) {
        char *fields[AUDIT_MAX_FIELDS];
        int n;
        line_no++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        n = audit_split(line, fields, AUDIT_MAX_FIELDS);
        if (n < 0) {
            audit_note(c, "%s:%d: malformed CSV line", t->path, line_no);
            free(line);
            fclose(f);
            return -1;
        }
        if (t->n_cols == 0) {
            for (int j = 0; j < n; j++)
                t->col[j] = fields[j];
            t->n_cols = n;
            continue;
        }
        if (t->n_rows == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            t->row = realloc(t->row, (size_t)cap_rows * sizeof(*t->row));
            t->line = realloc(t->line, (size_t)cap_rows * sizeof(*t->line));
        }
        t->row[t->n_rows] = calloc((size_t)t->n_cols, sizeof(char *));
        for (int j = 0; j < t->n_cols; j++)
            t->row[t->n_rows][j] = strdup(j < n ? fields[j] : "");
        for (int j = 0; j < n; j++)
            free(fields[j]);
        t->line[t->n_rows++] = line_no;
    }
    free(line);
    fclose(f);
    if (t->n_cols == 0) {
        audit_note(c, "%s: empty (no header)", t->path);
        return -1;
    }
    return 0;
}

static inline int audit_col(audit_ctx *c, const audit_table *t, const char *name)
{
    for (int j = 0; j < t->n_cols; j++)
        if (strcmp(t->col[j], name) == 0)
            return j;
    audit_note(c, "%s: no column \"%s\"", t->path, name);
    return -1;
}

/* An integer field; empty gives dflt. */
static inline long audit_int(const char *s, long dflt)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return dflt;
    v = strtol(s, &end, 10);
    return *end == '\0' ? v : dflt;
}

/* ------------------------------------------------------------------------ */
/* The audit                                                                */

typedef struct audit_trip {
    const char *id;
    int row;
    int served;
    long pickup_s, dropoff_s, from_s, to_s, latest_s;
    int passengers, wheelchairs;
    const char *vehicle;
    int boarded, alighted; /* times seen */
    const char *board_veh; /* van it boarded */
    const char *board_loc, *alight_loc;
    long board_arr, board_dep, alight_arr, alight_dep;
} audit_trip;

static inline int audit_cmp_trip(const void *a, const void *b)
{
    return strcmp(((const audit_trip *)a)->id, ((const audit_trip *)b)->id);
}

static inline audit_trip *audit_find(audit_trip *trips, int n, const char *id)
{
    audit_trip key;

    key.id = id;
    return bsearch(&key, trips, (size_t)n, sizeof(*trips), audit_cmp_trip);
}

typedef struct audit_stop_row {
    const char *veh;
    long seq;
    int row;
} audit_stop_row;

static inline int audit_cmp_stop(const void *pa, const void *pb)
{
    const audit_stop_row *a = pa, *b = pb;
    int k = strcmp(a->veh, b->veh);

    if (k != 0)
        return k;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return a->row - b->row;
}

static inline int audit_fits(const audit_vehicle *v, int seats, int wc)
{
    for (int k = 0; k < v->n_configs; k++)
        if (seats <= v->seats[k] && wc <= v->wheelchairs[k])
            return 1;
    return 0;
}

/* Applies a ';'-joined id list at one stop: sign +1 boards, -1 alights. */
static inline void audit_apply(audit_ctx *c, const audit_table *st, int r, const char *list,
                               int sign, const char *veh, const char *loc, long arr, long dep,
                               audit_trip *trips, int n_trips, int *seats, int *wc)
{
    char *copy = strdup(list), *save = NULL;

    for (char *id = strtok_r(copy, ";", &save); id != NULL; id = strtok_r(NULL, ";", &save)) {
        audit_trip *t = audit_find(trips, n_trips, id);
        if (t == NULL) {
            audit_note(c, "%s:%d: van %s: %s request \"%s\" that is not in trips.csv", st->path,
                       st->line[r], veh, sign > 0 ? "boards" : "drops off", id);
            continue;
        }
        if (sign > 0) {
            /* Again only after getting off (a transfer after a breakdown). */
            if (t->boarded++ > t->alighted)
                audit_note(c, "%s:%d: van %s: request %s boards while still on board", st->path,
                           st->line[r], veh, id);
            t->board_veh = veh;
            t->board_loc = loc;
            t->board_arr = arr;
            t->board_dep = dep;
        } else {
            if (t->boarded <= t->alighted || t->board_veh == NULL ||
                strcmp(t->board_veh, veh) != 0)
                audit_note(c, "%s:%d: van %s: request %s gets off without being on board", st->path,
                           st->line[r], veh, id);
            t->alighted++;
            t->alight_loc = loc;
            t->alight_arr = arr;
            t->alight_dep = dep;
        }
        *seats += sign * (t->passengers - t->wheelchairs);
        *wc += sign * t->wheelchairs;
    }
    free(copy);
}

static inline int audit_day(const char *dir, const audit_opts *o)
{
    static const char *const trip_cols[] = {"request_id",     "status",           "requested_s",
                                            "promise_from_s", "promise_to_s",     "pickup_s",
                                            "dropoff_s",      "latest_dropoff_s", "vehicle_id",
                                            "passengers",     "wheelchairs",      "reason"};
    static const char *const stop_cols[] = {"vehicle_id", "seq",         "location",
                                            "arrival_s",  "departure_s", "boarded",
                                            "alighted",   "seats_used",  "wheelchairs_used"};
    audit_ctx c = {o, 0, o->log ? o->log : stderr};
    audit_table tt, st;
    int tc[12], sc[9], n_trips = 0, ok = 1;
    audit_trip *trips = NULL;
    audit_stop_row *order = NULL;
    long slack = o->slack_s;

    if (audit_table_read(&c, dir, "trips.csv", &tt) < 0) {
        audit_table_free(&tt);
        return c.violations;
    }
    if (audit_table_read(&c, dir, "stops.csv", &st) < 0) {
        audit_table_free(&tt);
        audit_table_free(&st);
        return c.violations;
    }
    for (int j = 0; j < 12; j++)
        ok &= (tc[j] = audit_col(&c, &tt, trip_cols[j])) >= 0;
    for (int j = 0; j < 9; j++)
        ok &= (sc[j] = audit_col(&c, &st, stop_cols[j])) >= 0;
    if (!ok)
        goto out;

    /* trips, by id */
    trips = calloc((size_t)tt.n_rows + 1, sizeof(*trips));
    for (int i = 0; i < tt.n_rows; i++) {
        char **f = tt.row[i];
        audit_trip *t = &trips[n_trips++];
        t->id = f[tc[0]];
        t->row = i;
        t->served = strcmp(f[tc[1]], "dropped_off") == 0;
        t->from_s = audit_int(f[tc[3]], -1);
        t->to_s = audit_int(f[tc[4]], -1);
        t->pickup_s = audit_int(f[tc[5]], -1);
        t->dropoff_s = audit_int(f[tc[6]], -1);
        t->latest_s = audit_int(f[tc[7]], -1);
        t->vehicle = f[tc[8]];
        t->passengers = (int)audit_int(f[tc[9]], 1);
        t->wheelchairs = (int)audit_int(f[tc[10]], 0);
        if (t->passengers < 1 || t->wheelchairs < 0 || t->wheelchairs > t->passengers)
            audit_note(&c, "%s:%d: request %s: %d passengers with %d wheelchairs", tt.path,
                       tt.line[i], t->id, t->passengers, t->wheelchairs);
    }
    qsort(trips, (size_t)n_trips, sizeof(*trips), audit_cmp_trip);
    for (int i = 1; i < n_trips; i++)
        if (strcmp(trips[i].id, trips[i - 1].id) == 0)
            audit_note(&c, "%s:%d: request id %s appears twice", tt.path, tt.line[trips[i].row],
                       trips[i].id);

    /* stops, per van in sequence order */
    order = calloc((size_t)st.n_rows + 1, sizeof(*order));
    for (int i = 0; i < st.n_rows; i++) {
        order[i].veh = st.row[i][sc[0]];
        order[i].seq = audit_int(st.row[i][sc[1]], -1);
        order[i].row = i;
    }
    qsort(order, (size_t)st.n_rows, sizeof(*order), audit_cmp_stop);
    for (int i = 0; i < st.n_rows;) {
        const char *veh = order[i].veh;
        const audit_vehicle *v = NULL;
        int seats = 0, wc = 0, last = i;
        for (int k = 0; o->vehicles != NULL && k < o->n_vehicles; k++)
            if (strcmp(o->vehicles[k].id, veh) == 0)
                v = &o->vehicles[k];
        if (o->vehicles != NULL && v == NULL)
            audit_note(&c, "%s:%d: unknown van \"%s\"", st.path, st.line[order[i].row], veh);
        for (int k = i; k < st.n_rows && strcmp(order[k].veh, veh) == 0; k++) {
            int r = order[k].row;
            char **f = st.row[r];
            long arr = audit_int(f[sc[3]], -1), dep = audit_int(f[sc[4]], -1);
            last = k;
            if (k > i && order[k].seq == order[k - 1].seq)
                audit_note(&c, "%s:%d: van %s: sequence number %ld used twice", st.path, st.line[r],
                           veh, order[k].seq);
            if (arr >= 0 && dep >= 0 && dep < arr)
                audit_note(&c, "%s:%d: van %s: leaves (%ld) before it arrives (%ld)", st.path,
                           st.line[r], veh, dep, arr);
            if (k > i && o->travel != NULL) {
                char **pf = st.row[order[k - 1].row];
                long pdep = audit_int(pf[sc[4]], -1);
                int t = o->travel(o->travel_ud, pf[sc[2]], f[sc[2]]);
                if (t >= 0 && pdep >= 0 && arr >= 0 &&
                    arr + slack < pdep + (long)(t * (1 - o->noise_allowance)))
                    audit_note(&c,
                               "%s:%d: van %s: arrives at %s at %ld, but left %s at %ld and the "
                               "drive takes %d s",
                               st.path, st.line[r], veh, f[sc[2]], arr, pf[sc[2]], pdep, t);
            }
            audit_apply(&c, &st, r, f[sc[6]], -1, veh, f[sc[2]], arr, dep, trips, n_trips, &seats,
                        &wc);
            audit_apply(&c, &st, r, f[sc[5]], +1, veh, f[sc[2]], arr, dep, trips, n_trips, &seats,
                        &wc);
            if (seats < 0 || wc < 0)
                audit_note(&c, "%s:%d: van %s: negative load (%d seats, %d wheelchairs)", st.path,
                           st.line[r], veh, seats, wc);
            if (v != NULL && !audit_fits(v, seats, wc))
                audit_note(&c,
                           "%s:%d: van %s: %d seated riders and %d wheelchairs fit none of its "
                           "%d configurations",
                           st.path, st.line[r], veh, seats, wc, v->n_configs);
            if (audit_int(f[sc[7]], -999) != seats || audit_int(f[sc[8]], -999) != wc)
                audit_note(&c,
                           "%s:%d: van %s: reports %s seats and %s wheelchairs used, the riders "
                           "on board make %d and %d",
                           st.path, st.line[r], veh, f[sc[7]], f[sc[8]], seats, wc);
        }
        if (seats != 0 || wc != 0)
            audit_note(&c, "%s:%d: van %s: ends its day with riders on board", st.path,
                       st.line[order[last].row], veh);
        i = last + 1;
    }

    /* trips against their stops and promises */
    for (int i = 0; i < n_trips; i++) {
        audit_trip *t = &trips[i];
        int line = tt.line[t->row];
        if (!t->served) {
            if (t->boarded > 0 || t->alighted > 0)
                audit_note(&c, "%s:%d: request %s rode a van but has status %s", tt.path, line,
                           t->id, tt.row[t->row][tc[1]]);
            continue;
        }
        if (t->boarded < 1 || t->boarded != t->alighted) {
            audit_note(&c, "%s:%d: request %s is dropped_off but boards %d and alights %d times",
                       tt.path, line, t->id, t->boarded, t->alighted);
            continue;
        }
        if (strcmp(t->vehicle, t->board_veh) != 0)
            audit_note(&c, "%s:%d: request %s: trips.csv says van %s, stops.csv van %s", tt.path,
                       line, t->id, t->vehicle, t->board_veh);
        if (t->pickup_s < 0 || t->dropoff_s < t->pickup_s)
            audit_note(&c, "%s:%d: request %s: pickup %ld and drop-off %ld", tt.path, line, t->id,
                       t->pickup_s, t->dropoff_s);
        if ((t->board_arr >= 0 && t->pickup_s + slack < t->board_arr) ||
            (t->board_dep >= 0 && t->pickup_s > t->board_dep + slack))
            audit_note(&c, "%s:%d: request %s: pickup at %ld, but the van is there %ld-%ld",
                       tt.path, line, t->id, t->pickup_s, t->board_arr, t->board_dep);
        if ((t->alight_arr >= 0 && t->dropoff_s + slack < t->alight_arr) ||
            (t->alight_dep >= 0 && t->dropoff_s > t->alight_dep + slack))
            audit_note(&c, "%s:%d: request %s: drop-off at %ld, but the van is there %ld-%ld",
                       tt.path, line, t->id, t->dropoff_s, t->alight_arr, t->alight_dep);
        if (o->check_promises) {
            if (t->from_s < 0 || t->to_s < 0 || t->pickup_s + slack < t->from_s ||
                t->pickup_s > t->to_s + slack)
                audit_note(&c, "%s:%d: request %s: pickup at %ld outside its promise [%ld, %ld]",
                           tt.path, line, t->id, t->pickup_s, t->from_s, t->to_s);
            if (t->latest_s < 0 || t->dropoff_s > t->latest_s + slack)
                audit_note(&c, "%s:%d: request %s: drop-off at %ld after the promised %ld", tt.path,
                           line, t->id, t->dropoff_s, t->latest_s);
        }
        if (o->travel != NULL && o->ride_alpha > 0) {
            int direct = o->travel(o->travel_ud, t->board_loc, t->alight_loc);
            double limit = (o->ride_alpha * direct + o->ride_beta_s) * (1 + o->noise_allowance);
            if (direct >= 0 && t->dropoff_s - t->pickup_s > limit + slack)
                audit_note(&c,
                           "%s:%d: request %s: rides %ld s, more than the limit %.0f s (direct "
                           "%d s)",
                           tt.path, line, t->id, t->dropoff_s - t->pickup_s, limit, direct);
        }
    }

out:
    free(trips);
    free(order);
    audit_table_free(&tt);
    audit_table_free(&st);
    return c.violations;
}

#endif
