/*
 * test_riders.c - riders and places that can be found, edited and
 * de-duplicated (issue 12), against the real daemon and PostgreSQL:
 *
 *   - a rider registered as 山田 花子 / やまだ はなこ is found by ヤマダ,
 *     ﾔﾏﾀﾞ, やまだはな (no space), "ヤマダ　ハナ" and by the phone in every
 *     form (+81, full-width, hyphens); a phone query with letters is 400;
 *   - a second registration with the same number (any form) is 409
 *     duplicate_rider naming the first rider, nothing created; with
 *     "allow_duplicate": true it is created;
 *   - PATCH: valid (stored, re-folded: found by the new kana, not the old),
 *     an invalid field (400, nothing changed), an unknown id (404), a
 *     rider token editing another rider (404) and its own record (200);
 *   - merge: the bookings move, the merged rider is kept but no search
 *     finds it, a trip in progress refuses it (409, nothing changed), bad
 *     input (itself, unknown, merged, no "into") changes nothing;
 *   - stops found by reading and by kind: びょういん / 病院, すーぱー /
 *     スーパー, 市役所, えき / 駅.
 * Bookings for the merge are written into the store directly (a trip in
 * progress needs a van to have picked someone up; the merge reads the
 * store, which is what these rows test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon.h"

#include <jansson.h>

#include "simulator/httpc.h"

#define PORT_FIRST 18961
#define PORT_LAST 18979

static dmn_env g_env;
static dmn g_d;
static sim_httpc *g_c;
static char g_op[80], g_rider[80];

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *err_code(json_t *j)
{
    return jstr(json_object_get(j, "error"), "code");
}

/* One call; fails the test unless the status is want. The JSON is the
 * caller's. */
static json_t *call(const char *tok, const char *method, const char *path, const char *body,
                    int want)
{
    int status;
    json_t *j = dmn_call(g_c, tok, method, path, NULL, body, &status);

    if (status != want) {
        char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
        print_error("%s %s: %d, want %d: %s\n", method, path, status, want, txt ? txt : "");
        free(txt);
        json_decref(j);
        fail();
    }
    return j;
}

static void query(const char *sql, const char *param, char *out, size_t len)
{
    if (dmn_query(g_env.conninfo, sql, param, out, len) < 0) {
        print_error("query failed: %s\n", out);
        fail();
    }
}

/* The ids of a rider search, "," joined, into out. */
static void search_ids(const char *query_str, char *out, size_t len)
{
    char path[300];
    json_t *j, *arr;

    snprintf(path, sizeof(path), "/v1/riders?%s", query_str);
    j = call(g_op, "GET", path, NULL, 200);
    arr = json_object_get(j, "riders");
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(arr); i++) {
        size_t n = strlen(out);
        snprintf(out + n, len - n, "%s%s", n ? "," : "", jstr(json_array_get(arr, i), "id"));
    }
    json_decref(j);
}

static void register_rider(const char *body, char id[40])
{
    json_t *j = call(g_op, "POST", "/v1/riders", body, 201);

    snprintf(id, 40, "%s", jstr(j, "id"));
    assert_true(id[0] != '\0');
    json_decref(j);
}

static int group_setup(void **state)
{
    (void)state;
    if (dmn_env_start(&g_env, "test_riders", "rid", PORT_FIRST, PORT_LAST) != 0)
        return -1;
    dmn_init(&g_d, &g_env, "main");
    if (dmn_start(&g_d, "09:00") != 0 || dmn_token(&g_d, "operator", g_op, sizeof(g_op)) != 0 ||
        dmn_token(&g_d, "rider", g_rider, sizeof(g_rider)) != 0 ||
        sim_httpc_create("127.0.0.1", g_d.port, 10000, &g_c) != 0) {
        dmn_term(&g_d, 5000, NULL);
        dmn_env_stop(&g_env);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sim_httpc_destroy(g_c);
    dmn_term(&g_d, 5000, NULL);
    dmn_env_stop(&g_env);
    return 0;
}

/* %E3%83%A4 ... : queries are sent percent-encoded, as a browser does. */
static void enc(const char *in, char *out, size_t len)
{
    size_t k = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p && k + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
            out[k++] = (char)*p;
        else
            k += (size_t)snprintf(out + k, len - k, "%%%02X", *p);
    }
    out[k] = '\0';
}

static void expect_found(const char *key, const char *value, const char *id)
{
    char q[400], e[300], ids[400];

    enc(value, e, sizeof(e));
    snprintf(q, sizeof(q), "%s=%s", key, e);
    search_ids(q, ids, sizeof(ids));
    if (strstr(ids, id) == NULL)
        fail_msg("%s=%s found [%s], not %s", key, value, ids, id);
}

