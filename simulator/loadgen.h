/*
 * loadgen.h - the load generator behind `noriai loadgen`: books, confirms
 * and cancels trips against a running `noriai serve` at a set rate and
 * measures what the daemon gives back.
 *
 * A run: setup (GET /v1/health for the service clock, GET /v1/shifts for
 * the day's hours, GET /v1/stops for the stops, POST /v1/riders n_riders
 * times), then rate * duration_s booking+confirm pairs on a fixed schedule
 * spread over n_threads threads, each with its own keep-alive connection.
 * The token must be an operator's or an admin's (riders are registered and
 * booked for).  See loadgen.c for the schedule and how latency is counted.
 */
#ifndef NORIAI_SIM_LOADGEN_H
#define NORIAI_SIM_LOADGEN_H

#include <stdint.h>
#include <stdio.h>

#define SIM_LOADGEN_ERRNO_MAP(X)                                                                   \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid option")                                                                 \
    X(CONNECT, -3, "cannot reach the server")                                                      \
    X(SETUP, -4, "the server refused the setup requests")                                          \
    X(THREAD, -5, "cannot start a thread")

enum {
#define SIM_LOADGEN_ERR_ENUM(name, code, msg) SIM_LOADGEN_E##name = (code),
    SIM_LOADGEN_ERRNO_MAP(SIM_LOADGEN_ERR_ENUM)
#undef SIM_LOADGEN_ERR_ENUM
};

const char *sim_loadgen_strerror(int err);

/* Bounds on the options (checked by sim_loadgen_run). */
#define SIM_LOADGEN_MAX_RATE 100000.0
#define SIM_LOADGEN_MAX_DURATION_S 86400.0
#define SIM_LOADGEN_MAX_THREADS 256
#define SIM_LOADGEN_MAX_RIDERS 100000

typedef struct sim_loadgen_opts {
    char host[256];
    int port;
    const char *token;   /* bearer token, operator or admin */
    double rate;         /* booking+confirm pairs offered per second, > 0 */
    double duration_s;   /* length of the schedule, > 0 */
    int n_riders;        /* riders registered at setup (default 50) */
    int n_threads;       /* worker threads, one connection each (default 8) */
    double cancel_share; /* share of confirmed bookings cancelled later (default 0.1) */
    double asap_share;   /* share of "asap" bookings, the rest "depart_after" (default 0.2) */
    int open_loop;       /* 1 (default): latency from the scheduled send time, backlog sent;
                            0: closed loop, slots missed while busy are skipped, latency from
                            the actual send */
    int cleanup;         /* after the run, cancel what it left confirmed (not measured) */
    int timeout_ms;      /* per request (default 10000) */
    uint64_t seed;       /* choices of riders, stops and times (default: from the clock) */
    FILE *progress;      /* a line per second (NULL: none) */
} sim_loadgen_opts;

/* Defaults for everything but host, port, token, rate and duration. */
void sim_loadgen_opts_default(sim_loadgen_opts *o);

/* Latency summary of one kind of request, in milliseconds. */
typedef struct sim_loadgen_lat {
    int64_t n;
    double mean_ms, p50_ms, p90_ms, p99_ms, max_ms;
} sim_loadgen_lat;

#define SIM_LOADGEN_N_STATUS 600 /* by_status[code] for codes 0..599 */

typedef struct sim_loadgen_result {
    /* setup */
    int n_stops, n_riders;
    int service_start_s, service_end_s, now_s;
    /* the measured run */
    double rate, duration_s, elapsed_s; /* elapsed: first slot to last answer */
    int n_threads, open_loop;
    int64_t pairs_scheduled, pairs_sent, pairs_confirmed, pairs_missed;
    int64_t requests, transport_errors;
    int64_t bookings, bookings_created, bookings_rejected; /* rejected: 409 no room */
    int64_t confirms, cancels, cleanup_cancels;
    int64_t by_status[SIM_LOADGEN_N_STATUS];
    double pairs_per_s; /* confirmed pairs / elapsed_s */
    sim_loadgen_lat booking, confirm, pair, cancel, lag;
    char first_error[256]; /* the first unexpected answer or transport error, for the user */
} sim_loadgen_result;

/*
 * Runs setup and the schedule; 0 when it ran (non-2xx answers and transport
 * errors are counted in r, not failures), or a negative SIM_LOADGEN_E*
 * code with a message in err when options are invalid or setup failed.
 */
int sim_loadgen_run(const sim_loadgen_opts *o, sim_loadgen_result *r, char *err, size_t err_len);

/* The summary as text (several lines) or as one JSON object and a newline. */
void sim_loadgen_print(FILE *f, const sim_loadgen_result *r);
int sim_loadgen_print_json(FILE *f, const sim_loadgen_result *r);

#endif
