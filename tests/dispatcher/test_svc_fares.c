/*
 * test_svc_fares.c - the fare of a trip (dispatcher/svc_fares.h).
 *
 * Rules are read from JSON text as a service's configuration holds them,
 * so every case also goes through the reader; a few are built by hand.
 * Cases: a flat fare; each category (child, senior, disability holder and
 * companion, preschool free allowance, pass holder); the rounding (unit
 * and mode, and the cap at the adult fare); the companion rule; the group
 * threshold exactly (min_people - 1 and min_people; total and percent;
 * never dearer); zone pairs; the transfer discount (capped per person and
 * by the total); the labels an operator reads; bad JSON (unknown key,
 * negative fare, a zone missing from the matrix, and more) with the
 * message naming the field; bad parties and unknown zones.  A property
 * test quotes random parties under random rules: the total is the sum of
 * the lines, never negative, never above everyone paying the adult fare,
 * and the lines count every person once.
 */
#include <setjmp.h> /* cmocka needs these four first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher/svc_fares.h"

/* ---------------------------------------------------------------------- */
/* helpers                                                                 */

/* Rules from the text of a "fares" object; the test fails on an error. */
static svc_fare_rules rules_of(const char *text)
{
    svc_fare_rules r;
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    char err[300] = "";

    if (v == NULL)
        fail_msg("test JSON: %s", jerr.text);
    if (svc_fare_rules_from_json(v, "fares", &r, err, sizeof(err)) != 0)
        fail_msg("rules refused: %s", err);
    json_decref(v);
    return r;
}

/* The error of reading text: rc, and the message into err. */
static int rules_err(const char *text, char *err, size_t err_len)
{
    svc_fare_rules r;
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    int rc;

    if (v == NULL)
        fail_msg("test JSON: %s", jerr.text);
    memset(&r, 0x5a, sizeof(r));
    rc = svc_fare_rules_from_json(v, "fares", &r, err, err_len);
    json_decref(v);
    if (rc != 0) {
        svc_fare_rules zero;

        memset(&zero, 0, sizeof(zero));
        assert_memory_equal(&r, &zero, sizeof(r)); /* nothing half-read */
    }
    return rc;
}

