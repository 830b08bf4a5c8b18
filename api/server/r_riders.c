/*
 * r_riders.c - riders: register a caller (name, kana, phone, home, needs),
 * read one, search, edit, merge duplicates.  Riders live in the store; the
 * service layer knows their ids (to check bookings).
 *
 * Search.  Names are folded (data/text/jtext: katakana/half-width ->
 * hiragana, full-width ASCII -> ASCII, case, spaces and middle dots
 * dropped) by the store on both sides, so ヤマダ, ﾔﾏﾀﾞ and "やまだ はな"
 * find やまだ はなこ; phone queries are normalised (+81 -> 0, full-width
 * digits, separators).  A query that is not text (invalid UTF-8) or a
 * phone query with letters is refused here, before the store.
 *
 * Duplicates.  Registration looks the normalised phone up first
 * (riders_by_phone, merged riders excluded): a match answers 409
 * duplicate_rider with the riders found, nothing created, unless the body
 * says "allow_duplicate": true (a second person sharing a landline).  The
 * look-up and the insert are two steps, so two registrations of one
 * number at the same instant can both pass: the check is for the
 * operator on the phone, not a uniqueness constraint.
 *
 * Edit (PATCH /v1/riders/{id}).  The stored record is read, the fields
 * given replace it (null clears an optional one; name never), everything
 * is validated as at registration, and the whole editable record is
 * written (update_rider) and committed before the answer.  A rider token
 * may edit its own record only (another id is 404, as for reads).  A
 * merged rider is 409 rider_merged.
 *
 * Merge (POST /v1/riders/{id}/merge {"into": id}).  Read both riders and
 * the first one's trips in progress (status picked_up) from the store;
 * refuse 404 / 409 (merged, trip in progress) / 400 (itself); else
 * merge_rider, whose statement holds the same guard, so a pickup that
 * slips in between changes nothing.  The merged id stays known to the
 * service layer (svc_rider_known): its old bookings and tokens name it.
 * The day core keeps the old rider id on the bookings it holds in memory
 * until the next restart; the store (what lists read) has the new one.
 *
 * PATCH and merge share h_riders / h_rider_create with the reads and the
 * registration (routes_int.h declares those two): the route table sends
 * them here and the method / parameters tell them apart.
 */
#include "api/server/routes_int.h"
#include "data/text/jtext.h"

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
    if (r->merged_into != NULL)
        json_object_set_new(o, "merged_into", json_string(r->merged_into));
    return o;
}

/* The fields a body may set, at registration and in an edit. */
static const char *const rider_keys[] = {"name",         "name_kana", "phone",    "home_address",
                                         "home_stop_id", "home_lat",  "home_lon", "wheelchair",
                                         "mobility",     "notes",     NULL};

/*
 * Validates the rider fields of c->body onto rr (which holds the stored
 * record for an edit, or zeros/NANs for a registration): a field absent
 * keeps rr's value, null clears an optional field.  digits[64] receives
 * the normalised phone.  0, or -1 with the answer sent.
 */
