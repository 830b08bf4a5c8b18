/*
 * test_calendar.c - civil day numbers (every date 1900..2200 round-trips,
 * leap years, weekdays), the public-holiday table in
 * data/calendar/jp-holidays.csv checked against the 祝日法 recomputed here
 * from its rules (fixed dates, Happy Monday days, the equinox formula,
 * 振替休日, 国民の休日) and against dates known from the Cabinet Office's
 * lists, the loader's refusals with file and line, a light mutation fuzz of
 * the loader, service calendars (weekdays, holidays off with the name, the
 * New Year break, the period, added and removed dates, a year the table does
 * not cover) and their JSON form with its refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/calendar/calendar.h"
#include "solver/rng.h"

#define HOLIDAYS_CSV "data/calendar/jp-holidays.csv"

static cal_day D(const char *s)
{
    cal_day d;

    if (cal_parse(s, &d) != 0)
        fail_msg("bad date in the test: %s", s);
    return d;
}

static cal_holidays *load_table(void)
{
    cal_holidays *h = NULL;
    char err[512] = "";

    if (cal_load_holidays(HOLIDAYS_CSV, &h, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return h;
}

/* ------------------------------------------------------------------------ */

static void test_dates(void **state)
{
    (void)state;
    char buf[11], back[48];
    cal_day d, prev = 0;
    int y, m, dd, n = 0;

    assert_int_equal(cal_parse("1970-01-01", &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(cal_weekday(0), 4); /* a Thursday */
    assert_int_equal(cal_weekday(D("2026-01-01")), 4);
    assert_int_equal(cal_weekday(D("2026-09-22")), 2);
    assert_int_equal(cal_weekday(D("1900-01-01")), 1);
    assert_int_equal(D("2000-03-01") - D("2000-02-28"), 2);
    assert_int_equal(D("2100-03-01") - D("2100-02-28"), 1);
    assert_int_equal(D("2024-03-01") - D("2024-02-28"), 2);

    /* Every date of the range, in order, one day apart, printed back. */
    for (y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++) {
        for (m = 1; m <= 12; m++) {
            for (dd = 1; dd <= 31; dd++) {
                int ok = cal_from_ymd(y, m, dd, &d) == 0;
                int y2, m2, d2;

                if (!ok)
                    continue;
                if (n++ > 0)
                    assert_int_equal(d, prev + 1);
                prev = d;
                cal_to_ymd(d, &y2, &m2, &d2);
                assert_int_equal(y2 * 10000 + m2 * 100 + d2, y * 10000 + m * 100 + dd);
                cal_format(d, buf);
                snprintf(back, sizeof(back), "%04d-%02d-%02d", y, m, dd);
                assert_string_equal(buf, back);
            }
        }
    }
    assert_int_equal(n, D("2200-12-31") - D("1900-01-01") + 1);

    static const char *const bad[] = {"2026-02-29",     "2100-02-29", "2026-13-01", "2026-00-10",
                                      "2026-04-31",     "2026-4-01",  "2026/04/01", "2026-04-01 ",
                                      " 2026-04-01",    "1899-12-31", "2201-01-01", "",
                                      "２０２６-04-01", "2026-04-0x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cal_parse(bad[i], &d) != CAL_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(cal_parse(NULL, &d), CAL_EINVAL);
    assert_int_equal(cal_parse("2024-02-29", &d), 0);
    assert_int_equal(cal_parse("2000-02-29", &d), 0);
    assert_string_equal(cal_strerror(CAL_ERANGE), "date outside the years of the holiday table");
    assert_string_equal(cal_strerror(0), "success");
    assert_string_equal(cal_strerror(-99), "unknown calendar error");
}

/* ------------------------------------------------------------------------ */
/* The holidays recomputed from the law (国民の祝日に関する法律, as amended
 * up to 2018), independently of the script that wrote the table. */

typedef struct {
    cal_day day;
    const char *ja, *en;
} rule_day;

static int rule_find(const rule_day *v, int n, cal_day day)
{
    for (int i = 0; i < n; i++)
        if (v[i].day == day)
            return i;
    return -1;
}

static cal_day nth_monday(int y, int m, int nth)
{
    cal_day first = 0;

    assert_int_equal(cal_from_ymd(y, m, 1, &first), 0);
    int to_monday = (1 - cal_weekday(first) + 7) % 7;
    return first + to_monday + 7 * (nth - 1);
}

static cal_day ymd(int y, int m, int d)
{
    cal_day day = 0;

    assert_int_equal(cal_from_ymd(y, m, d, &day), 0);
    return day;
}

/* The equinox days as the National Astronomical Observatory's formula gives
 * them for 1980..2099 (the Cabinet Office announces each year's a year
 * ahead; the announced ones for 2024..2026 are the known dates below). */
static int equinox(int y, double base)
{
    double v = base + 0.242194 * (y - 1980) - (double)((y - 1980) / 4);

    return (int)v;
}

static int rules_for_year(int y, rule_day *v)
{
    int n = 0;
    int national;

#define ADD(day_, ja_, en_) (v[n].day = (day_), v[n].ja = (ja_), v[n].en = (en_), n++)
    ADD(ymd(y, 1, 1), "元日", "New Year's Day");
    ADD(nth_monday(y, 1, 2), "成人の日", "Coming of Age Day");
    ADD(ymd(y, 2, 11), "建国記念の日", "National Foundation Day");
    ADD(ymd(y, 2, 23), "天皇誕生日", "The Emperor's Birthday");
    ADD(ymd(y, 3, equinox(y, 20.8431)), "春分の日", "Vernal Equinox Day");
    ADD(ymd(y, 4, 29), "昭和の日", "Showa Day");
    ADD(ymd(y, 5, 3), "憲法記念日", "Constitution Memorial Day");
    ADD(ymd(y, 5, 4), "みどりの日", "Greenery Day");
    ADD(ymd(y, 5, 5), "こどもの日", "Children's Day");
    ADD(nth_monday(y, 7, 3), "海の日", "Marine Day");
    ADD(ymd(y, 8, 11), "山の日", "Mountain Day");
    ADD(nth_monday(y, 9, 3), "敬老の日", "Respect for the Aged Day");
    ADD(ymd(y, 9, equinox(y, 23.2488)), "秋分の日", "Autumnal Equinox Day");
    ADD(nth_monday(y, 10, 2), "スポーツの日", "Sports Day");
    ADD(ymd(y, 11, 3), "文化の日", "Culture Day");
    ADD(ymd(y, 11, 23), "勤労感謝の日", "Labor Thanksgiving Day");
    national = n;
    /* Article 3(2): a national holiday on a Sunday makes the nearest
     * following day that is not a national holiday a holiday. */
    for (int i = 0; i < national; i++) {
        if (cal_weekday(v[i].day) != 0)
            continue;
        cal_day s = v[i].day + 1;
        while (rule_find(v, n, s) >= 0)
            s++;
        ADD(s, "振替休日", "Substitute Holiday");
    }
    /* Article 3(3): a day whose eve and morrow are national holidays, and
     * that is none itself, is a holiday. */
    for (int i = 0; i < national; i++) {
        cal_day mid = v[i].day + 1;
        int after = rule_find(v, national, mid + 1);

        if (after >= 0 && rule_find(v, n, mid) < 0)
            ADD(mid, "国民の休日", "National Holiday");
    }
#undef ADD
    return n;
}

static void test_table_follows_the_law(void **state)
{
    (void)state;
    cal_holidays *h = load_table();
    rule_day v[40];
    int total = 0;

    assert_int_equal(h->first_year, 2024);
    assert_int_equal(h->last_year, 2030);
    for (int y = 2024; y <= 2030; y++) {
        int n = rules_for_year(y, v);

        total += n;
        for (int i = 0; i < n; i++) {
            const cal_holiday *row = NULL;
            char ds[11];

            cal_format(v[i].day, ds);
            if (cal_holiday_find(h, v[i].day, &row) != 1)
                fail_msg("%s (%s) is missing from the table", ds, v[i].ja);
            if (strcmp(row->name_ja, v[i].ja) != 0 || strcmp(row->name_en, v[i].en) != 0)
                fail_msg("%s: table says %s / %s, the rules %s / %s", ds, row->name_ja,
                         row->name_en, v[i].ja, v[i].en);
        }
    }
    /* ... and nothing else is in it. */
    assert_int_equal(h->n, total);
    cal_holidays_destroy(h);
}

static void test_known_holidays(void **state)
{
    (void)state;
    static const struct {
        const char *date, *ja;
    } known[] = {
        {"2026-01-01", "元日"},         {"2026-01-12", "成人の日"}, {"2026-05-06", "振替休日"},
        {"2026-09-22", "国民の休日"},   {"2026-09-23", "秋分の日"}, {"2025-11-24", "振替休日"},
        {"2024-03-20", "春分の日"},     {"2025-03-20", "春分の日"}, {"2026-03-20", "春分の日"},
        {"2024-09-22", "秋分の日"},     {"2024-09-23", "振替休日"}, {"2025-09-23", "秋分の日"},
        {"2024-02-12", "振替休日"},     {"2025-02-24", "振替休日"}, {"2026-07-20", "海の日"},
        {"2026-10-12", "スポーツの日"}, {"2027-03-22", "振替休日"}, {"2029-04-30", "振替休日"},
    };
    static const char *const not_holidays[] = {"2026-01-02", "2026-05-07", "2026-09-24",
                                               "2025-11-25", "2026-12-31", "2026-08-10"};
    cal_holidays *h = load_table();
    const cal_holiday *row;

    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (cal_holiday_find(h, D(known[i].date), &row) != 1)
            fail_msg("%s is not in the table", known[i].date);
        assert_string_equal(row->name_ja, known[i].ja);
    }
    for (size_t i = 0; i < sizeof(not_holidays) / sizeof(not_holidays[0]); i++) {
        assert_int_equal(cal_holiday_find(h, D(not_holidays[i]), &row), 0);
        assert_null(row);
    }
    assert_int_equal(cal_holiday_find(h, D("2031-01-01"), &row), CAL_ERANGE);
    assert_int_equal(cal_holiday_find(h, D("2023-12-31"), &row), CAL_ERANGE);
    assert_int_equal(cal_holiday_find(NULL, D("2026-01-01"), &row), CAL_ERANGE);
    cal_holidays_destroy(h);
}

/* ------------------------------------------------------------------------ */
/* The loader's refusals */

static void expect_refused(const char *text, int code, const char *frag)
{
    cal_holidays *h = (cal_holidays *)1;
    char err[512] = "";
    int rc = cal_load_holidays_mem("h.csv", text, strlen(text), &h, err, sizeof(err));

    if (rc != code)
        fail_msg("expected %d, got %d (%s) for:\n%s", code, rc, err, text);
    assert_null(h);
    if (strstr(err, frag) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err, frag);
}

#define HDR "date,name_ja,name_en\n"

static void test_loader_refusals(void **state)
{
    (void)state;
    cal_holidays *h = NULL;
    char err[512] = "";

    expect_refused("", CAL_EFORMAT, "h.csv");
    expect_refused(HDR, CAL_EFORMAT, "h.csv: no holidays");
    expect_refused("date,name\n2026-01-01,元日\n", CAL_EFORMAT, "h.csv:1: the header");
    expect_refused("name_ja,date,name_en\n", CAL_EFORMAT, "h.csv:1: the header");
    expect_refused(HDR "2026-01-01,元日\n", CAL_EFORMAT, "h.csv:2: 2 fields, expected 3");
    expect_refused(HDR "2026-01-01,元日,New Year's Day,x\n", CAL_EFORMAT, "h.csv:2: 4 fields");
    expect_refused(HDR "2026-01-01,元日,New Year's Day\n2026-02-30,x,y\n", CAL_EFORMAT,
                   "h.csv:3: date \"2026-02-30\" is not a real date");
    expect_refused(HDR "2026/01/01,元日,New Year's Day\n", CAL_EFORMAT, "h.csv:2: date");
    expect_refused(HDR "2026-01-12,成人の日,Coming of Age Day\n2026-01-01,元日,New Year's Day\n",
                   CAL_EFORMAT, "h.csv:3: date 2026-01-01 is before the row before (2026-01-12)");
    expect_refused(HDR "2026-01-01,元日,a\n2026-01-01,元日,b\n", CAL_EFORMAT,
                   "h.csv:3: date 2026-01-01 is the same as");
    expect_refused(HDR "2026-01-01,,New Year's Day\n", CAL_EFORMAT, "h.csv:2: name_ja is empty");
    expect_refused(HDR "2026-01-01,元日, New Year's Day\n", CAL_EFORMAT,
                   "h.csv:2: name_en has blanks");
    expect_refused(HDR "2026-01-01,元日,\"New\tYear\"\n", CAL_EFORMAT,
                   "h.csv:2: name_en holds a control");
    expect_refused(HDR "2026-01-01,\xff\xfe,x\n", CAL_EFORMAT, "h.csv:2: name_ja is not UTF-8");
    expect_refused(HDR "2026-01-01,元日,"
                       "0123456789012345678901234567890123456789012345678901234567890123\n",
                   CAL_EFORMAT, "h.csv:2: name_en is longer than 63 bytes");
    expect_refused(HDR "2024-01-01,元日,a\n2026-01-01,元日,b\n", CAL_EFORMAT,
                   "no holidays for the year 2025 (the file covers 2024..2026)");
    expect_refused(HDR "2026-01-01,元日,\"a\n", CAL_EFORMAT, "h.csv");

    /* Good: a small table, with CRLF and a byte order mark. */
    const char *ok = "\xef\xbb\xbf"
                     "date,name_ja,name_en\r\n2026-01-01,元日,New Year's Day\r\n"
                     "2027-01-01,元日,New Year's Day\r\n";
    assert_int_equal(cal_load_holidays_mem("ok.csv", ok, strlen(ok), &h, err, sizeof(err)), 0);
    assert_int_equal(h->n, 2);
    assert_int_equal(h->first_year, 2026);
    assert_int_equal(h->last_year, 2027);
    assert_int_equal(cal_holiday_find(h, D("2027-06-01"), NULL), 0);
    cal_holidays_destroy(h);

    h = (cal_holidays *)1;
    assert_int_equal(cal_load_holidays("/nonexistent/jp-holidays.csv", &h, err, sizeof(err)),
                     CAL_EOPEN);
    assert_null(h);
    assert_non_null(strstr(err, "/nonexistent/jp-holidays.csv"));
    assert_int_equal(cal_load_holidays(NULL, &h, err, sizeof(err)), CAL_EINVAL);
}

/* Mutated copies of the real table: each is either read (then it still is
 * sorted, with names that pass the checks) or refused with a message that
 * names the file; never a crash or a leak (ASan build). */
static void test_loader_fuzz(void **state)
{
    (void)state;
    char *base = NULL, *buf;
    size_t len = 0;
    char err[512];
    slv_rng rng;
    int accepted = 0, refused = 0;
    FILE *f = fopen(HOLIDAYS_CSV, "rb");

    assert_non_null(f);
    base = malloc(CAL_HOLIDAYS_MAX_BYTES);
    buf = malloc(CAL_HOLIDAYS_MAX_BYTES + 64);
    assert_non_null(base);
    assert_non_null(buf);
    len = fread(base, 1, CAL_HOLIDAYS_MAX_BYTES, f);
    fclose(f);
    assert_true(len > 1000);
    slv_rng_seed(&rng, 12);
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = len;
        int edits = 1 + (int)slv_rng_below(&rng, 4);

        memcpy(buf, base, len);
        for (int e = 0; e < edits && n > 1; e++) {
            size_t at = (size_t)slv_rng_below(&rng, (int)n);
            switch (slv_rng_below(&rng, 4)) {
            case 0: /* a byte replaced by one of the interesting ones */
                buf[at] = ",\n\"-0 9\xe3\r"[slv_rng_below(&rng, 10)];
                break;
            case 1: /* a byte dropped */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            case 2: /* a digit changed */
                if (buf[at] >= '0' && buf[at] <= '9')
                    buf[at] = (char)('0' + slv_rng_below(&rng, 10));
                break;
            default: /* cut short */
                n = at;
                break;
            }
        }
        cal_holidays *h = NULL;
        err[0] = '\0';
        int rc = cal_load_holidays_mem("fuzz.csv", buf, n, &h, err, sizeof(err));
        if (rc == 0) {
            accepted++;
            assert_true(h->n > 0);
            for (int i = 1; i < h->n; i++)
                assert_true(h->v[i].day > h->v[i - 1].day);
            cal_holidays_destroy(h);
        } else {
            refused++;
            assert_int_equal(rc, CAL_EFORMAT);
            assert_null(h);
            if (strncmp(err, "fuzz.csv", 8) != 0)
                fail_msg("message without the file name: %s", err);
        }
    }
    assert_true(accepted > 0);
    assert_true(refused > 0);
    free(base);
    free(buf);
}

/* ------------------------------------------------------------------------ */
/* Service calendars */

static void expect_runs(const cal_service *c, const char *date, int runs, cal_why why,
                        const char *holiday_ja)
{
    cal_why w = (cal_why)-1;
    const cal_holiday *hol = (const cal_holiday *)1;
    int rc = cal_service_runs(c, D(date), &w, &hol);

    if (rc != runs || (int)w != (int)why)
        fail_msg("%s: runs %d why %d, expected %d why %d", date, rc, (int)w, runs, (int)why);
    if (holiday_ja == NULL)
        assert_null(hol);
    else
        assert_string_equal(hol->name_ja, holiday_ja);
}

static void test_service(void **state)
{
    (void)state;
    cal_holidays *h = load_table();
    cal_service c;

    cal_service_init(&c);
    expect_runs(&c, "2026-01-01", 1, CAL_WHY_SERVICE_DAY, NULL); /* no days off at all */
    expect_runs(&c, "2040-01-01", 1, CAL_WHY_SERVICE_DAY, NULL); /* no table needed */

    c.weekdays = CAL_WEEKDAYS;
    c.holidays_off = 1;
    c.holidays = h;
    expect_runs(&c, "2026-01-13", 1, CAL_WHY_SERVICE_DAY, NULL);   /* Tuesday */
    expect_runs(&c, "2026-01-12", 0, CAL_WHY_HOLIDAY, "成人の日"); /* Monday */
    expect_runs(&c, "2026-01-17", 0, CAL_WHY_WEEKDAY, NULL);       /* Saturday */
    expect_runs(&c, "2026-01-18", 0, CAL_WHY_WEEKDAY, NULL);       /* Sunday */
    expect_runs(&c, "2026-09-22", 0, CAL_WHY_HOLIDAY, "国民の休日");
    expect_runs(&c, "2025-11-24", 0, CAL_WHY_HOLIDAY, "振替休日");
    expect_runs(&c, "2026-01-02", 1, CAL_WHY_SERVICE_DAY, NULL); /* no break asked for */
    c.year_end_off = 1;
    expect_runs(&c, "2026-01-02", 0, CAL_WHY_YEAR_END, NULL);
    expect_runs(&c, "2025-12-29", 0, CAL_WHY_YEAR_END, NULL);
    expect_runs(&c, "2025-12-26", 1, CAL_WHY_SERVICE_DAY, NULL);
    expect_runs(&c, "2026-01-05", 1, CAL_WHY_SERVICE_DAY, NULL);

    /* Exceptions win over everything, both ways. */
    assert_int_equal(cal_service_except(&c, D("2026-01-12"), 1), 0);
    assert_int_equal(cal_service_except(&c, D("2026-01-13"), 0), 0);
    assert_int_equal(cal_service_except(&c, D("2026-01-17"), 1), 0);
    expect_runs(&c, "2026-01-12", 1, CAL_WHY_ADDED, NULL);
    expect_runs(&c, "2026-01-13", 0, CAL_WHY_REMOVED, NULL);
    expect_runs(&c, "2026-01-17", 1, CAL_WHY_ADDED, NULL);
    assert_int_equal(cal_service_except(&c, D("2026-01-17"), 0), 0); /* replaced */
    expect_runs(&c, "2026-01-17", 0, CAL_WHY_REMOVED, NULL);
    assert_int_equal(c.n_exceptions, 3);

    /* The period. */
    c.start_day = D("2026-04-01");
    c.end_day = D("2027-03-31");
    expect_runs(&c, "2026-03-31", 0, CAL_WHY_PERIOD, NULL);
    expect_runs(&c, "2026-04-01", 1, CAL_WHY_SERVICE_DAY, NULL);
    expect_runs(&c, "2027-03-31", 1, CAL_WHY_SERVICE_DAY, NULL);
    expect_runs(&c, "2027-04-01", 0, CAL_WHY_PERIOD, NULL);
    expect_runs(&c, "2026-01-12", 1, CAL_WHY_ADDED, NULL); /* added outside the period */

    /* A year the table does not cover: no answer rather than a guess -
     * unless the weekday already says no. */
    c.start_day = c.end_day = CAL_NO_DAY;
    assert_int_equal(cal_service_runs(&c, D("2031-01-06"), NULL, NULL), CAL_ERANGE);
    expect_runs(&c, "2031-01-04", 0, CAL_WHY_WEEKDAY, NULL);
    c.holidays = NULL;
    assert_int_equal(cal_service_runs(&c, D("2026-01-14"), NULL, NULL), CAL_ERANGE);
    assert_int_equal(cal_service_runs(NULL, D("2026-01-14"), NULL, NULL), CAL_EINVAL);

    /* The list of exceptions is bounded. */
    cal_service_init(&c);
    for (int i = 0; i < CAL_MAX_EXCEPTIONS; i++)
        assert_int_equal(cal_service_except(&c, D("2026-01-01") + 2 * i, i & 1), 0);
    assert_int_equal(cal_service_except(&c, D("2026-01-02"), 1), CAL_EINVAL);
    for (int i = 1; i < c.n_exceptions; i++)
        assert_true(c.exceptions[i].day > c.exceptions[i - 1].day);
    cal_holidays_destroy(h);
}

/* ------------------------------------------------------------------------ */
/* JSON */

static int parse(const char *text, cal_service *out, char *err, size_t err_len)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);

    if (j == NULL)
        fail_msg("bad JSON in the test: %s", je.text);
    int rc = cal_service_from_json(j, "booking_rules.calendar", out, err, err_len);
    json_decref(j);
    return rc;
}

