/*
 * loadgen_int.h - what the load generator's two halves share: the booking
 * load (loadgen.c) and the simulated tablets (tablets.c).  Private to
 * simulator/.
 */
#ifndef NORIAI_SIM_LOADGEN_INT_H
#define NORIAI_SIM_LOADGEN_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "simulator/httpc.h"

/* CLOCK_MONOTONIC in nanoseconds, and a sleep until such a time. */
int64_t lg_mono_ns(void);
void lg_sleep_until(int64_t t_ns);

/* Role hints for lg_request_json's 403 message. */
#define LG_ROLE_STAFF "an operator's or an admin's token"
#define LG_ROLE_ADMIN "an admin's token"

/*
 * One request (body: JSON or NULL; idem: the Idempotency-Key or NULL)
 * with the header line auth ("Authorization: Bearer ..."): 0 with the
 * answer's JSON in *out (the caller decrefs) when it came with
 * want_status, -1 when no answer came, -2 for another status or an answer
 * that is not JSON; a message for the user in err (a 403 says the token
 * should be role's).
 */
int lg_request_json(sim_httpc *c, const char *method, const char *path, const char *auth,
                    const char *idem, const char *body, int want_status, const char *role,
                    json_t **out, char *err, size_t err_len);

/* Ids from answers go into paths and JSON bodies unescaped: 0 when s is
 * 1..len-1 bytes with no path or JSON specials, else -1. */
int lg_id_ok(const char *s, size_t len);

#endif