static int rider_from_body(rctx *c, int edit, store_rider_row *rr, char digits[64])
{
    const char *v[6];
    static const char *const names[6] = {"name",         "name_kana", "phone",
                                         "home_address", "mobility",  "notes"};
    static const size_t max[6] = {100, 100, 30, 200, 200, 500};
    const char **dst[6] = {&rr->name,         &rr->name_kana, &rr->phone,
                           &rr->home_address, &rr->mobility,  &rr->notes};
    json_t *w, *la, *lo, *st;
    const char *stop;
    int rc;

    for (int i = 0; i < 6; i++) {
        if (rt_str(c, c->body, names[i], max[i], &v[i]) < 0)
            return -1;
        if (v[i] != NULL)
            *dst[i] = v[i];
        else if (json_is_null(json_object_get(c->body, names[i])))
            *dst[i] = "";
    }
    if (rr->name == NULL || rr->name[0] == '\0') {
        rt_err(c, 400, edit ? "invalid_field" : "missing_field",
               edit ? "\"name\" cannot be empty" : "\"name\" is required");
        return -1;
    }
    if (rt_id(c, c->body, "home_stop_id", 100, &stop) < 0)
        return -1;
    st = json_object_get(c->body, "home_stop_id");
    if (stop != NULL && svc_map_get(&c->s->core->stop_ids, stop) == NULL) {
        rt_err(c, 422, "unknown_stop", "no stop \"%s\" in this service area", stop);
        return -1;
    }
    if (stop != NULL || json_is_null(st))
        rr->home_stop_id = stop;
    w = json_object_get(c->body, "wheelchair");
    if (w != NULL && !json_is_boolean(w)) {
        rt_err(c, 400, "invalid_field", "\"wheelchair\" must be true or false");
        return -1;
    }
    if (w != NULL)
        rr->wheelchair = json_is_true(w);
    la = json_object_get(c->body, "home_lat");
    lo = json_object_get(c->body, "home_lon");
    if (la != NULL && json_is_null(la) && lo != NULL && json_is_null(lo)) {
        rr->home_lat = rr->home_lon = NAN;
    } else if ((la != NULL) != (lo != NULL) ||
               (la != NULL &&
                (!json_is_number(la) || !json_is_number(lo) || fabs(json_number_value(la)) > 90 ||
                 fabs(json_number_value(lo)) > 180))) {
        rt_err(c, 400, "invalid_field", "\"home_lat\" and \"home_lon\" go together, as numbers");
        return -1;
    } else if (la != NULL) {
        rr->home_lat = json_number_value(la);
        rr->home_lon = json_number_value(lo);
    }
    rc = jt_fold_phone(rr->phone ? rr->phone : "", digits, 64);
    if (rc < 0) {
        rt_err(c, 400, "invalid_field",
               "\"phone\" must be a Japanese phone number: digits with - ( ) or spaces, "
               "optionally +81 (%s)",
               jt_strerror(rc));
        return -1;
    }
    rr->phone_digits = digits;
    rr->name_fold = NULL; /* the store folds name and kana */
    return 0;
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

/* Registration, once the duplicate check passed (or was waived). */
static void rider_insert(rctx *c)
{
    store_rider_row rr = {.home_lat = NAN, .home_lon = NAN};
    char id[40], digits[64], loc[80];
    store st = api_store(c->s);
    store_txn *t;

    if (rider_from_body(c, 0, &rr, digits) < 0)
        return;
    if (rt_store_down(c))
        return;
    if (svc_random_id("r_", id, 15) < 0) {
        rt_err(c, 503, "unavailable",
               "no randomness for the rider's id; nothing was created, try again shortly");
        return;
    }
    rr.id = id;
    t = st.ops->txn_new(st.ctx);
    if (t == NULL || st.ops->put_rider(t, &rr) < 0) {
        if (t)
            st.ops->txn_free(t);
        rt_err(c, 503, "unavailable", "out of memory; nothing was created, try again");
        return;
    }
    snprintf(loc, sizeof(loc), "Location: /v1/riders/%s\r\n", id);
    rt_commit_reply_cb(c, t, 201, row_rider_json(&rr), loc, rider_committed);
}

static void got_duplicates(void *ud, int rc, const store_rider_row *rows, int n)
{
    rctx *c = ud;

    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    if (n == 0) {
        rider_insert(c);
        return;
    }
    json_t *j = rt_err_json("duplicate_rider",
                            "a rider with this phone number is registered already; use that "
                            "rider, or send \"allow_duplicate\": true to register another");
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, row_rider_json(&rows[i]));
    json_object_set_new(j, "riders", arr);
    rt_reply(c, 409, j, NULL);
}

static void rider_merge(rctx *c);

void h_rider_create(rctx *c)
{
    static const char *const keys[] = {
        "name",     "name_kana",  "phone",    "home_address", "home_stop_id",    "home_lat",
        "home_lon", "wheelchair", "mobility", "notes",        "allow_duplicate", NULL};
    store_rider_row rr = {.home_lat = NAN, .home_lon = NAN};
    char digits[64];
    json_t *allow;

    if (c->n_param > 0) { /* POST /v1/riders/{id}/merge */
        rider_merge(c);
        return;
    }
    if (rt_body(c, 1) < 0 || rt_keys(c, c->body, "body", keys) < 0 ||
        rider_from_body(c, 0, &rr, digits) < 0)
        return;
    allow = json_object_get(c->body, "allow_duplicate");
    if (allow != NULL && !json_is_boolean(allow)) {
        rt_err(c, 400, "invalid_field", "\"allow_duplicate\" must be true or false");
        return;
    }
    if (rt_store_down(c))
        return;
    if (digits[0] == '\0' || json_is_true(allow)) {
        rider_insert(c);
        return;
    }
    store st = api_store(c->s);
    st.ops->riders_by_phone(st.ctx, digits, got_duplicates, c);
}

/* ---- edit ---- */

static void got_rider_to_edit(void *ud, int rc, const store_rider_row *rows, int n)
{
    rctx *c = ud;
    store_rider_row rr;
    char digits[64];
    store st = api_store(c->s);
    store_txn *t;

    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    if (n == 0) {
        rt_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
        return;
    }
    if (rows[0].merged_into != NULL) {
        rt_err(c, 409, "rider_merged", "rider \"%s\" was merged into \"%s\"; edit that one",
               c->param[0], rows[0].merged_into);
        return;
    }
    rr = rows[0];
    if (rider_from_body(c, 1, &rr, digits) < 0)
        return;
    t = st.ops->txn_new(st.ctx);
    if (t == NULL || st.ops->update_rider(t, &rr) < 0) {
        if (t)
            st.ops->txn_free(t);
        rt_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return;
    }
    rt_commit_reply(c, t, 200, row_rider_json(&rr), NULL);
}

static void rider_patch(rctx *c)
{
    const char *ids[1] = {c->param[0]};
    store_rider_row probe = {.home_lat = NAN, .home_lon = NAN, .name = "-"};
    char digits[64];
    store st = api_store(c->s);

    if (c->tok->role == API_ROLE_RIDER && strcmp(c->param[0], c->tok->rider_id) != 0) {
        rt_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
        return;
    }
    /* the body is checked before the read, so bad input costs no query */
    if (rt_body(c, 1) < 0 || rt_keys(c, c->body, "body", rider_keys) < 0 ||
        rider_from_body(c, 1, &probe, digits) < 0)
        return;
    if (rt_store_down(c))
        return;
    st.ops->riders_get(st.ctx, ids, 1, got_rider_to_edit, c);
}