static void expect_json_refused(const char *text, const char *frag)
{
    cal_service c;
    char err[512] = "";

    c.weekdays = 12345;
    if (parse(text, &c, err, sizeof(err)) != CAL_EINVAL)
        fail_msg("accepted %s", text);
    assert_int_equal(c.weekdays, 12345); /* untouched */
    if (strstr(err, frag) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err, frag);
}

static void test_json(void **state)
{
    (void)state;
    cal_service c;
    char err[512] = "";

    assert_int_equal(parse("{}", &c, err, sizeof(err)), 0);
    assert_int_equal(c.weekdays, CAL_EVERY_DAY);
    assert_int_equal(c.n_exceptions, 0);
    assert_int_equal(c.start_day, CAL_NO_DAY);

    assert_int_equal(parse("{\"days\": [\"mon\", \"wed\", \"fri\"], \"holidays_off\": true,"
                           " \"year_end_off\": true, \"start_date\": \"2026-04-01\","
                           " \"end_date\": \"2027-03-31\", \"added\": [\"2026-11-03\"],"
                           " \"removed\": [\"2026-08-14\", \"2026-08-12\"],"
                           " \"comment\": \"お盆は運休\"}",
                           &c, err, sizeof(err)),
                     0);
    assert_int_equal(c.weekdays, CAL_MON | CAL_WED | CAL_FRI);
    assert_true(c.holidays_off);
    assert_true(c.year_end_off);
    assert_int_equal(c.start_day, D("2026-04-01"));
    assert_int_equal(c.end_day, D("2027-03-31"));
    assert_int_equal(c.n_exceptions, 3);
    assert_int_equal(c.exceptions[0].day, D("2026-08-12"));
    assert_int_equal(c.exceptions[0].added, 0);
    assert_int_equal(c.exceptions[2].day, D("2026-11-03"));
    assert_int_equal(c.exceptions[2].added, 1);
    assert_null(c.holidays);

    expect_json_refused("{\"dayz\": []}", "booking_rules.calendar: unknown field \"dayz\"");
    expect_json_refused("[]", "booking_rules.calendar");
    expect_json_refused("{\"days\": []}", "booking_rules.calendar.days: names no day");
    expect_json_refused("{\"days\": \"mon\"}", "booking_rules.calendar.days: must be an array");
    expect_json_refused("{\"days\": [\"mon\", \"Mon\"]}",
                        "booking_rules.calendar.days[1]: must be one of");
    expect_json_refused("{\"days\": [\"mon\", \"mon\"]}",
                        "booking_rules.calendar.days[1]: \"mon\" is named twice");
    expect_json_refused("{\"holidays_off\": 1}", "booking_rules.calendar.holidays_off");
    expect_json_refused("{\"start_date\": \"2026-02-30\"}",
                        "booking_rules.calendar.start_date: must be a date");
    expect_json_refused("{\"start_date\": \"2026-04-01\", \"end_date\": \"2026-03-31\"}",
                        "booking_rules.calendar.end_date: is before start_date");
    expect_json_refused("{\"added\": \"2026-01-01\"}",
                        "booking_rules.calendar.added: must be an array");
    expect_json_refused("{\"added\": [\"2026-01-01\", 3]}",
                        "booking_rules.calendar.added[1]: must be a date");
    expect_json_refused("{\"added\": [\"2026-01-01\"], \"removed\": [\"2026-01-01\"]}",
                        "booking_rules.calendar.removed[0]: 2026-01-01 is both added and removed");
    expect_json_refused("{\"removed\": [\"2026-01-01\", \"2026-01-01\"]}",
                        "booking_rules.calendar.removed[1]: 2026-01-01 is listed twice");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),          cmocka_unit_test(test_table_follows_the_law),
        cmocka_unit_test(test_known_holidays), cmocka_unit_test(test_loader_refusals),
        cmocka_unit_test(test_loader_fuzz),    cmocka_unit_test(test_service),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
