/*
 * test_svc_rules.c - the booking rules under TZ=Asia/Tokyo: each booking
 * type at its cut-off to the second, one second and one minute after, and
 * across midnight; the earliest day bookings open; days counted on the
 * service calendar (Friday for a Monday, skipping a holiday Monday); as
 * soon as possible where it is and is not allowed; days off for a weekday,
 * a holiday (named), the New Year break, removed and added dates, a year
 * beyond the holiday table; the daily limit by trip status; overlaps
 * refused or warned about, with tolerance; bad arguments; and the JSON
 * form with every combination of fields GTFS forbids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatcher/svc_rules.h"

static cal_holidays *holidays;

static int setup(void **state)
{
    char err[512] = "";

    (void)state;
    if (cal_load_holidays("data/calendar/jp-holidays.csv", &holidays, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cal_holidays_destroy(holidays);
    return 0;
}

/* Unix seconds of local "YYYY-MM-DD HH:MM:SS". */
static int64_t at(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        fail_msg("bad time in the test: %s", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

static int hms(int h, int m)
{
    return h * 3600 + m * 60;
}

static svc_rules_request trip(const char *date, int from_s, int to_s)
{
    svc_rules_request q;

    memset(&q, 0, sizeof(q));
    snprintf(q.date, sizeof(q.date), "%s", date);
    q.from_s = from_s;
    q.to_s = to_s;
    return q;
}

static svc_rules_request asap(const char *date)
{
    svc_rules_request q = trip(date, hms(12, 0), hms(12, 30));

    q.asap = 1;
    return q;
}

/* Checks and expects code (and, when given, the two sentences exactly). */
static svc_rules_verdict expect(const svc_rules *r, const char *now, svc_rules_request q,
                                const svc_rules_trip *trips, int n, svc_rules_code code,
                                const char *ja, const char *en)
{
    svc_rules_verdict v;
    int rc = svc_rules_check(r, at(now), &q, trips, n, &v);

    if (rc != 0)
        fail_msg("%s at %s: error %d (%s)", q.date, now, rc, svc_rules_strerror(rc));
    if (v.code != code)
        fail_msg("%s %d s at %s: %s (%s), expected %s", q.date, q.from_s, now,
                 svc_rules_code_name(v.code), v.msg_en, svc_rules_code_name(code));
    if (code == SVC_RULES_OK) {
        assert_string_equal(v.msg_ja, "");
        assert_string_equal(v.msg_en, "");
    } else {
        assert_true(v.msg_ja[0] != '\0');
        assert_true(v.msg_en[0] != '\0');
    }
    if (ja != NULL)
        assert_string_equal(v.msg_ja, ja);
    if (en != NULL)
        assert_string_equal(v.msg_en, en);
    return v;
}

#define OK(r, now, q) expect((r), (now), (q), NULL, 0, SVC_RULES_OK, NULL, NULL)
#define NO(r, now, q, code) expect((r), (now), (q), NULL, 0, SVC_RULES_##code, NULL, NULL)

/* Weekdays, holidays and the New Year off: a typical town service. */
static void town_calendar(svc_rules *r)
{
    r->calendar.weekdays = CAL_WEEKDAYS;
    r->calendar.holidays_off = 1;
    r->calendar.year_end_off = 1;
    r->calendar.holidays = holidays;
}

static void prior_day(svc_rules *r)
{
    svc_rules_init(r);
    r->booking_type = 2;
    r->prior_notice_last_day = 1;
    r->prior_notice_last_time_s = hms(17, 0);
    r->prior_notice_start_day = 14;
    r->prior_notice_start_time_s = 0;
    town_calendar(r);
}

/* ------------------------------------------------------------------------ */

static void test_prior_day(void **state)
{
    (void)state;
    svc_rules r;
    svc_rules_request wed = trip("2026-01-14", hms(10, 0), hms(10, 30));

    prior_day(&r);
    OK(&r, "2026-01-13 16:59:00", wed);
    OK(&r, "2026-01-13 17:00:00", wed); /* the cut-off itself */
    expect(&r, "2026-01-13 17:00:01", wed, NULL, 0, SVC_RULES_TOO_LATE_PRIOR_DAY,
           "前日17:00までのご予約となります", "Bookings close at 17:00 the day before");
    NO(&r, "2026-01-13 17:01:00", wed, TOO_LATE_PRIOR_DAY);
    NO(&r, "2026-01-13 23:59:59", wed, TOO_LATE_PRIOR_DAY);
    /* Across midnight: the day of travel itself is too late; the next
     * day's trip is still open at 23:59. */
    NO(&r, "2026-01-14 00:00:30", wed, TOO_LATE_PRIOR_DAY);
    OK(&r, "2026-01-13 23:59:00", trip("2026-01-15", hms(8, 0), hms(8, 30)));
    /* An early trip (00:10) closes the day before, like any other. */
    NO(&r, "2026-01-13 17:01:00", trip("2026-01-14", hms(0, 10), hms(0, 40)), TOO_LATE_PRIOR_DAY);

    /* Opening: 14 days before at 00:00. */
    svc_rules_request far = trip("2026-01-28", hms(9, 0), hms(9, 30));
    expect(&r, "2026-01-13 23:59:59", far, NULL, 0, SVC_RULES_TOO_FAR_AHEAD,
           "ご予約は14日前の0:00から承ります", "Bookings open at 0:00, 14 days before the trip");
    OK(&r, "2026-01-14 00:00:00", far);

    /* As soon as possible is not a prior-day booking. */
    NO(&r, "2026-01-14 09:00:00", asap("2026-01-14"), ASAP_NOT_ALLOWED);

    /* Two days before, at 12:00. */
    r.prior_notice_last_day = 2;
    r.prior_notice_last_time_s = hms(12, 0);
    OK(&r, "2026-01-12 12:00:00", wed);
    expect(&r, "2026-01-12 12:01:00", wed, NULL, 0, SVC_RULES_TOO_LATE_PRIOR_DAY,
           "2日前の12:00までのご予約となります", "Bookings close at 12:00, 2 days before");
    /* The same day, by 08:30. */
    r.prior_notice_last_day = 0;
    r.prior_notice_last_time_s = hms(8, 30);
    OK(&r, "2026-01-14 08:30:00", wed);
    expect(&r, "2026-01-14 08:31:00", wed, NULL, 0, SVC_RULES_TOO_LATE_PRIOR_DAY,
           "当日8:30までのご予約となります", "Bookings close at 8:30 on the day of travel");
}

static void test_service_days(void **state)
{
    (void)state;
    svc_rules r;
    svc_rules_request mon = trip("2026-01-19", hms(9, 0), hms(9, 30));
    svc_rules_request tue = trip("2026-01-13", hms(9, 0), hms(9, 30)); /* after 成人の日 */

    prior_day(&r);
    r.prior_notice_service_days = 1;
    r.prior_notice_start_day = 10;      /* ten service days: two weeks here */
    OK(&r, "2026-01-16 17:00:00", mon); /* Friday */
    expect(&r, "2026-01-17 10:00:00", mon, NULL, 0, SVC_RULES_TOO_LATE_PRIOR_DAY,
           "前の運行日の17:00までのご予約となります",
           "Bookings close at 17:00 on the service day before");
    /* Calendar days would have let Sunday's callers book. */
    r.prior_notice_service_days = 0;
    OK(&r, "2026-01-18 17:00:00", mon);
    r.prior_notice_service_days = 1;
    /* The Monday before Tuesday the 13th is a holiday: Friday the 9th. */
    OK(&r, "2026-01-09 17:00:00", tue);
    NO(&r, "2026-01-09 17:00:01", tue, TOO_LATE_PRIOR_DAY);
    NO(&r, "2026-01-12 10:00:00", tue, TOO_LATE_PRIOR_DAY);
    /* Ten service days before Monday 2026-02-02: Monday 2026-01-19. */
    svc_rules_request feb = trip("2026-02-02", hms(9, 0), hms(9, 30));
    expect(&r, "2026-01-18 23:00:00", feb, NULL, 0, SVC_RULES_TOO_FAR_AHEAD,
           "ご予約は10運行日前の0:00から承ります",
           "Bookings open at 0:00, 10 service days before the trip");
    OK(&r, "2026-01-19 00:00:00", feb);
}

static void test_same_day(void **state)
{
    (void)state;
    svc_rules r;
    svc_rules_request ten = trip("2026-03-02", hms(10, 0), hms(10, 20));

    svc_rules_init(&r);
    r.booking_type = 1;
    r.prior_notice_duration_min = 30;
    OK(&r, "2026-03-02 09:00:00", ten);
    OK(&r, "2026-03-02 09:30:00", ten); /* exactly 30 minutes */
    expect(&r, "2026-03-02 09:30:01", ten, NULL, 0, SVC_RULES_TOO_SOON,
           "ご乗車の30分前までにご予約ください", "Please book at least 30 minutes before the trip");
    NO(&r, "2026-03-02 09:31:00", ten, TOO_SOON);
    /* Across midnight: a trip at 00:10 needs the call by 23:40. */
    svc_rules_request early = trip("2026-03-03", hms(0, 10), hms(0, 30));
    OK(&r, "2026-03-02 23:40:00", early);
    NO(&r, "2026-03-02 23:41:00", early, TOO_SOON);
    NO(&r, "2026-03-03 00:05:00", early, TOO_SOON);
    NO(&r, "2026-03-03 00:11:00", early, IN_THE_PAST);
    /* Days ahead are fine without a start day. */
    OK(&r, "2026-03-02 09:00:00", trip("2026-04-30", hms(10, 0), hms(10, 20)));
    /* As soon as possible: today only. */
    OK(&r, "2026-03-02 23:50:00", asap("2026-03-02"));
    expect(&r, "2026-03-02 09:00:00", asap("2026-03-03"), NULL, 0, SVC_RULES_ASAP_NOT_ALLOWED,
           "「今すぐ」のご予約は当日のみです", "'As soon as possible' is for today only");
    NO(&r, "2026-03-03 09:00:00", asap("2026-03-02"), IN_THE_PAST);

    /* At most two hours ahead. */
    r.prior_notice_duration_max = 120;
    OK(&r, "2026-03-02 08:00:00", ten);
    expect(&r, "2026-03-02 07:59:59", ten, NULL, 0, SVC_RULES_TOO_FAR_AHEAD,
           "ご予約はご乗車の120分前から承ります", "Bookings open 120 minutes before the trip");
    OK(&r, "2026-03-02 09:00:00", asap("2026-03-02"));

    /* Or from 7 days before at 08:00. */
    r.prior_notice_duration_max = SVC_RULES_NONE;
    r.prior_notice_start_day = 7;
    r.prior_notice_start_time_s = hms(8, 0);
    svc_rules_request week = trip("2026-03-09", hms(10, 0), hms(10, 20));
    expect(&r, "2026-03-02 07:59:00", week, NULL, 0, SVC_RULES_TOO_FAR_AHEAD,
           "ご予約は7日前の8:00から承ります", "Bookings open at 8:00, 7 days before the trip");
    OK(&r, "2026-03-02 08:00:00", week);
    r.prior_notice_start_day = 1;
    expect(&r, "2026-03-08 07:00:00", week, NULL, 0, SVC_RULES_TOO_FAR_AHEAD,
           "ご予約は前日8:00から承ります", "Bookings open at 8:00, the day before the trip");
    r.prior_notice_start_day = 0;
    expect(&r, "2026-03-09 07:00:00", week, NULL, 0, SVC_RULES_TOO_FAR_AHEAD,
           "ご予約は当日8:00から承ります", "Bookings open at 8:00 on the day of travel");
}

static void test_real_time(void **state)
{
    (void)state;
    svc_rules r;

    svc_rules_init(&r);
    OK(&r, "2026-03-02 09:59:59", trip("2026-03-02", hms(10, 0), hms(10, 20)));
    OK(&r, "2026-03-02 10:00:00", trip("2026-03-02", hms(10, 0), hms(10, 20)));
    expect(&r, "2026-03-02 10:00:01", trip("2026-03-02", hms(10, 0), hms(10, 20)), NULL, 0,
           SVC_RULES_IN_THE_PAST, "過去の日時はご予約できません", "That time has already passed");
    expect(&r, "2026-03-02 23:00:00", trip("2026-03-03", hms(6, 0), hms(6, 20)), NULL, 0,
           SVC_RULES_TOO_FAR_AHEAD, "当日のご予約のみ承ります",
           "Bookings are taken for the same day only");
    OK(&r, "2026-03-02 23:00:00", asap("2026-03-02"));
    NO(&r, "2026-03-02 23:00:00", trip("2026-03-01", hms(23, 0), hms(23, 30)), IN_THE_PAST);
    /* A service day may run past midnight (seconds past 24:00). */
    OK(&r, "2026-03-02 23:50:00", trip("2026-03-02", hms(24, 10), hms(24, 30)));
}

static void test_days_off(void **state)
{
    (void)state;
    svc_rules r;

    prior_day(&r);
    expect(&r, "2026-01-09 10:00:00", trip("2026-01-12", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_NOT_A_SERVICE_DAY, "成人の日のため運休日です",
           "No service on this day (Coming of Age Day)");
    expect(&r, "2026-09-18 10:00:00", trip("2026-09-22", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_NOT_A_SERVICE_DAY, "国民の休日のため運休日です",
           "No service on this day (National Holiday)");
    expect(&r, "2026-01-09 10:00:00", trip("2026-01-17", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_NOT_A_SERVICE_DAY, "土曜日は運休日です",
           "The service does not run on Saturdays");
    expect(&r, "2025-12-24 10:00:00", trip("2025-12-29", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_NOT_A_SERVICE_DAY, "年末年始（12月29日〜1月3日）は運休です", NULL);
    /* Even a day too late hears that the day is off. */
    NO(&r, "2026-01-12 09:00:00", trip("2026-01-12", hms(10, 0), hms(10, 30)), NOT_A_SERVICE_DAY);

    assert_int_equal(cal_service_except(&r.calendar, 0, 0), 0); /* 1970: harmless */
    cal_day d;
    assert_int_equal(cal_parse("2026-01-15", &d), 0);
    assert_int_equal(cal_service_except(&r.calendar, d, 0), 0);
    assert_int_equal(cal_parse("2026-01-17", &d), 0);
    assert_int_equal(cal_service_except(&r.calendar, d, 1), 0);
    expect(&r, "2026-01-09 10:00:00", trip("2026-01-15", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_NOT_A_SERVICE_DAY, "この日は運休日です",
           "The service does not run on this day");
    OK(&r, "2026-01-09 10:00:00", trip("2026-01-17", hms(9, 0), hms(9, 30)));

    r.calendar.start_day = d + 30;
    expect(&r, "2026-01-20 10:00:00", trip("2026-01-22", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_NOT_A_SERVICE_DAY, "運行期間外の日付です",
           "This date is outside the service period");
    r.calendar.start_day = CAL_NO_DAY;

    /* Beyond the holiday table: no guess. */
    expect(&r, "2030-12-27 10:00:00", trip("2031-01-06", hms(9, 0), hms(9, 30)), NULL, 0,
           SVC_RULES_CALENDAR_UNKNOWN, "この日の運行予定はまだ決まっていません",
           "The service calendar for this date is not known yet");
    /* Counting service days across into such a year too. */
    r.prior_notice_service_days = 1;
    r.calendar.holidays_off = 0;
    OK(&r, "2030-12-27 10:00:00", trip("2031-01-06", hms(9, 0), hms(9, 30)));
    r.calendar.holidays_off = 1;
    NO(&r, "2030-12-27 10:00:00", trip("2031-01-06", hms(9, 0), hms(9, 30)), CALENDAR_UNKNOWN);
}

static void test_daily_limit(void **state)
{
    (void)state;
    svc_rules r;
    svc_rules_request q = trip("2026-03-02", hms(15, 0), hms(15, 30));
    svc_rules_trip t[3] = {{hms(8, 0), hms(8, 30), SVC_RULES_TRIP_DONE},
                           {hms(11, 0), hms(11, 30), SVC_RULES_TRIP_CANCELLED},
                           {hms(13, 0), hms(13, 30), SVC_RULES_TRIP_HELD}};

    svc_rules_init(&r);
    r.booking_type = 1;
    r.prior_notice_duration_min = 30;
    r.max_rides_per_day = 3;
    expect(&r, "2026-03-02 09:00:00", q, t, 3, SVC_RULES_OK, NULL, NULL);
    r.max_rides_per_day = 2;
    expect(&r, "2026-03-02 09:00:00", q, t, 3, SVC_RULES_RIDER_DAILY_LIMIT,
           "ご予約は1日2便までです", "A rider may book at most 2 trips a day");
    t[0].status = SVC_RULES_TRIP_NO_SHOW; /* a no-show used its place */
    expect(&r, "2026-03-02 09:00:00", q, t, 3, SVC_RULES_RIDER_DAILY_LIMIT, NULL, NULL);
    t[0].status = SVC_RULES_TRIP_CANCELLED;
    expect(&r, "2026-03-02 09:00:00", q, t, 3, SVC_RULES_OK, NULL, NULL);
    r.max_rides_per_day = 1;
    expect(&r, "2026-03-02 09:00:00", q, t, 3, SVC_RULES_RIDER_DAILY_LIMIT, NULL,
           "A rider may book at most 1 trip a day");
    r.max_rides_per_day = 0; /* no limit */
    expect(&r, "2026-03-02 09:00:00", q, t, 3, SVC_RULES_OK, NULL, NULL);
}

static void test_overlap(void **state)
{
    (void)state;
    svc_rules r;
    svc_rules_trip t[3] = {{hms(7, 0), hms(7, 30), SVC_RULES_TRIP_CANCELLED},
                           {hms(8, 0), hms(8, 40), SVC_RULES_TRIP_NO_SHOW},
                           {hms(9, 0), hms(9, 40), SVC_RULES_TRIP_HELD}};
    const char *now = "2026-03-02 06:00:00";
    svc_rules_verdict v;

    svc_rules_init(&r);
    r.overlap = SVC_RULES_OVERLAP_OFF;
    v = expect(&r, now, trip("2026-03-02", hms(9, 30), hms(10, 0)), t, 3, SVC_RULES_OK, NULL, NULL);
    assert_int_equal(v.n_warnings, 0);
    assert_int_equal(v.overlap_trip, -1);

    r.overlap = SVC_RULES_OVERLAP_REFUSE;
    v = expect(&r, now, trip("2026-03-02", hms(9, 30), hms(10, 0)), t, 3, SVC_RULES_OVERLAP,
               "ご予約済みの便と時間が重なっています",
               "This trip overlaps a trip the rider already holds");
    assert_int_equal(v.overlap_trip, 2);
    /* Touching is not overlapping; a point inside is. */
    expect(&r, now, trip("2026-03-02", hms(9, 40), hms(10, 0)), t, 3, SVC_RULES_OK, NULL, NULL);
    expect(&r, now, trip("2026-03-02", hms(8, 30), hms(9, 0)), t, 3, SVC_RULES_OK, NULL, NULL);
    expect(&r, now, trip("2026-03-02", hms(9, 10), hms(9, 10)), t, 3, SVC_RULES_OVERLAP, NULL,
           NULL);
    expect(&r, now, trip("2026-03-02", hms(8, 30), hms(10, 30)), t, 3, SVC_RULES_OVERLAP, NULL,
           NULL);
    /* Cancelled trips and no-shows do not hold the rider. */
    expect(&r, now, trip("2026-03-02", hms(7, 10), hms(8, 20)), t, 3, SVC_RULES_OK, NULL, NULL);

    /* Tolerance: ten minutes of overlap pass, eleven do not. */
    r.overlap_tolerance_s = 600;
    expect(&r, now, trip("2026-03-02", hms(9, 30), hms(10, 0)), t, 3, SVC_RULES_OK, NULL, NULL);
    expect(&r, now, trip("2026-03-02", hms(9, 29), hms(10, 0)), t, 3, SVC_RULES_OVERLAP, NULL,
           NULL);
    expect(&r, now, trip("2026-03-02", hms(8, 30), hms(9, 10)), t, 3, SVC_RULES_OK, NULL, NULL);
    expect(&r, now, trip("2026-03-02", hms(8, 30), hms(9, 11)), t, 3, SVC_RULES_OVERLAP, NULL,
           NULL);

    /* Warn: accepted, with the warning and the trip it overlaps. */
    r.overlap = SVC_RULES_OVERLAP_WARN;
    v = expect(&r, now, trip("2026-03-02", hms(9, 0), hms(9, 40)), t, 3, SVC_RULES_OK, NULL, NULL);
    assert_int_equal(v.n_warnings, 1);
    assert_int_equal(v.warnings[0], SVC_RULES_OVERLAP);
    assert_string_equal(svc_rules_code_name(v.warnings[0]), "overlap");
    assert_int_equal(v.overlap_trip, 2);
    v = expect(&r, now, trip("2026-03-02", hms(12, 0), hms(12, 40)), t, 3, SVC_RULES_OK, NULL,
               NULL);
    assert_int_equal(v.n_warnings, 0);

    /* The limit is judged before overlaps. */
    r.overlap = SVC_RULES_OVERLAP_REFUSE;
    r.max_rides_per_day = 2;
    expect(&r, now, trip("2026-03-02", hms(9, 0), hms(9, 40)), t, 3, SVC_RULES_RIDER_DAILY_LIMIT,
           NULL, NULL);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    svc_rules r;
    svc_rules_verdict v;
    svc_rules_request q = trip("2026-03-02", hms(10, 0), hms(10, 30));
    int64_t now = at("2026-03-02 09:00:00");

    svc_rules_init(&r);
    assert_int_equal(svc_rules_check(&r, now, &q, NULL, 0, &v), 0);
    svc_rules_request bad = trip("2026-02-30", hms(10, 0), hms(10, 30));
    assert_int_equal(svc_rules_check(&r, now, &bad, NULL, 0, &v), SVC_RULES_EINVAL);
    assert_int_equal(v.code, SVC_RULES_OK);
    assert_string_equal(v.msg_en, "");
    bad = trip("2026-03-02", hms(10, 0), hms(9, 0));
    assert_int_equal(svc_rules_check(&r, now, &bad, NULL, 0, &v), SVC_RULES_EINVAL);
    bad = trip("2026-03-02", -1, hms(9, 0));
    assert_int_equal(svc_rules_check(&r, now, &bad, NULL, 0, &v), SVC_RULES_EINVAL);
    assert_int_equal(svc_rules_check(&r, now, &q, NULL, 2, &v), SVC_RULES_EINVAL);
    assert_int_equal(svc_rules_check(NULL, now, &q, NULL, 0, &v), SVC_RULES_EINVAL);
    assert_int_equal(svc_rules_check(&r, now, NULL, NULL, 0, &v), SVC_RULES_EINVAL);
    assert_int_equal(svc_rules_check(&r, now, &q, NULL, 0, NULL), SVC_RULES_EINVAL);
    r.calendar.holidays_off = 1; /* and no table */
    assert_int_equal(svc_rules_check(&r, now, &q, NULL, 0, &v), SVC_RULES_ECALENDAR);
    assert_string_equal(svc_rules_strerror(SVC_RULES_ECALENDAR),
                        "the calendar has holidays off but no holiday table");

    /* The stable codes, as published. */
    static const char *const names[] = {"ok",
                                        "in_the_past",
                                        "not_a_service_day",
                                        "calendar_unknown",
                                        "asap_not_allowed",
                                        "too_soon",
                                        "too_late_prior_day",
                                        "too_far_ahead",
                                        "rider_daily_limit",
                                        "overlap"};
    assert_int_equal(SVC_RULES_N_CODES, sizeof(names) / sizeof(names[0]));
    for (int i = 0; i < SVC_RULES_N_CODES; i++)
        assert_string_equal(svc_rules_code_name((svc_rules_code)i), names[i]);
    assert_string_equal(svc_rules_code_name(SVC_RULES_N_CODES), "unknown");
}

/* ------------------------------------------------------------------------ */
/* JSON */

static int parse(const char *text, svc_rules *out, char *err, size_t err_len)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);

    if (j == NULL)
        fail_msg("bad JSON in the test: %s: %s", text, je.text);
    int rc = svc_rules_from_json(j, "booking_rules", out, err, err_len);
    json_decref(j);
    return rc;
}

static void expect_refused(const char *text, const char *frag)
{
    svc_rules r;
    char err[512] = "";

    r.booking_type = 77;
    if (parse(text, &r, err, sizeof(err)) != SVC_RULES_EINVAL)
        fail_msg("accepted %s", text);
    assert_int_equal(r.booking_type, 77); /* untouched */
    if (strstr(err, frag) == NULL)
        fail_msg("for %s\nmessage \"%s\" lacks \"%s\"", text, err, frag);
}

static void test_json(void **state)
{
    (void)state;
    svc_rules r;
    char err[512] = "";

    if (parse("{\"booking_type\": 2, \"prior_notice_last_day\": 1,"
              " \"prior_notice_last_time\": \"17:00\", \"prior_notice_start_day\": 14,"
              " \"prior_notice_start_time\": \"09:30:15\", \"prior_notice_service_days\": true,"
              " \"max_rides_per_day\": 4, \"overlap\": \"warn\", \"overlap_tolerance_min\": 5,"
              " \"calendar\": {\"days\": [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"],"
              " \"holidays_off\": true}, \"comment\": \"前日17時まで\"}",
              &r, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(r.booking_type, 2);
    assert_int_equal(r.prior_notice_last_day, 1);
    assert_int_equal(r.prior_notice_last_time_s, hms(17, 0));
    assert_int_equal(r.prior_notice_start_day, 14);
    assert_int_equal(r.prior_notice_start_time_s, hms(9, 30) + 15);
    assert_true(r.prior_notice_service_days);
    assert_int_equal(r.max_rides_per_day, 4);
    assert_int_equal(r.overlap, SVC_RULES_OVERLAP_WARN);
    assert_int_equal(r.overlap_tolerance_s, 300);
    assert_int_equal(r.calendar.weekdays, CAL_WEEKDAYS);
    assert_true(r.calendar.holidays_off);
    assert_null(r.calendar.holidays);
    assert_int_equal(r.prior_notice_duration_max, SVC_RULES_NONE);

    assert_int_equal(parse("{\"booking_type\": 1, \"prior_notice_duration_min\": 30,"
                           " \"prior_notice_duration_max\": 10080}",
                           &r, err, sizeof(err)),
                     0);
    assert_int_equal(r.prior_notice_duration_min, 30);
    assert_int_equal(r.prior_notice_duration_max, 10080);
    assert_int_equal(r.calendar.weekdays, CAL_EVERY_DAY);
    assert_int_equal(parse("{\"booking_type\": 0}", &r, err, sizeof(err)), 0);
    assert_int_equal(r.overlap, SVC_RULES_OVERLAP_OFF);

    expect_refused("[]", "booking_rules");
    expect_refused("{}", "booking_rules.booking_type: missing");
    expect_refused("{\"booking_type\": 3}", "booking_rules.booking_type");
    expect_refused("{\"booking_type\": 2.0, \"prior_notice_last_day\": 1,"
                   " \"prior_notice_last_time\": \"17:00\"}",
                   "booking_rules.booking_type");
    expect_refused("{\"booking_type\": \"2\"}", "booking_rules.booking_type");
    expect_refused("{\"booking_type\": 0, \"prior_notice_min\": 30}",
                   "booking_rules: unknown field \"prior_notice_min\"");
    expect_refused("{\"booking_type\": 1}", "booking_rules.prior_notice_duration_min: missing");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": -5}",
                   "booking_rules.prior_notice_duration_min");
    expect_refused("{\"booking_type\": 2, \"prior_notice_duration_min\": 30,"
                   " \"prior_notice_last_day\": 1, \"prior_notice_last_time\": \"17:00\"}",
                   "booking_rules.prior_notice_duration_min: only for booking_type 1");
    expect_refused("{\"booking_type\": 0, \"prior_notice_duration_max\": 30}",
                   "booking_rules.prior_notice_duration_max: only for booking_type 1");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": 60,"
                   " \"prior_notice_duration_max\": 30}",
                   "booking_rules.prior_notice_duration_max: is less than");
    expect_refused("{\"booking_type\": 2}", "booking_rules.prior_notice_last_day: missing");
    expect_refused("{\"booking_type\": 2, \"prior_notice_last_day\": 1}",
                   "booking_rules.prior_notice_last_time: missing");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": 30,"
                   " \"prior_notice_last_day\": 1, \"prior_notice_last_time\": \"17:00\"}",
                   "booking_rules.prior_notice_last_day: only for booking_type 2");
    expect_refused("{\"booking_type\": 0, \"prior_notice_last_time\": \"17:00\"}",
                   "booking_rules.prior_notice_last_time: only with prior_notice_last_day");
    static const char *const bad_times[] = {"24:00",    "7:00",   "17:60", "17-00",
                                            "17:00:60", "17:00:", "1700",  "17:0a"};
    for (size_t i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
        char text[256];

        snprintf(text, sizeof(text),
                 "{\"booking_type\": 2, \"prior_notice_last_day\": 1,"
                 " \"prior_notice_last_time\": \"%s\"}",
                 bad_times[i]);
        expect_refused(text, "booking_rules.prior_notice_last_time");
    }
    expect_refused("{\"booking_type\": 2, \"prior_notice_last_day\": 1,"
                   " \"prior_notice_last_time\": \"25:00\"}",
                   "must be a time of day written HH:MM or HH:MM:SS");
    expect_refused("{\"booking_type\": 0, \"prior_notice_start_day\": 7,"
                   " \"prior_notice_start_time\": \"00:00\"}",
                   "booking_rules.prior_notice_start_day: not for booking_type 0");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": 30,"
                   " \"prior_notice_duration_max\": 600, \"prior_notice_start_day\": 7,"
                   " \"prior_notice_start_time\": \"00:00\"}",
                   "not together with prior_notice_duration_max");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": 30,"
                   " \"prior_notice_start_day\": 7}",
                   "booking_rules.prior_notice_start_time: missing");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": 30,"
                   " \"prior_notice_start_time\": \"08:00\"}",
                   "booking_rules.prior_notice_start_time: only with prior_notice_start_day");
    expect_refused("{\"booking_type\": 1, \"prior_notice_duration_min\": 30,"
                   " \"prior_notice_service_days\": true}",
                   "booking_rules.prior_notice_service_days: only for booking_type 2");
    expect_refused("{\"booking_type\": 2, \"prior_notice_last_day\": 2,"
                   " \"prior_notice_last_time\": \"17:00\", \"prior_notice_start_day\": 1,"
                   " \"prior_notice_start_time\": \"00:00\"}",
                   "bookings would open after they close");
    expect_refused("{\"booking_type\": 2, \"prior_notice_last_day\": 1,"
                   " \"prior_notice_last_time\": \"17:00\", \"prior_notice_start_day\": 1,"
                   " \"prior_notice_start_time\": \"17:00\"}",
                   "bookings would open after they close");
    expect_refused("{\"booking_type\": 0, \"overlap\": \"maybe\"}",
                   "booking_rules.overlap: must be \"off\", \"warn\" or \"refuse\"");
    expect_refused("{\"booking_type\": 0, \"overlap\": true}", "booking_rules.overlap");
    expect_refused("{\"booking_type\": 0, \"max_rides_per_day\": 101}",
                   "booking_rules.max_rides_per_day");
    expect_refused("{\"booking_type\": 0, \"overlap_tolerance_min\": -1}",
                   "booking_rules.overlap_tolerance_min");
    expect_refused("{\"booking_type\": 0, \"calendar\": {\"holidays\": true}}",
                   "booking_rules.calendar: unknown field \"holidays\"");
    expect_refused("{\"booking_type\": 0, \"calendar\": {\"days\": [\"mon\", \"mon\"]}}",
                   "booking_rules.calendar.days[1]: \"mon\" is named twice");
}

int main(void)
{
    /* The rules speak in the area's local time; the tests' instants are
     * Tokyo's, whatever the machine says. */
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prior_day), cmocka_unit_test(test_service_days),
        cmocka_unit_test(test_same_day),  cmocka_unit_test(test_real_time),
        cmocka_unit_test(test_days_off),  cmocka_unit_test(test_daily_limit),
        cmocka_unit_test(test_overlap),   cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
