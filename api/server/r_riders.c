/*
 * r_riders.c - riders: register a caller (name, kana, phone, home, needs),
 * read one, search by phone digits or by name/kana.  Riders live in the
 * store; the service layer knows their ids (to check bookings).
 */
#include "api/server/routes_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *row_rider_json(const store_rider_row *r)
{
    json_t *o = json_object();
    const char *const vals[6] = {r->id,    r->name,         r->name_kana,
                                 r->phone, r->home_address, r->home_stop_id};
    static const char *const keys[6] = {"id",    "name",         "name_kana",
                                        "phone", "home_address", "home_stop_id"};

    for (int i = 0; i < 6; i++)
        json_object_set_new(o, keys[i], vals[i] ? json_string(vals[i]) : json_null());
    json_object_set_new(o, "home_lat", isnan(r->home_lat) ? json_null() : json_real(r->home_lat));
    json_object_set_new(o, "home_lon", isnan(r->home_lon) ? json_null() : json_real(r->home_lon));
    json_object_set_new(o, "wheelchair", json_boolean(r->wheelchair));
    json_object_set_new(o, "mobility", json_string(r->mobility ? r->mobility : ""));
    json_object_set_new(o, "notes", json_string(r->notes ? r->notes : ""));
    return o;
}

static void rider_committed(void *ud, int rc)
{
    rctx *c = ud;

    if (rc == 0) {
        json_t *j = json_loads(c->out, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id != NULL)
            svc_rider_add(c->s->core, id);
        json_decref(j);
    }
    rt_after_commit(ud, rc);
}

void h_rider_create(rctx *c)
{
    static const char *const keys[] = {"name",      "name_kana", "phone",    "home_address",
                                       "home_stop_id", "home_lat", "home_lon", "wheelchair",
                                       "mobility",  "notes",     NULL};
    const char *name, *kana, *phone, *addr, *stop, *mob, *notes;
    char id[40], digits[40];
    json_t *w, *la, *lo;
    size_t k = 0;
    store_txn *t;

    if (rt_body(c, 1) < 0 || rt_keys(c, c->body, "body", keys) < 0 ||
        rt_str(c, c->body, "name", 100, &name) < 0 ||
        rt_str(c, c->body, "name_kana", 100, &kana) < 0 ||
        rt_str(c, c->body, "phone", 30, &phone) < 0 ||
        rt_str(c, c->body, "home_address", 200, &addr) < 0 ||
        rt_id(c, c->body, "home_stop_id", 100, &stop) < 0 ||
        rt_str(c, c->body, "mobility", 200, &mob) < 0 ||
        rt_str(c, c->body, "notes", 500, &notes) < 0)
        return;
    if (name == NULL || name[0] == '\0') {
        rt_err(c, 400, "missing_field", "\"name\" is required");
        return;
    }
    if (stop != NULL && svc_map_get(&c->s->core->stop_ids, stop) == NULL) {
        rt_err(c, 422, "unknown_stop", "no stop \"%s\" in this service area", stop);
        return;
    }
    w = json_object_get(c->body, "wheelchair");
    if (w != NULL && !json_is_boolean(w)) {
        rt_err(c, 400, "invalid_field", "\"wheelchair\" must be true or false");
        return;
    }
    la = json_object_get(c->body, "home_lat");
    lo = json_object_get(c->body, "home_lon");
    if ((la != NULL) != (lo != NULL) ||
        (la != NULL && (!json_is_number(la) || !json_is_number(lo) ||
                        fabs(json_number_value(la)) > 90 || fabs(json_number_value(lo)) > 180))) {
        rt_err(c, 400, "invalid_field", "\"home_lat\" and \"home_lon\" go together, as numbers");
        return;
    }
    for (const char *p = phone ? phone : ""; *p && k + 1 < sizeof(digits); p++)
        if (isdigit((unsigned char)*p))
            digits[k++] = *p;
    digits[k] = '\0';
    if (rt_store_down(c))
        return;
    if (svc_random_id("r_", id, 15) < 0) {
        rt_err(c, 503, "unavailable",
                  "no randomness for the rider's id; nothing was created, try again shortly");
        return;
    }
    store st = api_store(c->s);
    store_rider_row rr = {.id = id,
                          .name = name,
                          .name_kana = kana ? kana : "",
                          .phone = phone ? phone : "",
                          .phone_digits = digits,
                          .home_address = addr ? addr : "",
                          .home_stop_id = stop,
                          .home_lat = la ? json_number_value(la) : NAN,
                          .home_lon = lo ? json_number_value(lo) : NAN,
                          .wheelchair = json_is_true(w),
                          .mobility = mob ? mob : "",
                          .notes = notes ? notes : ""};
    t = st.ops->txn_new(st.ctx);
    if (t == NULL || st.ops->put_rider(t, &rr) < 0) {
        if (t)
            st.ops->txn_free(t);
        rt_err(c, 503, "unavailable", "out of memory; nothing was created, try again");
        return;
    }
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:s,s:s}", "id", id, "name", name,
                          "name_kana", rr.name_kana, "phone", rr.phone, "home_address",
                          rr.home_address, "home_stop_id",
                          stop ? json_string(stop) : json_null(), "home_lat",
                          la ? json_real(json_number_value(la)) : json_null(), "home_lon",
                          lo ? json_real(json_number_value(lo)) : json_null(), "wheelchair",
                          json_is_true(w), "mobility", rr.mobility, "notes", rr.notes);
    char loc[80];
    snprintf(loc, sizeof(loc), "Location: /v1/riders/%s\r\n", id);
    rt_commit_reply_cb(c, t, 201, j, loc, rider_committed);
}

static void got_riders(void *ud, int rc, const store_rider_row *rows, int n)
{
    rctx *c = ud;
    int single = c->n_param > 0;

    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    if (single) {
        if (n == 0)
            rt_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
        else
            rt_reply(c, 200, row_rider_json(&rows[0]), NULL);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, row_rider_json(&rows[i]));
    rt_reply(c, 200, json_pack("{s:o}", "riders", arr), NULL);
}

void h_riders(rctx *c)
{
    char phone[64] = "", name[128] = "", digits[64];
    size_t k = 0;
    store st = api_store(c->s);

    if (c->n_param > 0) {
        if (c->tok->role == API_ROLE_RIDER && strcmp(c->param[0], c->tok->rider_id) != 0) {
            rt_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
            return;
        }
    } else if (api_http_query_get(c->req, "phone", phone, sizeof(phone)) == API_HTTP_EINVAL ||
               api_http_query_get(c->req, "name", name, sizeof(name)) == API_HTTP_EINVAL) {
        rt_err(c, 400, "invalid_query", "phone or name is malformed or too long");
        return;
    }
    for (const char *q = phone; *q && k + 1 < sizeof(digits); q++)
        if (isdigit((unsigned char)*q))
            digits[k++] = *q;
    digits[k] = '\0';
    if (c->n_param == 0 && digits[0] == '\0' && name[0] == '\0') {
        rt_err(c, 400, "invalid_query", "search by phone=... (digits) or name=...");
        return;
    }
    if (rt_store_down(c))
        return;
    if (c->n_param > 0) {
        const char *ids[1] = {c->param[0]};
        st.ops->riders_get(st.ctx, ids, 1, got_riders, c);
        return;
    }
    st.ops->riders_search(st.ctx, digits[0] ? digits : NULL, name[0] ? name : NULL, 50,
                          got_riders, c);
}
