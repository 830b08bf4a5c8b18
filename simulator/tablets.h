/*
 * tablets.h - simulated driver tablets for `noriai loadgen --drivers N`:
 * one per vehicle, each on the driver channel (GET /v1/driver/ws,
 * protobuf of data/proto/driver.proto), driving the route the daemon
 * pushes, reporting what a driver reports, and losing its connection at
 * random; at the end, a check through the HTTP API that every event the
 * daemon acknowledged is reflected in its bookings, once.  See tablets.c
 * for how a tablet drives and what is counted.
 *
 * Tokens: either given (vehicle id and driver token each, e.g. read with
 * sim_tablets_read_creds), or made at setup with an admin token: one
 * driver token per vehicle (POST /v1/tokens) for the first n_tablets
 * vehicles of GET /v1/vehicles.  The final check needs an operator's or
 * an admin's token (GET /v1/bookings/{id}).
 */
#ifndef NORIAI_SIM_TABLETS_H
#define NORIAI_SIM_TABLETS_H

#include <stdint.h>
#include <stdio.h>

#include "simulator/loadgen.h" /* the error codes: SIM_LOADGEN_E*, sim_loadgen_strerror */

#define SIM_TABLETS_MAX 1000 /* tablets in one run */
#define SIM_TABLETS_MAX_DURATION_S 86400.0
#define SIM_TABLETS_MAX_SPEED 1e6
#define SIM_TABLETS_MAX_REASONS 12 /* refusal reasons tallied by text */

typedef struct sim_tablet_cred {
    char vehicle_id[48];
    char token[128];
} sim_tablet_cred;

typedef struct sim_tablets_opts {
    char host[256];
    int port;
    const char *token;            /* operator or admin: the final check */
    const char *admin_token;      /* makes the driver tokens when creds is NULL */
    const sim_tablet_cred *creds; /* given driver tokens (NULL: made with admin_token) */
    int n_creds;
    int n_tablets;        /* 1..SIM_TABLETS_MAX */
    double speed;         /* planned times come this many times faster (default 60; 1: real time) */
    double drop_rate;     /* per event, chance of dropping the connection (default 0) */
    double no_show_share; /* pickups reported as no-show (default 0.05) */
    double duration_s;    /* driving; then unanswered events get up to settle_s to be answered */
    double settle_s;      /* (default 15) */
    int min_gap_ms;       /* at least this between two events of a tablet (default 50) */
    int timeout_ms;       /* connect, upgrade, HTTP; an Ack missing this long: reconnect
                             (default 5000) */
    uint64_t seed;        /* drops, no-shows, backoff (default: from the clock) */
    FILE *progress;       /* a line per second (NULL: none) */
} sim_tablets_opts;

/* Defaults for everything but host, port, tokens, n_tablets and duration. */
void sim_tablets_opts_default(sim_tablets_opts *o);

typedef struct sim_tablets_reason {
    char text[120]; /* the refusal with ids replaced by "*" */
    int64_t n;
} sim_tablets_reason;

typedef struct sim_tablets_result {
    int n_tablets;
    double speed, drop_rate, duration_s, elapsed_s;
    /* events: each counted once however often it was sent */
    int64_t events;     /* sent at least once */
    int64_t acked_ok;   /* answered ok */
    int64_t refused;    /* answered with a refusal */
    int64_t unanswered; /* never answered by the end of the settling time */
    int64_t
        by_kind_ok[7]; /* arrived, departed, boarded, alighted, no_show, break_start, break_end */
    sim_tablets_reason reasons[SIM_TABLETS_MAX_REASONS];
    int n_reasons;
    int64_t refused_other; /* refusals beyond the reasons listed */
    /* the connection */
    int64_t connects;      /* upgrades that succeeded */
    int64_t reconnects;    /* of them, after a connection was lost */
    int64_t drops;         /* connections dropped on purpose */
    int64_t server_closes; /* connections the server ended */
    int64_t connect_failures;
    int64_t ack_timeouts; /* connections given up waiting for an Ack */
    int64_t resends;      /* sends of an event already sent, same event_id */
    int64_t duplicates;   /* answers to an event already answered (sent again on purpose) */
    int64_t dup_mismatch; /* of them, answered differently: must be 0 */
    int64_t routes;       /* route updates received */
    int64_t gaps_healed;  /* resumes whose first route skipped seqs the tablet had missed */
    int64_t seq_back;     /* route updates older than one held (same day): should be 0 */
    int64_t cancellations;
    /* the check through the API */
    int64_t checked;       /* bookings read back */
    int64_t lost;          /* acknowledged ok, not reflected: must be 0 */
    int64_t applied_twice; /* a booking moved by two acknowledged events of one kind: must be 0 */
    int64_t check_errors;  /* bookings that could not be read */
    char first_lost[256];
    char first_error[256];
} sim_tablets_result;

/*
 * Setup (tokens), the drive for duration_s, the settling, the check.  0
 * when it ran (lost and applied_twice in r say whether it went right), or
 * a negative SIM_LOADGEN_E* code with a message in err (bad options, no
 * server, tokens refused).
 */
int sim_tablets_run(const sim_tablets_opts *o, sim_tablets_result *r, char *err, size_t err_len);

/* The summary as text (several lines) or as one JSON object and a newline. */
void sim_tablets_print(FILE *f, const sim_tablets_result *r);
int sim_tablets_print_json(FILE *f, const sim_tablets_result *r);

/*
 * Driver tokens from a file: a JSON object {"van1": "nt_...", ...} or
 * lines "VEHICLE TOKEN" (blank lines and '#' comments skipped).  *out is
 * malloc'd (the caller frees).  0, or SIM_LOADGEN_EINVAL with the file
 * and line in err.
 */
int sim_tablets_read_creds(const char *path, sim_tablet_cred **out, int *n, char *err,
                           size_t err_len);

#endif