static void expect_err(const char *text, const char *msg_part)
{
    char err[400] = "";

    assert_int_equal(rules_err(text, err, sizeof(err)), SVC_FARE_EINVAL);
    if (strstr(err, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err, msg_part);
}

static svc_fare_party party(int adult, int child, int senior, int disabled, int companion,
                            int preschool, int pass)
{
    svc_fare_party p;

    memset(&p, 0, sizeof(p));
    p.count[SVC_FARE_ADULT] = adult;
    p.count[SVC_FARE_CHILD] = child;
    p.count[SVC_FARE_SENIOR] = senior;
    p.count[SVC_FARE_DISABLED] = disabled;
    p.count[SVC_FARE_COMPANION] = companion;
    p.count[SVC_FARE_PRESCHOOL] = preschool;
    p.count[SVC_FARE_PASS] = pass;
    return p;
}

static svc_fare_quote quote(const svc_fare_rules *r, svc_fare_party p, const char *from,
                            const char *to, int connects)
{
    svc_fare_quote q;
    char err[300] = "";

    if (svc_fare_quote_trip(r, &p, from, to, connects, &q, err, sizeof(err)) != 0)
        fail_msg("quote refused: %s", err);
    return q;
}

/* The amount of the people line of c at unit_yen, -1 when there is none. */
static int people_line(const svc_fare_quote *q, svc_fare_cat c, int unit_yen, int *count)
{
    for (int i = 0; i < q->n_lines; i++) {
        const svc_fare_line *l = &q->lines[i];

        if (l->kind == SVC_FARE_LINE_PEOPLE && l->cat == c && l->unit_yen == unit_yen) {
            if (count != NULL)
                *count = l->count;
            return l->amount_yen;
        }
    }
    return -1;
}

static const svc_fare_line *line_of(const svc_fare_quote *q, svc_fare_line_kind k)
{
    for (int i = 0; i < q->n_lines; i++)
        if (q->lines[i].kind == k)
            return &q->lines[i];
    return NULL;
}

static int sum_lines(const svc_fare_quote *q)
{
    int sum = 0;

    for (int i = 0; i < q->n_lines; i++)
        sum += q->lines[i].amount_yen;
    return sum;
}

#define FULL_RULES                                                                                 \
    "{\"flat_yen\": 300,"                                                                          \
    " \"rounding\": {\"unit_yen\": 10, \"mode\": \"up\"},"                                         \
    " \"child\": {\"percent_off\": 50},"                                                           \
    " \"senior\": {\"min_age\": 70, \"fare_yen\": 200},"                                           \
    " \"disability\": {\"percent_off\": 50, \"companions_per_holder\": 1},"                        \
    " \"preschool\": {\"free_per_adult\": 2},"                                                     \
    " \"group\": {\"min_people\": 3, \"total_yen\": 800},"                                         \
    " \"transfer\": {\"yen_off\": 100},"                                                           \
    " \"comment\": \"町の条例 第12条\"}"

#define ZONE_RULES                                                                                 \
    "{\"zones\": [\"北部\", \"中央\", \"駅前\"],"                                            \
    " \"zone_fares\": {"                                                                           \
    "   \"北部\": {\"北部\": 200, \"中央\": 300, \"駅前\": 400},"                          \
    "   \"中央\": {\"北部\": 300, \"中央\": 200, \"駅前\": 300},"                          \
    "   \"駅前\": {\"北部\": 450, \"中央\": 300, \"駅前\": 200}},"                         \
    " \"child\": {\"percent_off\": 50}}"

/* ---------------------------------------------------------------------- */
/* cases                                                                   */

static void test_flat(void **state)
{
    svc_fare_rules r = rules_of("{\"flat_yen\": 300}");
    svc_fare_quote q = quote(&r, party(2, 0, 0, 0, 0, 0, 0), NULL, NULL, 0);

    (void)state;
    assert_int_equal(q.adult_yen, 300);
    assert_int_equal(q.total_yen, 600);
    assert_int_equal(q.n_lines, 1);
    assert_string_equal(q.lines[0].ja, "大人 2名 × 300円 = 600円");
    assert_string_equal(q.lines[0].en, "Adult 2 × 300 yen = 600 yen");
    assert_string_equal(q.total_ja, "合計 600円");
    assert_string_equal(q.total_en, "Total 600 yen");

    /* Categories the rules leave out pay the adult fare. */
    q = quote(&r, party(0, 1, 1, 1, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 900);
    /* Zones are ignored with a flat fare. */
    q = quote(&r, party(1, 0, 0, 0, 0, 0, 0), "どこか", "nowhere", 0);
    assert_int_equal(q.total_yen, 300);
    /* Thousands are grouped in the labels. */
    r = rules_of("{\"flat_yen\": 1500}");
    q = quote(&r, party(3, 0, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_string_equal(q.lines[0].ja, "大人 3名 × 1,500円 = 4,500円");
    assert_string_equal(q.total_en, "Total 4,500 yen");
}

static void test_categories(void **state)
{
    svc_fare_rules r = rules_of(FULL_RULES);
    svc_fare_quote q;
    int n = 0;

    (void)state;
    /* child: half of 300 */
    q = quote(&r, party(0, 1, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 150);
    assert_string_equal(q.lines[0].ja, "小児 1名 × 150円 = 150円");
    assert_string_equal(q.lines[0].en, "Child 1 × 150 yen = 150 yen");
    /* senior: a fixed 200, labelled with the rules' age */
    q = quote(&r, party(0, 0, 2, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 400);
    assert_string_equal(q.lines[0].ja, "高齢者(70歳以上) 2名 × 200円 = 400円");
    assert_string_equal(q.lines[0].en, "Senior (70+) 2 × 200 yen = 400 yen");
    /* disability certificate holder: half */
    q = quote(&r, party(0, 0, 0, 1, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 150);
    assert_string_equal(q.lines[0].ja, "障害者手帳 1名 × 150円 = 150円");
    /* pass holder: 0 */
    q = quote(&r, party(0, 0, 0, 0, 0, 0, 1), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 0);
    assert_string_equal(q.lines[0].ja, "定期券・1日乗車券 1名 × 0円 = 0円");
    assert_string_equal(q.lines[0].en, "Pass holder 1 × 0 yen = 0 yen");
    /* preschool: 2 free per adult, the rest at the child fare */
    q = quote(&r, party(1, 0, 0, 0, 0, 3, 0), NULL, NULL, 0);
    assert_int_equal(people_line(&q, SVC_FARE_PRESCHOOL, 0, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(people_line(&q, SVC_FARE_PRESCHOOL, 150, &n), 150);
    assert_int_equal(n, 1);
    assert_int_equal(q.total_yen, 300 + 150);
    /* a pass holder counts as an adult for the allowance */
    q = quote(&r, party(0, 0, 0, 0, 0, 2, 1), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 0);
    /* with no free allowance in the rules, preschoolers pay the child fare */
    r = rules_of("{\"flat_yen\": 300, \"child\": {\"percent_off\": 50}}");
    q = quote(&r, party(1, 0, 0, 0, 0, 1, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 450);
    /* wheelchair users pay by category; a 0-yen note says how many */
    q = quote(&r, (svc_fare_party){.count = {[SVC_FARE_ADULT] = 2}, .wheelchairs = 1}, NULL, NULL,
              0);
    assert_int_equal(q.total_yen, 600);
    assert_non_null(line_of(&q, SVC_FARE_LINE_WHEELCHAIR));
    assert_int_equal(line_of(&q, SVC_FARE_LINE_WHEELCHAIR)->amount_yen, 0);
    assert_string_equal(line_of(&q, SVC_FARE_LINE_WHEELCHAIR)->ja, "うち車いす 1名");
}

static void test_rounding(void **state)
{
    svc_fare_rules r;
    svc_fare_quote q;
    svc_fare_party one_child = party(0, 1, 0, 0, 0, 0, 0);

    (void)state;
    /* half of 330 is 165 */
    r = rules_of("{\"flat_yen\": 330, \"child\": {\"percent_off\": 50}}"); /* default: 10, up */
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 170);
    r = rules_of("{\"flat_yen\": 330, \"child\": {\"percent_off\": 50},"
                 " \"rounding\": {\"mode\": \"down\"}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 160);
    r = rules_of("{\"flat_yen\": 330, \"child\": {\"percent_off\": 50},"
                 " \"rounding\": {\"mode\": \"nearest\"}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 170); /* a half goes up */
    r = rules_of("{\"flat_yen\": 320, \"child\": {\"percent_off\": 45},"
                 " \"rounding\": {\"mode\": \"nearest\"}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 180); /* 176 -> 180 */
    r = rules_of("{\"flat_yen\": 330, \"child\": {\"percent_off\": 50},"
                 " \"rounding\": {\"unit_yen\": 1}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 165);
    r = rules_of("{\"flat_yen\": 330, \"child\": {\"percent_off\": 50},"
                 " \"rounding\": {\"unit_yen\": 50, \"mode\": \"down\"}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 150);
    /* an exact result is not moved */
    r = rules_of("{\"flat_yen\": 300, \"child\": {\"percent_off\": 50}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 150);
    /* rounding up never takes a discounted fare above the adult fare */
    r = rules_of("{\"flat_yen\": 305, \"child\": {\"percent_off\": 0}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 305);
    r = rules_of("{\"flat_yen\": 305, \"child\": {\"percent_off\": 1}}");
    assert_int_equal(quote(&r, one_child, NULL, NULL, 0).total_yen, 305); /* 301.95 -> 310 -> cap */
    /* nor does a fixed category fare */
    r = rules_of("{\"flat_yen\": 150, \"senior\": {\"fare_yen\": 200}}");
    q = quote(&r, party(0, 0, 1, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 150);
}

static void test_companion(void **state)
{
    svc_fare_rules r = rules_of(FULL_RULES);
    svc_fare_quote q;
    int n = 0;

    (void)state;
    /* one holder, one companion: both half */
    q = quote(&r, party(0, 0, 0, 1, 1, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 300);
    assert_int_equal(people_line(&q, SVC_FARE_COMPANION, 150, &n), 150);
    assert_int_equal(n, 1);
    assert_string_equal(q.lines[1].ja, "介助者 1名 × 150円 = 150円");
    /* a second companion pays the adult fare, on its own line */
    q = quote(&r, party(0, 0, 0, 1, 2, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 150 + 150 + 300);
    assert_int_equal(people_line(&q, SVC_FARE_COMPANION, 300, &n), 300);
    assert_int_equal(n, 1);
    assert_string_equal(q.lines[2].ja, "介助者(割引対象外) 1名 × 300円 = 300円");
    assert_string_equal(q.lines[2].en, "Companion (no discount) 1 × 300 yen = 300 yen");
    /* two holders, two companions: all half (the group of 4 pays 600 < 800) */
    q = quote(&r, party(0, 0, 0, 2, 2, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 600);
    /* a companion without a holder pays the adult fare */
    q = quote(&r, party(0, 0, 0, 0, 1, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 300);
    /* companions_per_holder 0: the holder alone */
    r = rules_of("{\"flat_yen\": 300,"
                 " \"disability\": {\"percent_off\": 50, \"companions_per_holder\": 0}}");
    q = quote(&r, party(0, 0, 0, 1, 1, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 450);
    /* two per holder */
    r = rules_of("{\"flat_yen\": 300,"
                 " \"disability\": {\"fare_yen\": 100, \"companions_per_holder\": 2}}");
    q = quote(&r, party(0, 0, 0, 1, 3, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 100 + 2 * 100 + 300);
}

static void test_group_threshold(void **state)
{
    svc_fare_rules r = rules_of(FULL_RULES); /* from 3 paying people: 800 in all */
    svc_fare_quote q;
    const svc_fare_line *g;

    (void)state;
    /* 2 adults: below the threshold */
    q = quote(&r, party(2, 0, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 600);
    assert_null(line_of(&q, SVC_FARE_LINE_GROUP));
    /* exactly 3: 900 becomes 800 */
    q = quote(&r, party(3, 0, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 800);
    g = line_of(&q, SVC_FARE_LINE_GROUP);
    assert_non_null(g);
    assert_int_equal(g->amount_yen, -100);
    assert_int_equal(g->count, 3);
    assert_string_equal(g->ja, "団体運賃(3名以上) 3名で800円 = -100円");
    assert_string_equal(g->en, "Group fare (3 or more): 3 for 800 yen = -100 yen");
    /* free preschoolers and pass holders do not make a group */
    q = quote(&r, party(2, 0, 0, 0, 0, 1, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 600);
    q = quote(&r, party(2, 0, 0, 0, 0, 0, 1), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 600);
    /* a group price dearer than the fares is not applied: 3 children pay 450 */
    q = quote(&r, party(0, 3, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 450);
    assert_null(line_of(&q, SVC_FARE_LINE_GROUP));
    /* the group price covers the paying people only: a pass holder adds 0 */
    q = quote(&r, party(3, 0, 0, 0, 0, 0, 1), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 800);

    /* a percentage from 4, rounded as the rules say */
    r = rules_of("{\"flat_yen\": 330, \"child\": {\"percent_off\": 50},"
                 " \"group\": {\"min_people\": 4, \"percent_off\": 15}}");
    q = quote(&r, party(3, 0, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 990);
    q = quote(&r, party(3, 1, 0, 0, 0, 0, 0), NULL, NULL, 0);
    /* 990 + 170 = 1160, less 15 % = 986 -> 990 */
    assert_int_equal(q.total_yen, 990);
    g = line_of(&q, SVC_FARE_LINE_GROUP);
    assert_non_null(g);
    assert_int_equal(g->amount_yen, -170);
    assert_string_equal(g->ja, "団体割引(4名以上) 4名 15%引 = -170円");
    assert_string_equal(g->en, "Group discount (4 or more): 4, 15% off = -170 yen");
}

static void test_zones(void **state)
{
    svc_fare_rules r = rules_of(ZONE_RULES);
    svc_fare_quote q;
    char err[300] = "";
    svc_fare_party p = party(1, 1, 0, 0, 0, 0, 0);

    (void)state;
    assert_int_equal(r.n_zones, 3);
    assert_int_equal(svc_fare_zone_find(&r, "駅前"), 2);
    assert_int_equal(svc_fare_zone_find(&r, "南部"), -1);
    q = quote(&r, p, "北部", "駅前", 0);
    assert_int_equal(q.adult_yen, 400);
    assert_int_equal(q.total_yen, 600);
    /* the matrix need not be symmetric */
    q = quote(&r, p, "駅前", "北部", 0);
    assert_int_equal(q.adult_yen, 450);
    assert_int_equal(q.total_yen, 450 + 230); /* 225 rounded up */
    q = quote(&r, p, "中央", "中央", 0);
    assert_int_equal(q.total_yen, 300);
    /* a zone the rules do not name */
    assert_int_equal(svc_fare_quote_trip(&r, &p, "南部", "駅前", 0, &q, err, sizeof(err)),
                     SVC_FARE_EZONE);
    assert_non_null(strstr(err, "pickup zone \"南部\""));
    assert_int_equal(q.total_yen, 0);
    assert_int_equal(q.n_lines, 0);
    assert_int_equal(svc_fare_quote_trip(&r, &p, "北部", NULL, 0, &q, err, sizeof(err)),
                     SVC_FARE_EZONE);
    assert_non_null(strstr(err, "drop-off zone"));
    assert_string_equal(svc_fare_strerror(SVC_FARE_EZONE), "unknown fare zone");
}

static void test_transfer(void **state)
{
    svc_fare_rules r = rules_of(FULL_RULES);
    svc_fare_quote q;
    const svc_fare_line *t;

    (void)state;
    /* no connection, no discount */
    q = quote(&r, party(1, 1, 0, 0, 0, 0, 0), NULL, NULL, 0);
    assert_int_equal(q.total_yen, 450);
    assert_null(line_of(&q, SVC_FARE_LINE_TRANSFER));
    /* connecting: 100 off each paying person */
    q = quote(&r, party(1, 1, 0, 0, 0, 0, 0), NULL, NULL, 1);
    assert_int_equal(q.total_yen, 250);
    t = line_of(&q, SVC_FARE_LINE_TRANSFER);
    assert_non_null(t);
    assert_int_equal(t->amount_yen, -200);
    assert_string_equal(t->ja, "乗継割引 2名 × 100円引 = -200円");
    assert_string_equal(t->en, "Transfer discount 2 × 100 yen off = -200 yen");
    /* pass holders and free preschoolers get nothing off */
    q = quote(&r, party(1, 0, 0, 0, 0, 1, 1), NULL, NULL, 1);
    assert_int_equal(q.total_yen, 200);
    /* at most each person's fare */
    r = rules_of("{\"flat_yen\": 300, \"child\": {\"fare_yen\": 50},"
                 " \"transfer\": {\"yen_off\": 100}}");
    q = quote(&r, party(1, 1, 0, 0, 0, 0, 0), NULL, NULL, 1);
    assert_int_equal(q.total_yen, 200); /* 350 - (100 + 50) */
    t = line_of(&q, SVC_FARE_LINE_TRANSFER);
    assert_string_equal(t->ja, "乗継割引 2名 (1名100円引まで) = -150円");
    /* and at most what the group price left */
    r = rules_of("{\"flat_yen\": 300, \"group\": {\"min_people\": 3, \"total_yen\": 200},"
                 " \"transfer\": {\"yen_off\": 100}}");
    q = quote(&r, party(3, 0, 0, 0, 0, 0, 0), NULL, NULL, 1);
    assert_int_equal(q.total_yen, 0);
    assert_int_equal(line_of(&q, SVC_FARE_LINE_TRANSFER)->amount_yen, -200);
    /* with zones too */
    r = rules_of(
        "{\"zones\": [\"A\", \"B\"],"
        " \"zone_fares\": {\"A\": {\"A\": 200, \"B\": 400}, \"B\": {\"A\": 400, \"B\": 200}},"
        " \"transfer\": {\"yen_off\": 150}}");
    q = quote(&r, party(2, 0, 0, 0, 0, 0, 0), "A", "B", 1);
    assert_int_equal(q.total_yen, 500);
}

static void test_bad_json(void **state)
{
    char err[400] = "";

    (void)state;
    expect_err("{\"flat\": 300}", "fares: unknown field \"flat\" (known: flat_yen, zones");
    expect_err("{\"flat_yen\": 300, \"child\": {\"percent\": 50}}",
               "fares.child: unknown field \"percent\"");
    expect_err("{\"flat_yen\": -300}", "fares.flat_yen: must be an integer in [0, 100000], "
                                       "found -300");
    expect_err("{\"flat_yen\": \"300\"}", "fares.flat_yen: must be an integer");
    expect_err("{\"flat_yen\": 300, \"senior\": {\"fare_yen\": -1}}", "fares.senior.fare_yen");
    expect_err("{\"flat_yen\": 300, \"child\": {\"percent_off\": 120}}",
               "fares.child.percent_off: must be an integer in [0, 100], found 120");
    expect_err("{\"flat_yen\": 300, \"child\": {\"percent_off\": 50, \"fare_yen\": 100}}",
               "fares.child: percent_off and fare_yen exclude each other");
    expect_err("{}", "fares: the fare is missing");
    expect_err("[]", "fares: expected an object, found an array");
    expect_err("{\"flat_yen\": 300, \"zones\": [\"A\"], \"zone_fares\": {\"A\": {\"A\": 1}}}",
               "fares: flat_yen and zones/zone_fares exclude each other");
    expect_err("{\"zones\": [\"A\"]}", "fares: zone_fares is missing");
    /* a zone missing from the matrix: a row, then a cell */
    expect_err("{\"zones\": [\"北部\", \"駅前\"], \"zone_fares\": {\"北部\": {\"北部\": 200, "
               "\"駅前\": 300}}}",
               "fares.zone_fares: no fares from zone \"駅前\"");
    expect_err("{\"zones\": [\"北部\", \"駅前\"], \"zone_fares\": {\"北部\": {\"北部\": 200, "
               "\"駅前\": 300}, \"駅前\": {\"駅前\": 200}}}",
               "fares.zone_fares.駅前: no fare to zone \"北部\"");
    expect_err("{\"zones\": [\"A\"], \"zone_fares\": {\"A\": {\"A\": 200, \"B\": 300}}}",
               "fares.zone_fares.A: unknown field \"B\" (known: A)");
    expect_err("{\"zones\": [\"A\"], \"zone_fares\": {\"A\": {\"A\": -5}}}",
               "fares.zone_fares.A.A: must be an integer in [0, 100000], found -5");
    expect_err("{\"zones\": [\"A\", \"A\"], \"zone_fares\": {\"A\": {\"A\": 5}}}",
               "fares.zones[1]: zone \"A\" is named twice");
    expect_err("{\"zones\": [], \"zone_fares\": {}}", "fares.zones: must name 1 to 16 zones");
    expect_err("{\"zones\": [\"\"], \"zone_fares\": {}}", "fares.zones[0]: must not be empty");
    expect_err("{\"flat_yen\": 300, \"rounding\": {\"mode\": \"bankers\"}}",
               "fares.rounding.mode: must be \"up\", \"down\" or \"nearest\", found \"bankers\"");
    expect_err("{\"flat_yen\": 300, \"rounding\": {\"unit_yen\": 0}}",
               "fares.rounding.unit_yen: must be an integer in [1, 1000]");
    expect_err("{\"flat_yen\": 300, \"group\": {\"total_yen\": 800}}",
               "fares.group: min_people is missing");
    expect_err("{\"flat_yen\": 300, \"group\": {\"min_people\": 3}}",
               "fares.group: give one of total_yen and percent_off, not neither");
    expect_err("{\"flat_yen\": 300, \"group\": {\"min_people\": 1, \"total_yen\": 5}}",
               "fares.group.min_people: must be an integer in [2, 99], found 1");
    expect_err("{\"flat_yen\": 300, \"transfer\": {}}", "fares.transfer: yen_off is missing");
    expect_err("{\"flat_yen\": 300, \"transfer\": {\"yen_off\": -100}}",
               "fares.transfer.yen_off: must be an integer in [0, 100000], found -100");
    expect_err("{\"flat_yen\": 300, \"preschool\": {\"free_per_adult\": 2, \"age\": 6}}",
               "fares.preschool: unknown field \"age\"");
    /* no message buffer: still the code */
    {
        json_t *v = json_loads("{\"flat\": 1}", 0, NULL);
        svc_fare_rules r;

        assert_int_equal(svc_fare_rules_from_json(v, "fares", &r, NULL, 0), SVC_FARE_EINVAL);
        json_decref(v);
    }
    /* at the top level, messages carry no path */
    {
        json_t *v = json_loads("{\"flat_yen\": -1}", 0, NULL);
        svc_fare_rules r;

        assert_int_equal(svc_fare_rules_from_json(v, NULL, &r, err, sizeof(err)), SVC_FARE_EINVAL);
        assert_string_equal(err, "flat_yen: must be an integer in [0, 100000], found -1");
        json_decref(v);
    }
}

static void test_bad_party_and_rules(void **state)
{
    svc_fare_rules r;
    svc_fare_quote q;
    svc_fare_party p;
    char err[300] = "";

    (void)state;
    svc_fare_rules_flat(&r, 300);
    assert_int_equal(svc_fare_rules_check(&r, err, sizeof(err)), 0);
    p = party(0, 0, 0, 0, 0, 0, 0);
    assert_int_equal(svc_fare_quote_trip(&r, &p, NULL, NULL, 0, &q, err, sizeof(err)),
                     SVC_FARE_EINVAL);
    assert_non_null(strstr(err, "party: must be 1 to 99 people, found 0"));
    p = party(1, -1, 0, 0, 0, 0, 0);
    assert_int_equal(svc_fare_quote_trip(&r, &p, NULL, NULL, 0, &q, err, sizeof(err)),
                     SVC_FARE_EINVAL);
    assert_non_null(strstr(err, "party.Child"));
    p = party(60, 40, 0, 0, 0, 0, 0);
    assert_int_equal(svc_fare_quote_trip(&r, &p, NULL, NULL, 0, &q, err, sizeof(err)),
                     SVC_FARE_EINVAL);
    p = party(1, 0, 0, 0, 0, 0, 0);
    p.wheelchairs = 2;
    assert_int_equal(svc_fare_quote_trip(&r, &p, NULL, NULL, 0, &q, err, sizeof(err)),
                     SVC_FARE_EINVAL);
    assert_non_null(strstr(err, "party.wheelchairs"));
    assert_int_equal(q.n_lines, 0);

    /* rules built by hand are checked too */
    p.wheelchairs = 0;
    r.child.kind = SVC_FARE_DISC_PERCENT;
    r.child.percent_off = 150;
    assert_int_equal(svc_fare_quote_trip(&r, &p, NULL, NULL, 0, &q, err, sizeof(err)),
                     SVC_FARE_EINVAL);
    assert_non_null(strstr(err, "child.percent_off"));
    svc_fare_rules_flat(&r, -10);
    assert_int_equal(svc_fare_rules_check(&r, err, sizeof(err)), SVC_FARE_EINVAL);
    svc_fare_rules_flat(&r, 300);
    r.round_unit_yen = 0;
    assert_int_equal(svc_fare_rules_check(&r, err, sizeof(err)), SVC_FARE_EINVAL);
    assert_string_equal(svc_fare_strerror(SVC_FARE_EINVAL), "invalid fare rules or party");
    assert_string_equal(svc_fare_strerror(0), "success");
}

/* The two examples of the header comment, as written there (less the
 * notes in parentheses), read and quoted. */
static void test_documented_examples(void **state)
{
    svc_fare_rules r;
    svc_fare_quote q;

    (void)state;
    r = rules_of("{\"flat_yen\": 300,"
                 " \"rounding\": {\"unit_yen\": 10, \"mode\": \"up\"},"
                 " \"child\": {\"percent_off\": 50},"
                 " \"senior\": {\"min_age\": 65, \"fare_yen\": 200},"
                 " \"disability\": {\"percent_off\": 50, \"companions_per_holder\": 1},"
                 " \"preschool\": {\"free_per_adult\": 2},"
                 " \"group\": {\"min_people\": 3, \"total_yen\": 800},"
                 " \"transfer\": {\"yen_off\": 100},"
                 " \"comment\": \"町営デマンドバス運賃 (2025年4月改定)\"}");
    /* a senior with a certificate holder and companion, connecting to a train */
    q = quote(&r, party(0, 0, 1, 1, 1, 0, 0), NULL, NULL, 1);
    /* 200 + 150 + 150 = 500 (under 800), less 3 x 100 */
    assert_int_equal(q.total_yen, 200);
    assert_string_equal(q.total_ja, "合計 200円");
    r = rules_of("{\"zones\": [\"北部\", \"中央\", \"駅前\"],"
                 " \"zone_fares\": {"
                 "   \"北部\": {\"北部\": 200, \"中央\": 300, \"駅前\": 400},"
                 "   \"中央\": {\"北部\": 300, \"中央\": 200, \"駅前\": 300},"
                 "   \"駅前\": {\"北部\": 400, \"中央\": 300, \"駅前\": 200}},"
                 " \"child\": {\"percent_off\": 50}}");
    q = quote(&r, party(1, 1, 0, 0, 0, 0, 0), "駅前", "北部", 0);
    assert_int_equal(q.total_yen, 600);
}

/* ---------------------------------------------------------------------- */
/* property: sum of the breakdown, never negative, never above full fare    */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;

static int rnd(int n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (int)(g_rng % (uint64_t)n);
}

static void random_disc(svc_fare_disc *d)
{
    d->kind = (svc_fare_disc_kind)rnd(3);
    d->percent_off = rnd(101);
    d->fare_yen = rnd(4) == 0 ? 0 : rnd(600);
}

static void test_property_total(void **state)
{
    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        static const int units[] = {1, 5, 10, 50, 100};
        svc_fare_rules r;
        svc_fare_party p;
        svc_fare_quote q;
        char err[300] = "";
        int people = 0, counted = 0, full;
        const char *from = NULL, *to = NULL;

        svc_fare_rules_flat(&r, rnd(5) == 0 ? rnd(50) : rnd(1000));
        if (rnd(2)) {
            r.n_zones = 1 + rnd(4);
            for (int i = 0; i < r.n_zones; i++) {
                snprintf(r.zones[i], sizeof(r.zones[i]), "z%d", i);
                for (int k = 0; k < r.n_zones; k++)
                    r.zone_yen[i][k] = rnd(900);
            }
            from = r.zones[rnd(r.n_zones)];
            to = r.zones[rnd(r.n_zones)];
        }
        r.round_unit_yen = units[rnd(5)];
        r.round_mode = (svc_fare_round)rnd(3);
        random_disc(&r.child);
        random_disc(&r.senior);
        random_disc(&r.disability);
        r.companions_per_holder = rnd(3);
        r.preschool_free_per_adult = rnd(3);
        r.group = (svc_fare_group_kind)rnd(3);
        r.group_min_people = 2 + rnd(5);
        r.group_total_yen = rnd(2000);
        r.group_percent_off = rnd(101);
        r.transfer_yen_off = rnd(3) == 0 ? 0 : rnd(500);

        memset(&p, 0, sizeof(p));
        while (people == 0) {
            for (int c = 0; c < SVC_FARE_N_CAT; c++) {
                p.count[c] = rnd(3) == 0 ? rnd(6) : 0;
                people += p.count[c];
            }
        }
        p.wheelchairs = rnd(people + 1);

        if (svc_fare_quote_trip(&r, &p, from, to, rnd(2), &q, err, sizeof(err)) != 0)
            fail_msg("iteration %d refused: %s", iter, err);
        full = people * q.adult_yen;
        if (q.total_yen != sum_lines(&q) || q.total_yen < 0 || q.total_yen > full)
            fail_msg("iteration %d: total %d, lines %d, full %d", iter, q.total_yen, sum_lines(&q),
                     full);
        assert_true(q.n_lines <= SVC_FARE_MAX_LINES);
        for (int i = 0; i < q.n_lines; i++) {
            const svc_fare_line *l = &q.lines[i];

            assert_true(l->ja[0] != '\0' && l->en[0] != '\0');
            if (l->kind == SVC_FARE_LINE_PEOPLE) {
                assert_true(l->unit_yen >= 0 && l->unit_yen <= q.adult_yen);
                assert_int_equal(l->amount_yen, l->count * l->unit_yen);
                counted += l->count;
            } else {
                assert_true(l->amount_yen <= 0);
            }
        }
        assert_int_equal(counted, people);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_categories),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_companion),
        cmocka_unit_test(test_group_threshold),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_party_and_rules),
        cmocka_unit_test(test_documented_examples),
        cmocka_unit_test(test_property_total),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