static void expect_not_found(const char *key, const char *value, const char *id)
{
    char q[400], e[300], ids[400];

    enc(value, e, sizeof(e));
    snprintf(q, sizeof(q), "%s=%s", key, e);
    search_ids(q, ids, sizeof(ids));
    if (strstr(ids, id) != NULL)
        fail_msg("%s=%s found %s", key, value, id);
}

static void test_search_and_duplicates(void **state)
{
    static const char *const names[] = {"ヤマダ",       "やまだ", "ﾔﾏﾀﾞ", "やまだはな",
                                        "ヤマダ　ハナ", "山田",   "ﾊﾅｺ"};
    static const char *const phones[] = {"090-4444-5555", "+81 90 4444 5555",
                                         "０９０４４４４５５５５", "44445555", "(090)4444-5555"};
    char id[40], id2[40], out[512], body[300], q[64];
    json_t *j;

    (void)state;
    register_rider("{\"name\":\"山田 花子\",\"name_kana\":\"やまだ はなこ\","
                   "\"phone\":\"090-4444-5555\"}",
                   id);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        expect_found("name", names[i], id);
    for (size_t i = 0; i < sizeof(phones) / sizeof(phones[0]); i++)
        expect_found("phone", phones[i], id);
    expect_not_found("name", "すずき", id);
    call(g_op, "GET", "/v1/riders?phone=090abc", NULL, 400);
    call(g_op, "GET", "/v1/riders?name=%20%20", NULL, 400);

    /* the same number in another form: 409 with the rider, nothing created */
    query("SELECT count(*) FROM riders", NULL, out, sizeof(out));
    long before = atol(out);
    j = call(g_op, "POST", "/v1/riders",
             "{\"name\":\"ヤマダ ハナコ\",\"phone\":\"+81 90-4444-5555\"}", 409);
    assert_string_equal(err_code(j), "duplicate_rider");
    assert_int_equal(json_array_size(json_object_get(j, "riders")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "riders"), 0), "id"), id);
    json_decref(j);
    query("SELECT count(*) FROM riders", NULL, out, sizeof(out));
    assert_int_equal(atol(out), before);
    /* a phone that is not a number is refused, nothing created */
    j = call(g_op, "POST", "/v1/riders", "{\"name\":\"X\",\"phone\":\"090-1 内線\"}", 400);
    assert_string_equal(err_code(j), "invalid_field");
    json_decref(j);
    call(g_op, "POST", "/v1/riders",
         "{\"name\":\"X\",\"phone\":\"090-4444-5555\",\"allow_duplicate\":1}", 400);
    /* allowed on purpose: created, both found */
    snprintf(body, sizeof(body),
             "{\"name\":\"山田 太郎\",\"name_kana\":\"ヤマダ タロウ\",\"phone\":\"０９０-４４４４-"
             "５５５５\",\"allow_duplicate\":true}");
    register_rider(body, id2);
    query("SELECT phone_digits || ' ' || name_fold FROM riders WHERE id = $1", id2, out,
          sizeof(out));
    assert_string_equal(out, "09044445555 山田太郎 やまだたろう");
    enc("やまだ", q, sizeof(q));
    snprintf(body, sizeof(body), "name=%s", q);
    search_ids(body, out, sizeof(out));
    assert_non_null(strstr(out, id));
    assert_non_null(strstr(out, id2));
}

