/*
 * svc_rules.c - the booking rules of a service, read from JSON and applied
 * to one request.
 *
 * A request is judged by instants, not by clock readings: the trip starts
 * at local midnight of its date plus from_s (as the rest of the service
 * layer counts a day's seconds), and each cut-off is local midnight of the
 * day it names plus its time of day.  "N days before" is N calendar days
 * back from the trip's date, or with prior_notice_service_days the N-th
 * day before it on which the service runs (a Monday trip "one service day
 * before" closes on Friday).  Midnights come from mktime in the process's
 * zone, so a zone with summer time still gets the right instants; Japan
 * has none, and the tests run under Asia/Tokyo.
 *
 * The checks run from the most basic to the most particular, and the first
 * refusal wins, so a rider hears the reason that matters: a past time
 * before a closed day, a closed day before a missed cut-off, a cut-off
 * before the rider's own limit and overlaps.  An overlap under the "warn"
 * rule does not refuse; it adds a warning code and the request goes on.
 *
 * Two trips overlap when each starts more than the tolerance before the
 * other ends (a.from + tol < b.to and b.from + tol < a.to): trips that only
 * touch, or whose estimates run into each other by a few minutes, do not,
 * while a short trip inside a long one does.
 *
 * Cost: O(n_trips) plus, with service-day counting, one calendar question
 * per day walked back (bounded by SEARCH_DAYS).  No allocation.
 */
#include "dispatcher/svc_rules.h"
#include "data/json/jsonin.h"
#include "solver/errf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* How far service-day counting walks back before giving up. */
#define SEARCH_DAYS 800

static const char *const err_msgs[] = {
#define SVC_RULES_ERR_MSG(name, code, msg) [-(code)] = msg,
    SVC_RULES_ERRNO_MAP(SVC_RULES_ERR_MSG)
#undef SVC_RULES_ERR_MSG
};

const char *svc_rules_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && (size_t)-err < sizeof(err_msgs) / sizeof(err_msgs[0]) && err_msgs[-err])
        return err_msgs[-err];
    return "unknown booking rules error";
}

static const char *const code_names[] = {
#define SVC_RULES_CODE_STR(name, str) str,
    SVC_RULES_CODE_MAP(SVC_RULES_CODE_STR)
#undef SVC_RULES_CODE_STR
};

const char *svc_rules_code_name(svc_rules_code code)
{
    if ((int)code < 0 || code >= SVC_RULES_N_CODES)
        return "unknown";
    return code_names[code];
}

