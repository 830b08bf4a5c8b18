/*
 * svc_tablet.h - what a driver's tablet may report, and when: the rules of
 * the service day for arrived, departed, boarded, alighted, no_show,
 * break_start and break_end, over the day core (dsp.h).
 *
 * The module knows no wire (no protobuf), no store and no clock: the caller
 * gives the day, `now` (seconds of the service day), the vehicle, and two
 * callbacks that translate the names a tablet uses (a public booking id, a
 * stop index's id).  The daemon's driver channel and the simulator's drivers
 * both go through it, so a simulated day runs the rules the live service
 * runs.
 *
 * An event is first checked (svc_tablet_check: pure, reads the day only)
 * into the list of dispatcher moves it stands for, or refused with a text
 * for the driver; only a checked event is applied (svc_tablet_apply).  So a
 * refused event changes nothing, by construction: refusals come from the
 * check alone.  A dispatcher call failing during apply means the check and
 * the day core disagree - a bug - and is reported as SVC_TABLET_EAPPLY,
 * never as a refusal.
 *
 * Names a tablet uses: a booking by its public id, a break by "break-<n>"
 * (n: the day's booking index of the break), a stop by its area id ("" when
 * not given).  Ids are printable ASCII without spaces, 1..SVC_TABLET_MAX_ID
 * bytes (svc_tablet_id_ok).
 *
 * Ownership: nothing is allocated; results are written into the caller's
 * svc_tablet_result.  Not thread-safe beyond the day's own rule (one thread
 * owns a day).
 */
#ifndef NORIAI_SVC_TABLET_H
#define NORIAI_SVC_TABLET_H

#include <stddef.h>
#include <stdint.h>

#include "dispatcher/dsp.h"

#define SVC_TABLET_ERRNO_MAP(X)                                                                    \
    X(REFUSED, -1, "refused by the rules of the service day")                                      \
    X(APPLY, -2, "the dispatcher failed to apply a checked event")                                 \
    X(INVAL, -3, "invalid argument")

enum {
#define SVC_TABLET_ERR_ENUM(name, code, msg) SVC_TABLET_E##name = (code),
    SVC_TABLET_ERRNO_MAP(SVC_TABLET_ERR_ENUM)
#undef SVC_TABLET_ERR_ENUM
};

const char *svc_tablet_strerror(int err);

#define SVC_TABLET_MAX_ID 64
#define SVC_TABLET_MAX_ERROR 300

typedef enum svc_tablet_kind {
    SVC_TABLET_ARRIVED = 0,
    SVC_TABLET_DEPARTED,
    SVC_TABLET_BOARDED,
    SVC_TABLET_ALIGHTED,
    SVC_TABLET_NO_SHOW,
    SVC_TABLET_BREAK_START,
    SVC_TABLET_BREAK_END,
    SVC_TABLET_KIND_COUNT
} svc_tablet_kind;

/* "arrived", "departed", "boarded", "alighted", "no_show", "break_start",
 * "break_end"; NULL for anything else. */
const char *svc_tablet_kind_name(int kind);
/* The kind of such a name, or -1. */
int svc_tablet_kind_parse(const char *name);

/* Printable ASCII without spaces, 1..SVC_TABLET_MAX_ID bytes (event ids,
 * booking ids and stop ids from tablets).  NULL is not ok. */
int svc_tablet_id_ok(const char *id);

/* One event as the tablet sent it.  NULL strings read as "". */
typedef struct svc_tablet_event {
    int kind;               /* svc_tablet_kind; anything else is refused ("not an event") */
    const char *booking_id; /* public booking id, "break-<n>", or "" */
    const char *stop_id;    /* arrived and departed only; "" when not given */
} svc_tablet_event;

/* svc_tablet_ctx.booking_index's answers besides an index. */
#define SVC_TABLET_BK_UNKNOWN (-1)   /* no such booking */
#define SVC_TABLET_BK_OTHER_DAY (-2) /* a booking, of another service day */

/*
 * Who reports, on which day, when, and how to read the tablet's names.
 * The callbacks must not change the day.
 */
typedef struct svc_tablet_ctx {
    dsp_day *day;           /* NULL: no service day is open (every event refused) */
    int now;                /* seconds of the service day */
    int vehicle;            /* the day's vehicle index */
    const char *vehicle_id; /* for the texts */
    void *ud;
    /* The day's booking index of a public booking id, or SVC_TABLET_BK_*
     * (any other negative reads as unknown). */
    int64_t (*booking_index)(void *ud, const char *public_id);
    /* The id of the area's stop index; "" or NULL when there is none. */
    const char *(*stop_id)(void *ud, int stop);
} svc_tablet_ctx;

/* A dispatcher call an event stands for (dsp_vehicle_arrive, ...). */
typedef enum svc_tablet_move_kind {
    SVC_TABLET_MOVE_ARRIVE = 0,
    SVC_TABLET_MOVE_DEPART,
    SVC_TABLET_MOVE_BOARDED,
    SVC_TABLET_MOVE_ALIGHTED,
    SVC_TABLET_MOVE_NO_SHOW,
    SVC_TABLET_MOVE_BREAK_START,
    SVC_TABLET_MOVE_BREAK_END
} svc_tablet_move_kind;

/* Arrive, depart and arrive again (a withdrawn stop), then the rider's move. */
#define SVC_TABLET_MAX_MOVES 4

typedef struct svc_tablet_result {
    /* The booking id the event named, for the caller's record; for a break
     * event that named none, "break-<n>" of the break it was taken to mean.
     * "" when the event named none or named it badly. */
    char booking_id[SVC_TABLET_MAX_ID + 1];
    int64_t booking; /* the day's index of that booking or break, -1 */
    int n_moves;     /* after a successful check: the moves, in order (may be 0) */
    struct {
        svc_tablet_move_kind kind;
        int64_t booking; /* rider and break moves; -1 for the van's */
    } moves[SVC_TABLET_MAX_MOVES];
    int n_applied;                    /* moves done by svc_tablet_apply */
    int dsp_rc;                       /* SVC_TABLET_EAPPLY: the failing dispatcher call's code */
    char error[SVC_TABLET_MAX_ERROR]; /* the refusal or apply error, for a person; "" when ok */
} svc_tablet_result;

/*
 * Checks ev against the day for c's vehicle without changing anything:
 * 0 with out's moves, SVC_TABLET_EREFUSED with the reason in out->error,
 * SVC_TABLET_EINVAL when c or ev is unusable (NULL, no callbacks).
 * out is always defined on return.
 */
int svc_tablet_check(const svc_tablet_ctx *c, const svc_tablet_event *ev, svc_tablet_result *out);

/*
 * Executes the moves of a successful check at c->now, in order: 0, or
 * SVC_TABLET_EAPPLY (r->dsp_rc, r->error; the first r->n_applied moves
 * took effect).  The day must not have changed since the check.
 */
int svc_tablet_apply(const svc_tablet_ctx *c, svc_tablet_result *r);

/*
 * The entry point: check, then apply only if the check passed.  0 applied;
 * SVC_TABLET_EREFUSED with out->error, the day unchanged; SVC_TABLET_EAPPLY
 * as svc_tablet_apply; SVC_TABLET_EINVAL as svc_tablet_check.
 */
int svc_tablet_event_handle(const svc_tablet_ctx *c, const svc_tablet_event *ev,
                            svc_tablet_result *out);

#endif