static void test_patch(void **state)
{
    char id[40], path[80], out[512], before[512];
    json_t *j;

    (void)state;
    register_rider("{\"name\":\"佐藤 一郎\",\"name_kana\":\"さとう いちろう\","
                   "\"phone\":\"03-7777-0001\",\"notes\":\"first\"}",
                   id);
    snprintf(path, sizeof(path), "/v1/riders/%s", id);
    j = call(g_op, "PATCH", path,
             "{\"name_kana\":\"サトウ ジロウ\",\"phone\":\"+81 3-7777-0002\",\"notes\":\"edited\","
             "\"wheelchair\":true,\"home_lat\":35.1,\"home_lon\":139.2}",
             200);
    assert_string_equal(jstr(j, "name"), "佐藤 一郎"); /* kept */
    assert_string_equal(jstr(j, "name_kana"), "サトウ ジロウ");
    assert_true(json_is_true(json_object_get(j, "wheelchair")));
    json_decref(j);
    query("SELECT name_kana, phone_digits, notes, wheelchair, home_lat FROM riders WHERE id = $1",
          id, out, sizeof(out));
    assert_string_equal(out, "サトウ ジロウ,0377770002,edited,t,35.1");
    expect_found("name", "じろう", id);
    expect_not_found("name", "いちろう", id);
    expect_found("phone", "03-7777-0002", id);
    expect_not_found("phone", "03-7777-0001", id);

    /* invalid fields: 400, nothing changed */
    static const char *const bad[] = {
        "{\"name\":\"\"}",
        "{\"name\":null}",
        "{\"wheelchair\":\"yes\"}",
        "{\"home_lat\":35}",
        "{\"phone\":\"abc\"}",
        "{\"nickname\":\"x\"}",
        "{\"home_stop_id\":\"nope\"}",
        "[1]",
        "{\"notes\":3}",
    };
    memcpy(before, out, sizeof(out));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status;
        j = dmn_call(g_c, g_op, "PATCH", path, NULL, bad[i], &status);
        if (status != 400 && status != 422)
            fail_msg("PATCH %s answered %d", bad[i], status);
        json_decref(j);
    }
    query("SELECT name_kana, phone_digits, notes, wheelchair, home_lat FROM riders WHERE id = $1",
          id, out, sizeof(out));
    assert_string_equal(out, before);

    /* An edit with an Idempotency-Key is answered once: the same key and
     * body get the stored answer, another body under it is refused. */
    {
        int st1, st2, st3;
        json_t *a =
            dmn_call(g_c, g_op, "PATCH", path, "patch-key-1", "{\"notes\":\"keyed\"}", &st1);
        json_t *b =
            dmn_call(g_c, g_op, "PATCH", path, "patch-key-1", "{\"notes\":\"keyed\"}", &st2);
        json_t *x =
            dmn_call(g_c, g_op, "PATCH", path, "patch-key-1", "{\"notes\":\"other\"}", &st3);
        assert_int_equal(st1, 200);
        assert_int_equal(st2, 200);
        assert_int_equal(st3, 422);
        assert_string_equal(jstr(b, "notes"), "keyed");
        json_decref(a);
        json_decref(b);
        json_decref(x);
        query("SELECT notes FROM riders WHERE id = $1", id, out, sizeof(out));
        assert_string_equal(out, "keyed");
        json_decref(call(g_op, "PATCH", path, "{\"notes\":\"edited\"}", 200));
    }
    j = call(g_op, "PATCH", "/v1/riders/r_nobody", "{\"notes\":\"x\"}", 404);
    json_decref(j);
    /* a rider token: another rider is not found, its own record is edited */
    j = call(g_rider, "PATCH", path, "{\"notes\":\"hijack\"}", 404);
    json_decref(j);
    query("SELECT notes FROM riders WHERE id = $1", id, out, sizeof(out));
    assert_string_equal(out, "edited");
    j = call(g_rider, "PATCH", "/v1/riders/r_demo", "{\"notes\":\"自分で変更\"}", 200);
    json_decref(j);
    query("SELECT notes FROM riders WHERE id = 'r_demo'", NULL, out, sizeof(out));
    assert_string_equal(out, "自分で変更");
}

/* A booking row straight into the store. */
static void put_booking(const char *id, const char *rider, const char *status)
{
    char sql[600], out[512];

    snprintf(sql, sizeof(sql),
             "INSERT INTO bookings (id, service_date, rider_id, created_by, status, pickup_lat, "
             "pickup_lon, drop_lat, drop_lon, when_kind, passengers, requested_s) VALUES "
             "('%s', '2030-04-01', $1, 'tk_test', '%s', 35, 139, 35.01, 139.01, 'asap', 1, 0)",
             id, status);
    query(sql, rider, out, sizeof(out));
}

