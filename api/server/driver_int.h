/*
 * driver_int.h - private to the driver channel's files: driver.c (the
 * connections, the messages, the hooks) and driver_route.c (the route a
 * tablet sees, and the riders' details it needs).  The framing is ws.h's,
 * the once-only store of tablet events dispatcher/svc_tevents.h's.
 */
#ifndef NORIAI_DRIVER_INT_H
#define NORIAI_DRIVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "api/server/srv_int.h"
#include "dispatcher/svc_tevents.h"

typedef struct drv_state drv_state;
typedef struct drv_conn drv_conn;

typedef struct drv_rider {
    const char *name, *kana, *phone, *needs, *notes; /* in the same block; "" when unknown */
} drv_rider;

/* The last stored route of a vehicle, as the frame payload sent. */
typedef struct drv_route {
    char date[11]; /* "" none */
    uint64_t seq;
    uint64_t sig; /* what a driver sees (driver_route.c) */
    uint8_t *bytes;
    size_t len;
} drv_route;

typedef struct drv_vehicle {
    drv_route route;
    int want_push; /* stored, waiting for rider details */
    int stale;     /* stored since the route was built; nobody connected to see it */
    int has_pos;
    double lat, lon;
    int64_t pos_unix_ms;
} drv_vehicle;

struct drv_state {
    api_svc *s;
    uv_timer_t tick; /* 1 s: keep-alive, idle, retries, pruning, day change */
    uv_timer_t soon; /* one-shot: the event store's load */
    int timers_open;
    int closing;
    int inflight; /* our store callbacks still to come (riders' reads) */
    drv_vehicle *veh;
    int n_veh;
    drv_conn *conns;
    int n_conns;
    uint64_t next_conn_id;
    char today[11];
    svc_tev *tev; /* tablet events, once each */
    /* driver_route.c: riders' details by rider id, and the ids to read */
    svc_map riders; /* id -> drv_rider */
    char **fetch_ids;
    int n_fetch, cap_fetch;
    int fetch_busy;
};

/* ---- driver.c ---- */

/* Today's service day, or NULL. */
svc_day *drv_today(drv_state *ds);
/* Routes waiting for riders' details: built again (fetching what is still
 * missing, or without the details when allow_missing). */
void drv_push_waiting(drv_state *ds, int allow_missing);
/* Frees ds once closing and nothing of it is left to come back. */
void drv_maybe_free(drv_state *ds);

/* ---- driver_route.c ---- */

/*
 * The route of (d, v) now, packed as a ServerMessage into out (bytes
 * malloc'd).  Returns 0, 1 when a rider's details are not cached (noted
 * for fetching; nothing built unless allow_missing), -1 on no memory.
 */
int drv_route_build(drv_state *ds, svc_day *d, int v, int allow_missing, drv_route *out);
/* Starts the read of the riders noted; 0 started (or nothing to do), -1
 * not possible now.  drv_push_waiting follows the read. */
int drv_riders_fetch(drv_state *ds);
/* A new day: the details are read again (edits, and no growth). */
void drv_riders_forget(drv_state *ds);
void drv_riders_cleanup(drv_state *ds);
/* The area's id of a stop index, "" when none. */
const char *drv_stop_id(const api_svc *s, int stop);

#endif