void svc_rules_init(svc_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->booking_type = 0;
    r->prior_notice_duration_max = SVC_RULES_NONE;
    r->prior_notice_last_day = SVC_RULES_NONE;
    r->prior_notice_last_time_s = SVC_RULES_NONE;
    r->prior_notice_start_day = SVC_RULES_NONE;
    r->prior_notice_start_time_s = SVC_RULES_NONE;
    r->overlap = SVC_RULES_OVERLAP_OFF;
    cal_service_init(&r->calendar);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

/* "HH:MM" or "HH:MM:SS" within a day, into seconds; -1 if malformed. */
static int parse_hms(const char *s)
{
    int v[3] = {0, 0, 0};
    size_t n = strlen(s);

    if (n != 5 && n != 8)
        return -1;
    for (int f = 0; f < (n == 5 ? 2 : 3); f++) {
        const char *p = s + 3 * f;

        if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
            (f < (n == 5 ? 1 : 2) && p[2] != ':'))
            return -1;
        v[f] = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (v[0] > 23 || v[1] > 59 || v[2] > 59)
        return -1;
    return v[0] * 3600 + v[1] * 60 + v[2];
}

static int opt_time(const json_t *obj, const char *key, const char *where, int *out, char *err,
                    size_t err_len)
{
    const char *s = NULL;
    char path[256];
    int rc = jin_opt_str(obj, key, where, 5, 8, 0, &s, err, err_len);
    int t;

    if (rc <= 0)
        return rc;
    if ((t = parse_hms(s)) < 0) {
        jin_path(path, sizeof(path), where, key);
        return slv_errf(err, err_len, SVC_RULES_EINVAL,
                        "%s: must be a time of day written HH:MM or HH:MM:SS (00:00 .. "
                        "23:59:59), found \"%s\"",
                        path, s);
    }
    *out = t;
    return 1;
}

/* A field given where GTFS forbids it, or missing where it requires it. */
static int field_rule(const char *where, const char *key, const char *why, char *err,
                      size_t err_len)
{
    char path[256];

    jin_path(path, sizeof(path), where, key);
    return slv_errf(err, err_len, SVC_RULES_EINVAL, "%s: %s", path, why);
}

int svc_rules_from_json(const json_t *obj, const char *where, svc_rules *out, char *err,
                        size_t err_len)
{
    static const char *const keys[] = {"booking_type",
                                       "prior_notice_duration_min",
                                       "prior_notice_duration_max",
                                       "prior_notice_last_day",
                                       "prior_notice_last_time",
                                       "prior_notice_start_day",
                                       "prior_notice_start_time",
                                       "prior_notice_service_days",
                                       "max_rides_per_day",
                                       "overlap",
                                       "overlap_tolerance_min",
                                       "calendar",
                                       NULL};
    svc_rules r;
    const json_t *v;
    const char *s;
    char path[256];
    int has_min, has_max, has_last_day, has_last_time, has_start_day, has_start_time, has_sd;
    int tol_min = 0;

    if (out == NULL)
        return slv_errf(err, err_len, SVC_RULES_EINVAL, "svc_rules_from_json: invalid argument");
    if (jin_object(obj, where, keys, JIN_COMMENT, err, err_len) < 0)
        return SVC_RULES_EINVAL;
    svc_rules_init(&r);
    jin_path(path, sizeof(path), where, "booking_type");
    if ((v = json_object_get(obj, "booking_type")) == NULL)
        return slv_errf(err, err_len, SVC_RULES_EINVAL,
                        "%s: missing (0 real-time, 1 same-day with notice, 2 prior-day)", path);
    long long bt;
    if (jin_int(v, path, 0, 2, JIN_STRICT_INT, &bt, err, err_len) < 0)
        return SVC_RULES_EINVAL;
    r.booking_type = (int)bt;

    if ((has_min = jin_opt_int(obj, "prior_notice_duration_min", where, 0, 10080,
                               &r.prior_notice_duration_min, err, err_len)) < 0 ||
        (has_max = jin_opt_int(obj, "prior_notice_duration_max", where, 1, 525600,
                               &r.prior_notice_duration_max, err, err_len)) < 0 ||
        (has_last_day = jin_opt_int(obj, "prior_notice_last_day", where, 0, 365,
                                    &r.prior_notice_last_day, err, err_len)) < 0 ||
        (has_last_time = opt_time(obj, "prior_notice_last_time", where, &r.prior_notice_last_time_s,
                                  err, err_len)) < 0 ||
        (has_start_day = jin_opt_int(obj, "prior_notice_start_day", where, 0, 365,
                                     &r.prior_notice_start_day, err, err_len)) < 0 ||
        (has_start_time = opt_time(obj, "prior_notice_start_time", where,
                                   &r.prior_notice_start_time_s, err, err_len)) < 0 ||
        (has_sd = jin_opt_bool(obj, "prior_notice_service_days", where,
                               &r.prior_notice_service_days, err, err_len)) < 0 ||
        jin_opt_int(obj, "max_rides_per_day", where, 0, 100, &r.max_rides_per_day, err, err_len) <
            0 ||
        jin_opt_int(obj, "overlap_tolerance_min", where, 0, 240, &tol_min, err, err_len) < 0)
        return SVC_RULES_EINVAL;
    r.overlap_tolerance_s = tol_min * 60;

    /* Which fields each booking type takes, as GTFS has it. */
    if (r.booking_type == 1 && !has_min)
        return field_rule(where, "prior_notice_duration_min",
                          "missing (booking_type 1 needs the minimum notice in minutes)", err,
                          err_len);
    if (r.booking_type != 1 && has_min)
        return field_rule(where, "prior_notice_duration_min", "only for booking_type 1", err,
                          err_len);
    if (r.booking_type != 1 && has_max)
        return field_rule(where, "prior_notice_duration_max", "only for booking_type 1", err,
                          err_len);
    if (has_max && r.prior_notice_duration_max < r.prior_notice_duration_min)
        return field_rule(where, "prior_notice_duration_max",
                          "is less than prior_notice_duration_min", err, err_len);
    if (r.booking_type == 2 && !has_last_day)
        return field_rule(where, "prior_notice_last_day",
                          "missing (booking_type 2 needs the last day before travel)", err,
                          err_len);
    if (r.booking_type != 2 && has_last_day)
        return field_rule(where, "prior_notice_last_day", "only for booking_type 2", err, err_len);
    if (has_last_day && !has_last_time)
        return field_rule(where, "prior_notice_last_time",
                          "missing (the time on the last day, e.g. \"17:00\")", err, err_len);
    if (!has_last_day && has_last_time)
        return field_rule(where, "prior_notice_last_time", "only with prior_notice_last_day", err,
                          err_len);
    if (has_start_day && r.booking_type == 0)
        return field_rule(where, "prior_notice_start_day",
                          "not for booking_type 0 (real-time bookings are for today)", err,
                          err_len);
    if (has_start_day && has_max)
        return field_rule(where, "prior_notice_start_day",
                          "not together with prior_notice_duration_max", err, err_len);
    if (has_start_day && !has_start_time)
        return field_rule(where, "prior_notice_start_time",
                          "missing (the time bookings open on the start day, e.g. \"00:00\")", err,
                          err_len);
    if (!has_start_day && has_start_time)
        return field_rule(where, "prior_notice_start_time", "only with prior_notice_start_day", err,
                          err_len);
    if (has_sd && r.booking_type != 2)
        return field_rule(where, "prior_notice_service_days", "only for booking_type 2", err,
                          err_len);
    if (has_start_day && has_last_day &&
        (r.prior_notice_start_day < r.prior_notice_last_day ||
         (r.prior_notice_start_day == r.prior_notice_last_day &&
          r.prior_notice_start_time_s >= r.prior_notice_last_time_s)))
        return field_rule(where, "prior_notice_start_day",
                          "bookings would open after they close (start must come before "
                          "prior_notice_last_day and prior_notice_last_time)",
                          err, err_len);

    switch (jin_opt_str(obj, "overlap", where, 1, 16, 0, &s, err, err_len)) {
    case 0:
        break;
    case 1:
        if (strcmp(s, "off") == 0)
            r.overlap = SVC_RULES_OVERLAP_OFF;
        else if (strcmp(s, "warn") == 0)
            r.overlap = SVC_RULES_OVERLAP_WARN;
        else if (strcmp(s, "refuse") == 0)
            r.overlap = SVC_RULES_OVERLAP_REFUSE;
        else
            return field_rule(where, "overlap", "must be \"off\", \"warn\" or \"refuse\"", err,
                              err_len);
        break;
    default:
        return SVC_RULES_EINVAL;
    }
    if ((v = json_object_get(obj, "calendar")) != NULL) {
        jin_path(path, sizeof(path), where, "calendar");
        if (cal_service_from_json(v, path, &r.calendar, err, err_len) < 0)
            return SVC_RULES_EINVAL;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Local time                                                               */

/* Unix seconds of local midnight starting day, or -1. */
static int64_t local_midnight(cal_day day)
{
    struct tm tm;
    int y, m, d;

    cal_to_ymd(day, &y, &m, &d);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

/* The local date of now_s, or -1. */
static int local_today(int64_t now_s, cal_day *out)
{
    time_t t = (time_t)now_s;
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL)
        return -1;
    return cal_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, out) == 0 ? 0 : -1;
}

/* The day n days before day: calendar days, or with service_days the n-th
 * earlier day on which c runs.  0, or CAL_ERANGE when the calendar cannot
 * tell (or no such day within SEARCH_DAYS). */
static int days_before(const cal_service *c, int service_days, cal_day day, int n, cal_day *out)
{
    if (!service_days || n == 0) {
        *out = day - n;
        return 0;
    }
    for (int back = 1, found = 0; back <= SEARCH_DAYS; back++) {
        int rc = cal_service_runs(c, day - back, NULL, NULL);

        if (rc < 0)
            return rc;
        if (rc == 1 && ++found == n) {
            *out = day - back;
            return 0;
        }
    }
    return CAL_ERANGE;
}

/* ------------------------------------------------------------------------ */
/* The verdict                                                              */

static int refuse(svc_rules_verdict *v, svc_rules_code code, const char *ja, const char *en)
{
    v->code = code;
    snprintf(v->msg_ja, sizeof(v->msg_ja), "%s", ja);
    snprintf(v->msg_en, sizeof(v->msg_en), "%s", en);
    return 0;
}

static void hm(int t_s, char *buf, size_t len)
{
    if (t_s % 60 != 0)
        snprintf(buf, len, "%d:%02d:%02d", t_s / 3600, t_s / 60 % 60, t_s % 60);
    else
        snprintf(buf, len, "%d:%02d", t_s / 3600, t_s / 60 % 60);
}

/* "前日" / "the day before" and the like, for n days counted as the rules
 * count them. */
static void days_phrase(int n, int service_days, char *ja, size_t ja_len, char *en, size_t en_len)
{
    if (n == 0) {
        snprintf(ja, ja_len, "当日");
        snprintf(en, en_len, "on the day of travel");
    } else if (n == 1 && service_days) {
        snprintf(ja, ja_len, "前の運行日の");
        snprintf(en, en_len, "on the service day before");
    } else if (n == 1) {
        snprintf(ja, ja_len, "前日");
        snprintf(en, en_len, "the day before");
    } else if (service_days) {
        snprintf(ja, ja_len, "%d運行日前の", n);
        snprintf(en, en_len, "%d service days before", n);
    } else {
        snprintf(ja, ja_len, "%d日前の", n);
        snprintf(en, en_len, "%d days before", n);
    }
}

static int refuse_not_running(svc_rules_verdict *v, cal_day day, cal_why why,
                              const cal_holiday *hol)
{
    static const char *const wd_ja[7] = {"日", "月", "火", "水", "木", "金", "土"};
    static const char *const wd_en[7] = {"Sundays",   "Mondays", "Tuesdays", "Wednesdays",
                                         "Thursdays", "Fridays", "Saturdays"};
    char ja[SVC_RULES_MSG_MAX], en[SVC_RULES_MSG_MAX];

    switch (why) {
    case CAL_WHY_HOLIDAY:
        snprintf(ja, sizeof(ja), "%sのため運休日です", hol != NULL ? hol->name_ja : "祝日");
        snprintf(en, sizeof(en), "No service on this day (%s)",
                 hol != NULL ? hol->name_en : "a public holiday");
        break;
    case CAL_WHY_WEEKDAY:
        snprintf(ja, sizeof(ja), "%s曜日は運休日です", wd_ja[cal_weekday(day)]);
        snprintf(en, sizeof(en), "The service does not run on %s", wd_en[cal_weekday(day)]);
        break;
    case CAL_WHY_YEAR_END:
        snprintf(ja, sizeof(ja), "年末年始（12月29日〜1月3日）は運休です");
        snprintf(en, sizeof(en),
                 "No service over the New Year holidays (29 December to 3 January)");
        break;
    case CAL_WHY_PERIOD:
        snprintf(ja, sizeof(ja), "運行期間外の日付です");
        snprintf(en, sizeof(en), "This date is outside the service period");
        break;
    default:
        snprintf(ja, sizeof(ja), "この日は運休日です");
        snprintf(en, sizeof(en), "The service does not run on this day");
        break;
    }
    return refuse(v, SVC_RULES_NOT_A_SERVICE_DAY, ja, en);
}

static int refuse_unknown_calendar(svc_rules_verdict *v)
{
    return refuse(v, SVC_RULES_CALENDAR_UNKNOWN, "この日の運行予定はまだ決まっていません",
                  "The service calendar for this date is not known yet");
}

/* Refuses when now_s is before the start day and time (too_far_ahead);
 * returns 1 if it refused, 0 if not, <0 on error. */
static int check_start(const svc_rules *r, int64_t now_s, cal_day day, svc_rules_verdict *v)
{
    char ja[SVC_RULES_MSG_MAX], en[SVC_RULES_MSG_MAX], dja[48], den[48], t[16];
    cal_day open_day;
    int64_t mid;
    int rc;

    if (r->prior_notice_start_day == SVC_RULES_NONE)
        return 0;
    rc = days_before(&r->calendar, r->prior_notice_service_days, day, r->prior_notice_start_day,
                     &open_day);
    if (rc < 0) {
        refuse_unknown_calendar(v);
        return 1;
    }
    if ((mid = local_midnight(open_day)) < 0)
        return SVC_RULES_ETIME;
    if (now_s >= mid + r->prior_notice_start_time_s)
        return 0;
    days_phrase(r->prior_notice_start_day, r->prior_notice_service_days, dja, sizeof(dja), den,
                sizeof(den));
    hm(r->prior_notice_start_time_s, t, sizeof(t));
    snprintf(ja, sizeof(ja), "ご予約は%s%sから承ります", dja, t);
    if (r->prior_notice_start_day == 0)
        snprintf(en, sizeof(en), "Bookings open at %s on the day of travel", t);
    else
        snprintf(en, sizeof(en), "Bookings open at %s, %s the trip", t, den);
    refuse(v, SVC_RULES_TOO_FAR_AHEAD, ja, en);
    return 1;
}

static int overlaps(const svc_rules_request *q, const svc_rules_trip *t, int tol_s)
{
    return q->from_s + tol_s < t->to_s && t->from_s + tol_s < q->to_s;
}

int svc_rules_check(const svc_rules *r, int64_t now_s, const svc_rules_request *req,
                    const svc_rules_trip *trips, int n_trips, svc_rules_verdict *out)
{
    char ja[SVC_RULES_MSG_MAX], en[SVC_RULES_MSG_MAX], dja[48], den[48], t[16];
    cal_day day, today;
    cal_why why;
    const cal_holiday *hol;
    int64_t mid, start_s;
    int rc;

    if (out == NULL)
        return SVC_RULES_EINVAL;
    memset(out, 0, sizeof(*out));
    out->code = SVC_RULES_OK;
    out->overlap_trip = -1;
    if (r == NULL || req == NULL || (trips == NULL && n_trips > 0) || n_trips < 0 ||
        cal_parse(req->date, &day) != 0 || req->from_s < 0 || req->to_s < req->from_s ||
        req->to_s > 4 * 86400 || r->booking_type < 0 || r->booking_type > 2)
        return SVC_RULES_EINVAL;
    if (r->calendar.holidays_off && r->calendar.holidays == NULL)
        return SVC_RULES_ECALENDAR;
    if (local_today(now_s, &today) < 0 || (mid = local_midnight(day)) < 0)
        return SVC_RULES_ETIME;
    start_s = mid + req->from_s;

    /* 1. The past. */
    if (day < today || (!req->asap && start_s < now_s))
        return refuse(out, SVC_RULES_IN_THE_PAST, "過去の日時はご予約できません",
                      "That time has already passed");

    /* 2. The calendar. */
    rc = cal_service_runs(&r->calendar, day, &why, &hol);
    if (rc == CAL_ERANGE)
        return refuse_unknown_calendar(out);
    if (rc < 0)
        return SVC_RULES_EINVAL;
    if (rc == 0)
        return refuse_not_running(out, day, why, hol);

    /* 3. As soon as possible: only where bookings run up to the moment. */
    if (req->asap && r->booking_type == 2)
        return refuse(out, SVC_RULES_ASAP_NOT_ALLOWED,
                      "「今すぐ」のご予約は承っておりません。日時をご指定ください",
                      "This service needs a date and time; it does not take 'as soon as "
                      "possible' requests");
    if (req->asap && day != today)
        return refuse(out, SVC_RULES_ASAP_NOT_ALLOWED, "「今すぐ」のご予約は当日のみです",
                      "'As soon as possible' is for today only");

    /* 4. The notice. */
    switch (r->booking_type) {
    case 0:
        if (day != today)
            return refuse(out, SVC_RULES_TOO_FAR_AHEAD, "当日のご予約のみ承ります",
                          "Bookings are taken for the same day only");
        break;
    case 1:
        if (!req->asap && start_s - now_s < (int64_t)r->prior_notice_duration_min * 60) {
            snprintf(ja, sizeof(ja), "ご乗車の%d分前までにご予約ください",
                     r->prior_notice_duration_min);
            snprintf(en, sizeof(en), "Please book at least %d minutes before the trip",
                     r->prior_notice_duration_min);
            return refuse(out, SVC_RULES_TOO_SOON, ja, en);
        }
        if (!req->asap && r->prior_notice_duration_max != SVC_RULES_NONE &&
            start_s - now_s > (int64_t)r->prior_notice_duration_max * 60) {
            snprintf(ja, sizeof(ja), "ご予約はご乗車の%d分前から承ります",
                     r->prior_notice_duration_max);
            snprintf(en, sizeof(en), "Bookings open %d minutes before the trip",
                     r->prior_notice_duration_max);
            return refuse(out, SVC_RULES_TOO_FAR_AHEAD, ja, en);
        }
        break;
    default: {
        cal_day last_day;
        int64_t last_mid;

        rc = days_before(&r->calendar, r->prior_notice_service_days, day, r->prior_notice_last_day,
                         &last_day);
        if (rc < 0)
            return refuse_unknown_calendar(out);
        if ((last_mid = local_midnight(last_day)) < 0)
            return SVC_RULES_ETIME;
        if (now_s > last_mid + r->prior_notice_last_time_s) {
            days_phrase(r->prior_notice_last_day, r->prior_notice_service_days, dja, sizeof(dja),
                        den, sizeof(den));
            hm(r->prior_notice_last_time_s, t, sizeof(t));
            snprintf(ja, sizeof(ja), "%s%sまでのご予約となります", dja, t);
            snprintf(en, sizeof(en), "Bookings close at %s%s%s", t,
                     r->prior_notice_last_day >= 2 ? ", " : " ", den);
            return refuse(out, SVC_RULES_TOO_LATE_PRIOR_DAY, ja, en);
        }
        break;
    }
    }
    if ((rc = check_start(r, now_s, day, out)) != 0)
        return rc < 0 ? rc : 0;

    /* 5. The rider's day: the limit, then overlaps. */
    if (r->max_rides_per_day > 0) {
        int held = 0;

        for (int i = 0; i < n_trips; i++)
            held += trips[i].status != SVC_RULES_TRIP_CANCELLED;
        if (held >= r->max_rides_per_day) {
            snprintf(ja, sizeof(ja), "ご予約は1日%d便までです", r->max_rides_per_day);
            snprintf(en, sizeof(en), "A rider may book at most %d trip%s a day",
                     r->max_rides_per_day, r->max_rides_per_day == 1 ? "" : "s");
            return refuse(out, SVC_RULES_RIDER_DAILY_LIMIT, ja, en);
        }
    }
    if (r->overlap != SVC_RULES_OVERLAP_OFF) {
        for (int i = 0; i < n_trips; i++) {
            if ((trips[i].status == SVC_RULES_TRIP_HELD ||
                 trips[i].status == SVC_RULES_TRIP_DONE) &&
                overlaps(req, &trips[i], r->overlap_tolerance_s)) {
                out->overlap_trip = i;
                break;
            }
        }
        if (out->overlap_trip >= 0 && r->overlap == SVC_RULES_OVERLAP_REFUSE)
            return refuse(out, SVC_RULES_OVERLAP, "ご予約済みの便と時間が重なっています",
                          "This trip overlaps a trip the rider already holds");
        if (out->overlap_trip >= 0)
            out->warnings[out->n_warnings++] = SVC_RULES_OVERLAP;
    }
    return 0;
}