static void test_merge(void **state)
{
    char a[40], b[40], busy[40], path[120], body[120], out[512];
    json_t *j;

    (void)state;
    register_rider("{\"name\":\"重複 ハル\",\"name_kana\":\"ちょうふく はる\","
                   "\"phone\":\"0120-11-2233\"}",
                   a);
    register_rider("{\"name\":\"重複 ハル\",\"name_kana\":\"チョウフク ハル\","
                   "\"phone\":\"0120112233\",\"allow_duplicate\":true}",
                   b);
    register_rider("{\"name\":\"乗車 中\",\"phone\":\"0120-99-0000\"}", busy);
    put_booking("bk_hj_1", a, "confirmed");
    put_booking("bk_hj_2", a, "completed");
    put_booking("bk_hj_3", busy, "picked_up");

    /* bad input: nothing changed */
    snprintf(path, sizeof(path), "/v1/riders/%s/merge", a);
    snprintf(body, sizeof(body), "{\"into\":\"%s\"}", a);
    j = call(g_op, "POST", path, body, 400);
    json_decref(j);
    j = call(g_op, "POST", path, "{}", 400);
    json_decref(j);
    j = call(g_op, "POST", path, "{\"into\":\"r_nobody\"}", 404);
    json_decref(j);
    j = call(g_op, "POST", path, "{\"into\":7}", 400);
    json_decref(j);
    j = call(g_rider, "POST", path, "{\"into\":\"r_demo\"}", 403);
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/riders/%s/merge", busy);
    snprintf(body, sizeof(body), "{\"into\":\"%s\"}", b);
    j = call(g_op, "POST", path, body, 409);
    assert_string_equal(err_code(j), "trip_in_progress");
    json_decref(j);
    query("SELECT string_agg(id || ':' || rider_id, ' ' ORDER BY id) FROM bookings WHERE id LIKE "
          "'bk_hj_%' AND $1 <> ''",
          "x", out, sizeof(out));
    char want[300];
    snprintf(want, sizeof(want), "bk_hj_1:%s bk_hj_2:%s bk_hj_3:%s", a, a, busy);
    assert_string_equal(out, want);
    query("SELECT count(*) FROM riders WHERE merged_into IS NOT NULL AND $1 <> ''", "x", out,
          sizeof(out));
    assert_string_equal(out, "0");

    /* the merge */
    snprintf(path, sizeof(path), "/v1/riders/%s/merge", a);
    snprintf(body, sizeof(body), "{\"into\":\"%s\"}", b);
    j = call(g_op, "POST", path, body, 200);
    assert_string_equal(jstr(j, "merged_into"), b);
    json_decref(j);
    query("SELECT string_agg(id || ':' || rider_id, ' ' ORDER BY id) FROM bookings WHERE id LIKE "
          "'bk_hj_%' AND $1 <> ''",
          "x", out, sizeof(out));
    snprintf(want, sizeof(want), "bk_hj_1:%s bk_hj_2:%s bk_hj_3:%s", b, b, busy);
    assert_string_equal(out, want);
    expect_found("name", "ちょうふく", b);
    expect_not_found("name", "ちょうふく", a);
    expect_not_found("phone", "0120-11-2233", a);
    /* kept: readable by id, marked */
    snprintf(path, sizeof(path), "/v1/riders/%s", a);
    j = call(g_op, "GET", path, NULL, 200);
    assert_string_equal(jstr(j, "merged_into"), b);
    json_decref(j);
    /* no longer a duplicate: the number registers as b's */
    j = call(g_op, "POST", "/v1/riders", "{\"name\":\"三人目\",\"phone\":\"0120-11-2233\"}", 409);
    assert_int_equal(json_array_size(json_object_get(j, "riders")), 1);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "riders"), 0), "id"), b);
    json_decref(j);
    /* a merged rider is neither edited nor merged again */
    j = call(g_op, "PATCH", path, "{\"notes\":\"x\"}", 409);
    assert_string_equal(err_code(j), "rider_merged");
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/riders/%s/merge", a);
    j = call(g_op, "POST", path, body, 409);
    assert_string_equal(err_code(j), "rider_merged");
    json_decref(j);
}

/* The names of the stops GET /v1/stops?q= finds, "|" joined. */
static void stops_found(const char *q, char *out, size_t len)
{
    char e[200], path[300];
    json_t *j, *arr;

    enc(q, e, sizeof(e));
    snprintf(path, sizeof(path), "/v1/stops?q=%s", e);
    j = call(g_op, "GET", path, NULL, 200);
    arr = json_object_get(j, "stops");
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *s = json_array_get(arr, i), *pl = json_object_get(s, "places");
        size_t n = strlen(out);
        snprintf(out + n, len - n, "|%s", jstr(s, "name"));
        for (size_t k = 0; k < json_array_size(pl); k++) {
            n = strlen(out);
            snprintf(out + n, len - n, "<%s>", jstr(json_array_get(pl, k), "kind"));
        }
    }
    json_decref(j);
}

static void test_stops(void **state)
{
    static const char *const pairs[][2] = {
        {"びょういん", "hospital"},  {"病院", "hospital"},        {"ビョウイン", "hospital"},
        {"スーパー", "supermarket"}, {"すーぱー", "supermarket"}, {"ｽｰﾊﾟｰ", "supermarket"},
        {"市役所", "city_hall"},     {"やくば", "city_hall"},     {"えき", "station"},
        {"駅", "station"},
    };
    char out[8000], want[40];

    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        stops_found(pairs[i][0], out, sizeof(out));
        snprintf(want, sizeof(want), "<%s>", pairs[i][1]);
        if (strstr(out, want) == NULL)
            fail_msg("q=%s found no stop with a %s: %s", pairs[i][0], pairs[i][1], out);
    }
    /* by the reading of the stop's own name: 総合病院前 -> そうごうびょういんまえ */
    stops_found("びょういんまえ", out, sizeof(out));
    assert_non_null(strstr(out, "病院前"));
    stops_found("えきまえ", out, sizeof(out));
    assert_non_null(strstr(out, "駅前"));
    stops_found("ぜったいにないばしょ", out, sizeof(out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_and_duplicates),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_stops),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
