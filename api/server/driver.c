/*
 * driver.c - the driver channel (issue 6): WebSocket on /v1/driver/ws,
 * framing with wslay, one protobuf message per binary frame
 * (data/proto/driver.proto).
 *
 * Placeholder until the channel lands: the upgrade is refused with 501 and
 * nothing is pushed.
 */
#include "api/server/srv_int.h"

#include <string.h>

int api_driver_init(api_svc *s)
{
    s->driver = NULL;
    return 0;
}

void api_driver_close(api_svc *s)
{
    (void)s;
}

void api_driver_upgrade(api_svc *s, const api_token *tok, api_http_req *req)
{
    static const char body[] =
        "{\"error\":{\"code\":\"not_implemented\",\"message\":\"the driver channel is not "
        "available in this build\"}}";
    (void)s;
    (void)tok;
    api_http_respond(req, 501, "application/json", body, strlen(body), NULL);
}

void api_driver_plan_stored(api_svc *s, api_day *d, int v)
{
    (void)s;
    (void)d;
    (void)v;
}

void api_driver_event_stored(api_svc *s, const api_evq *e)
{
    (void)s;
    (void)e;
}