/* ---- merge ---- */

static void got_merge_trips(void *ud, int rc, const store_booking_row *rows, int n)
{
    rctx *c = ud;
    const char *into = json_string_value(json_object_get(c->body, "into"));
    store st = api_store(c->s);
    store_txn *t;

    (void)rows;
    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    if (n > 0) {
        rt_err(c, 409, "trip_in_progress",
               "rider \"%s\" is on board a van now; merge after the trip ends", c->param[0]);
        return;
    }
    t = st.ops->txn_new(st.ctx);
    if (t == NULL || st.ops->merge_rider(t, c->param[0], into) < 0) {
        if (t)
            st.ops->txn_free(t);
        rt_err(c, 503, "unavailable", "out of memory; nothing was changed, try again");
        return;
    }
    rt_commit_reply(c, t, 200, json_pack("{s:s,s:s}", "id", c->param[0], "merged_into", into),
                    NULL);
}

static void got_merge_riders(void *ud, int rc, const store_rider_row *rows, int n)
{
    rctx *c = ud;
    const char *into = json_string_value(json_object_get(c->body, "into"));
    const store_rider_row *from = NULL, *to = NULL;
    store_booking_filter f = {c->param[0], NULL, "picked_up", NULL, -1, 1};
    store st = api_store(c->s);

    if (rc < 0) {
        rt_unavailable(c);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].id, c->param[0]) == 0)
            from = &rows[i];
        if (strcmp(rows[i].id, into) == 0)
            to = &rows[i];
    }
    if (from == NULL || to == NULL) {
        rt_err(c, 404, "not_found", "no rider \"%s\"", from == NULL ? c->param[0] : into);
        return;
    }
    if (from->merged_into != NULL || to->merged_into != NULL) {
        const store_rider_row *m = from->merged_into != NULL ? from : to;
        rt_err(c, 409, "rider_merged", "rider \"%s\" was merged into \"%s\" already", m->id,
               m->merged_into);
        return;
    }
    st.ops->bookings(st.ctx, &f, got_merge_trips, c);
}

static void rider_merge(rctx *c)
{
    static const char *const keys[] = {"into", NULL};
    const char *into, *ids[2];
    store st = api_store(c->s);

    if (rt_body(c, 1) < 0 || rt_keys(c, c->body, "body", keys) < 0 ||
        rt_id(c, c->body, "into", 100, &into) < 0)
        return;
    if (into == NULL || into[0] == '\0') {
        rt_err(c, 400, "missing_field", "\"into\": the id of the rider to keep is required");
        return;
    }
    if (strcmp(into, c->param[0]) == 0) {
        rt_err(c, 400, "invalid_field", "a rider cannot be merged into itself");
        return;
    }
    if (rt_store_down(c))
        return;
    ids[0] = c->param[0];
    ids[1] = into;
    st.ops->riders_get(st.ctx, ids, 2, got_merge_riders, c);
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
    char phone[64] = "", name[128] = "", digits[64], folded[128];
    store st = api_store(c->s);

    if (strcmp(c->req->method, "PATCH") == 0) {
        rider_patch(c);
        return;
    }
    if (c->n_param > 0) {
        if (c->tok->role == API_ROLE_RIDER && strcmp(c->param[0], c->tok->rider_id) != 0) {
            rt_err(c, 404, "not_found", "no rider \"%s\"", c->param[0]);
            return;
        }
        if (rt_store_down(c))
            return;
        const char *ids[1] = {c->param[0]};
        st.ops->riders_get(st.ctx, ids, 1, got_riders, c);
        return;
    }
    if (api_http_query_get(c->req, "phone", phone, sizeof(phone)) == API_HTTP_EINVAL ||
        api_http_query_get(c->req, "name", name, sizeof(name)) == API_HTTP_EINVAL) {
        rt_err(c, 400, "invalid_query", "phone or name is malformed or too long");
        return;
    }
    if (jt_fold_phone(phone, digits, sizeof(digits)) < 0) {
        rt_err(c, 400, "invalid_query",
               "phone= takes digits with - ( ) or spaces, optionally +81 (a part of a number is "
               "fine)");
        return;
    }
    if (jt_fold_name(name, folded, sizeof(folded)) < 0) {
        rt_err(c, 400, "invalid_query", "name= must be UTF-8 text");
        return;
    }
    if (digits[0] == '\0' && folded[0] == '\0') {
        rt_err(c, 400, "invalid_query", "search by phone=... (digits) or name=...");
        return;
    }
    if (rt_store_down(c))
        return;
    /* the store folds both again (the same functions): the query is sent as typed */
    st.ops->riders_search(st.ctx, digits[0] ? digits : NULL, folded[0] ? name : NULL, 50,
                          got_riders, c);
}
