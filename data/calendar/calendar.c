/*
 * calendar.c - civil dates as day numbers, the public-holiday table read
 * from CSV, and the "does the service run on this date" rule.
 *
 * Day numbers: a date is counted from a year that starts on 1 March, so
 * that the leap day is the last day of its year and the days before a month
 * are (153 * m + 2) / 5 for m = 0 (March) .. 11 (February); whole years add
 * 365 plus the leap days of the Gregorian rule (every 4th year, not every
 * 100th, again every 400th).  All years handled are positive, so integer
 * division truncates the way the formula wants.  The inverse walks years and
 * months from an estimate; it runs a few steps and is only used to print.
 *
 * The holiday table is data, not code: the rules of the 祝日法 (fixed
 * dates, the Happy Monday days, equinoxes fixed by the Cabinet Office's
 * announcement each February for the next year, substitute holidays,
 * 国民の休日) change now and then, and a town must be able to take a new
 * file without a new build.  The loader is strict - a table with a wrong or
 * missing row would quietly run or cancel buses - so every row is checked
 * and the error names the file and line.  Rows are kept sorted and looked
 * up by binary search: O(log n) per question, n is about 20 a year.
 *
 * A service calendar is an embedded value (no heap): its exceptions are a
 * small sorted array, also searched by bisection.  cal_service_runs answers
 * in the order GTFS gives calendar_dates.txt precedence: an exception
 * decides alone; otherwise the period, the weekday, the New Year break and
 * the holidays must all let the service run.
 */
#include "data/calendar/calendar.h"
#include "data/csv/csv.h"
#include "data/json/jsonin.h"
#include "solver/errf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cal_msgs[] = {
#define CAL_ERR_MSG(name, code, msg) [-(code)] = msg,
    CAL_ERRNO_MAP(CAL_ERR_MSG)
#undef CAL_ERR_MSG
};

const char *cal_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && (size_t)-err < sizeof(cal_msgs) / sizeof(cal_msgs[0]) && cal_msgs[-err])
        return cal_msgs[-err];
    return "unknown calendar error";
}

/* ------------------------------------------------------------------------ */
/* Dates                                                                    */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 0000-03-01 of the March-based year to y-m-d (y >= 1). */
static long civil_days(int y, int m, int d)
{
    long yy = m <= 2 ? y - 1 : y;
    long mm = m <= 2 ? m + 9 : m - 3; /* March = 0 */

    return 365 * yy + yy / 4 - yy / 100 + yy / 400 + (153 * mm + 2) / 5 + d - 1;
}

int cal_from_ymd(int y, int m, int d, cal_day *out)
{
    if (y < CAL_YEAR_MIN || y > CAL_YEAR_MAX || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return CAL_EINVAL;
    *out = (cal_day)(civil_days(y, m, d) - civil_days(1970, 1, 1));
    return 0;
}

void cal_to_ymd(cal_day day, int *y, int *m, int *d)
{
    long target = civil_days(1970, 1, 1) + day;
    int yy = 1970 + (int)(day / 366) - (day < 0 ? 1 : 0); /* never past the answer */

    while (civil_days(yy + 1, 1, 1) <= target)
        yy++;
    while (civil_days(yy, 1, 1) > target)
        yy--;
    int mm = 1;
    while (mm < 12 && civil_days(yy, mm + 1, 1) <= target)
        mm++;
    *y = yy;
    *m = mm;
    *d = (int)(target - civil_days(yy, mm, 1)) + 1;
}

int cal_parse(const char *s, cal_day *out)
{
    int v[3] = {0, 0, 0};
    static const int len[3] = {4, 2, 2};
    const char *p = s;

    if (s == NULL || strlen(s) != 10)
        return CAL_EINVAL;
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < len[f]; i++, p++) {
            if (*p < '0' || *p > '9')
                return CAL_EINVAL;
            v[f] = v[f] * 10 + (*p - '0');
        }
        if (f < 2 && *p++ != '-')
            return CAL_EINVAL;
    }
    return cal_from_ymd(v[0], v[1], v[2], out);
}

void cal_format(cal_day day, char out[11])
{
    int y, m, d;

    cal_to_ymd(day, &y, &m, &d);
    /* Digit by digit: printf's widths do not tell the compiler the size. */
    y = y < 0 ? 0 : y % 10000;
    int v[3] = {y, m, d};
    int pos[3] = {3, 6, 9}; /* last digit of each field */
    for (int f = 0; f < 3; f++)
        for (int i = pos[f]; i > (f == 0 ? -1 : pos[f] - 2); i--, v[f] /= 10)
            out[i] = (char)('0' + v[f] % 10);
    out[4] = out[7] = '-';
    out[10] = '\0';
}

int cal_weekday(cal_day day)
{
    int w = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday */

    return w < 0 ? w + 7 : w;
}

/* ------------------------------------------------------------------------ */
/* Holidays                                                                 */

static int year_of(cal_day day)
{
    int y, m, d;

    cal_to_ymd(day, &y, &m, &d);
    return y;
}

/* A name: 1 .. CAL_NAME_MAX - 1 bytes of UTF-8 without control characters;
 * blanks around it are refused rather than trimmed, they are typos. */
static const char *name_problem(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return "is empty";
    if (n >= CAL_NAME_MAX)
        return "is longer than 63 bytes";
    if (!csv_utf8_valid(s))
        return "is not UTF-8";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return "holds a control character";
    if (s[0] == ' ' || s[n - 1] == ' ')
        return "has blanks around it";
    return NULL;
}

static int load_rows(csv_reader *r, cal_holidays *h, char *err, size_t err_len)
{
    const char *name = csv_name(r);
    int rc;
    int cap = 0;

    rc = csv_read_header(r, err, err_len);
    if (rc < 0)
        return CAL_EFORMAT;
    if (csv_n_cols(r) != 3 || csv_col(r, "date") != 0 || csv_col(r, "name_ja") != 1 ||
        csv_col(r, "name_en") != 2)
        return slv_errf(err, err_len, CAL_EFORMAT, "%s:%d: the header must be date,name_ja,name_en",
                        name, csv_line(r));
    while ((rc = csv_next(r, err, err_len)) > 0) {
        int line = csv_line(r);
        const char *f[3];
        const char *why;
        cal_day day;

        if (csv_n_fields(r) != 3)
            return slv_errf(err, err_len, CAL_EFORMAT, "%s:%d: %d fields, expected 3", name, line,
                            csv_n_fields(r));
        for (int i = 0; i < 3; i++)
            f[i] = csv_field(r, i);
        if (cal_parse(f[0], &day) != 0)
            return slv_errf(err, err_len, CAL_EFORMAT,
                            "%s:%d: date \"%.16s\" is not a real date written YYYY-MM-DD", name,
                            line, f[0]);
        if (h->n > 0 && day <= h->v[h->n - 1].day) {
            char prev[11];

            cal_format(h->v[h->n - 1].day, prev);
            return slv_errf(err, err_len, CAL_EFORMAT,
                            "%s:%d: date %s is %s the row before (%s); rows must be in date "
                            "order, each date once",
                            name, line, f[0], day == h->v[h->n - 1].day ? "the same as" : "before",
                            prev);
        }
        for (int i = 1; i < 3; i++) {
            if ((why = name_problem(f[i])) != NULL)
                return slv_errf(err, err_len, CAL_EFORMAT, "%s:%d: %s %s", name, line,
                                i == 1 ? "name_ja" : "name_en", why);
        }
        if (h->n >= CAL_HOLIDAYS_MAX_ROWS)
            return slv_errf(err, err_len, CAL_EFORMAT, "%s:%d: more than %d rows", name, line,
                            CAL_HOLIDAYS_MAX_ROWS);
        if (h->n == cap) {
            int ncap = cap ? cap * 2 : 64;
            cal_holiday *nv = realloc(h->v, (size_t)ncap * sizeof(*nv));

            if (nv == NULL)
                return slv_errf(err, err_len, CAL_ENOMEM, "%s: out of memory", name);
            h->v = nv;
            cap = ncap;
        }
        cal_holiday *row = &h->v[h->n++];
        row->day = day;
        memcpy(row->name_ja, f[1], strlen(f[1]) + 1);
        memcpy(row->name_en, f[2], strlen(f[2]) + 1);
    }
    if (rc < 0)
        return CAL_EFORMAT;
    if (h->n == 0)
        return slv_errf(err, err_len, CAL_EFORMAT, "%s: no holidays in the file", name);
    /* A year without rows inside the covered span is a hole, not a year
     * without holidays (Japan has none such). */
    h->first_year = year_of(h->v[0].day);
    h->last_year = year_of(h->v[h->n - 1].day);
    for (int i = 1, y = h->first_year; i < h->n; i++) {
        int yi = year_of(h->v[i].day);

        if (yi > y + 1)
            return slv_errf(err, err_len, CAL_EFORMAT,
                            "%s: no holidays for the year %d (the file covers %d..%d)", name, y + 1,
                            h->first_year, h->last_year);
        y = yi;
    }
    return 0;
}

int cal_load_holidays_mem(const char *name, const char *buf, size_t len, cal_holidays **out,
                          char *err, size_t err_len)
{
    csv_reader *r = NULL;
    cal_holidays *h = NULL;
    int rc;

    if (out == NULL || name == NULL || (buf == NULL && len > 0))
        return slv_errf(err, err_len, CAL_EINVAL, "cal_load_holidays: invalid argument");
    *out = NULL;
    if (len > CAL_HOLIDAYS_MAX_BYTES) {
        rc = slv_errf(err, err_len, CAL_EFORMAT, "%s: larger than %zu bytes", name,
                      CAL_HOLIDAYS_MAX_BYTES);
        goto out;
    }
    rc = csv_open_mem(name, buf != NULL ? buf : "", len, &r, err, err_len);
    if (rc < 0) {
        rc = rc == CSV_ENOMEM ? CAL_ENOMEM : CAL_EFORMAT;
        goto out;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        rc = slv_errf(err, err_len, CAL_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    rc = load_rows(r, h, err, err_len);
out:
    csv_destroy(r);
    if (rc < 0)
        cal_holidays_destroy(h);
    else
        *out = h;
    return rc;
}

int cal_load_holidays(const char *path, cal_holidays **out, char *err, size_t err_len)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (path == NULL || out == NULL)
        return slv_errf(err, err_len, CAL_EINVAL, "cal_load_holidays: invalid argument");
    *out = NULL;
    rc = csv_read_file(path, CAL_HOLIDAYS_MAX_BYTES, &buf, &len, err, err_len);
    if (rc < 0)
        return rc == CSV_ENOMEM ? CAL_ENOMEM : CAL_EOPEN;
    rc = cal_load_holidays_mem(path, buf, len, out, err, err_len);
    free(buf);
    return rc;
}

void cal_holidays_destroy(cal_holidays *h)
{
    if (h == NULL)
        return;
    free(h->v);
    free(h);
}

int cal_holiday_find(const cal_holidays *h, cal_day day, const cal_holiday **out)
{
    int lo = 0, hi;
    int y;

    if (out != NULL)
        *out = NULL;
    if (h == NULL || h->n == 0)
        return CAL_ERANGE;
    y = year_of(day);
    if (y < h->first_year || y > h->last_year)
        return CAL_ERANGE;
    hi = h->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;

        if (h->v[mid].day == day) {
            if (out != NULL)
                *out = &h->v[mid];
            return 1;
        }
        if (h->v[mid].day < day)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Service calendars                                                        */

void cal_service_init(cal_service *c)
{
    memset(c, 0, sizeof(*c));
    c->weekdays = CAL_EVERY_DAY;
    c->start_day = CAL_NO_DAY;
    c->end_day = CAL_NO_DAY;
}

/* Index of day in the exceptions, or -(insertion point) - 1. */
static int except_find(const cal_service *c, cal_day day)
{
    int lo = 0, hi = c->n_exceptions - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;

        if (c->exceptions[mid].day == day)
            return mid;
        if (c->exceptions[mid].day < day)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -lo - 1;
}

int cal_service_except(cal_service *c, cal_day day, int added)
{
    int i;

    if (c == NULL)
        return CAL_EINVAL;
    i = except_find(c, day);
    if (i >= 0) {
        c->exceptions[i].added = added ? 1 : 0;
        return 0;
    }
    if (c->n_exceptions >= CAL_MAX_EXCEPTIONS)
        return CAL_EINVAL;
    i = -i - 1;
    memmove(&c->exceptions[i + 1], &c->exceptions[i],
            (size_t)(c->n_exceptions - i) * sizeof(c->exceptions[0]));
    c->exceptions[i].day = day;
    c->exceptions[i].added = added ? 1 : 0;
    c->n_exceptions++;
    return 0;
}

static int answer(cal_why *why, cal_why w, int runs)
{
    if (why != NULL)
        *why = w;
    return runs;
}

int cal_service_runs(const cal_service *c, cal_day day, cal_why *why, const cal_holiday **holiday)
{
    const cal_holiday *h = NULL;
    int i, y, m, d, rc;

    if (holiday != NULL)
        *holiday = NULL;
    if (c == NULL)
        return CAL_EINVAL;
    i = except_find(c, day);
    if (i >= 0)
        return c->exceptions[i].added ? answer(why, CAL_WHY_ADDED, 1)
                                      : answer(why, CAL_WHY_REMOVED, 0);
    if ((c->start_day != CAL_NO_DAY && day < c->start_day) ||
        (c->end_day != CAL_NO_DAY && day > c->end_day))
        return answer(why, CAL_WHY_PERIOD, 0);
    if (!(c->weekdays & (1u << cal_weekday(day))))
        return answer(why, CAL_WHY_WEEKDAY, 0);
    cal_to_ymd(day, &y, &m, &d);
    if (c->year_end_off && ((m == 12 && d >= 29) || (m == 1 && d <= 3)))
        return answer(why, CAL_WHY_YEAR_END, 0);
    if (c->holidays_off) {
        rc = cal_holiday_find(c->holidays, day, &h);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            if (holiday != NULL)
                *holiday = h;
            return answer(why, CAL_WHY_HOLIDAY, 0);
        }
    }
    return answer(why, CAL_WHY_SERVICE_DAY, 1);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int json_days(const json_t *arr, const char *where, unsigned *out, char *err, size_t err_len)
{
    size_t i;
    json_t *v;
    unsigned bits = 0;

    if (!json_is_array(arr))
        return slv_errf(err, err_len, CAL_EINVAL, "%s: must be an array of day names, found %s",
                        where, jin_type_name(arr));
    if (json_array_size(arr) == 0)
        return slv_errf(err, err_len, CAL_EINVAL,
                        "%s: names no day (a service that never runs is not a service)", where);
    json_array_foreach(arr, i, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        int w = -1;

        for (int k = 0; s != NULL && k < 7; k++)
            if (strcmp(s, day_names[k]) == 0)
                w = k;
        if (w < 0)
            return slv_errf(err, err_len, CAL_EINVAL,
                            "%s[%zu]: must be one of \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", "
                            "\"sat\", \"sun\"",
                            where, i);
        if (bits & (1u << w))
            return slv_errf(err, err_len, CAL_EINVAL, "%s[%zu]: \"%s\" is named twice", where, i,
                            s);
        bits |= 1u << w;
    }
    *out = bits;
    return 0;
}

static int json_date(const json_t *v, const char *where, cal_day *out, char *err, size_t err_len)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    if (s == NULL || cal_parse(s, out) != 0)
        return slv_errf(err, err_len, CAL_EINVAL,
                        "%s: must be a date written YYYY-MM-DD (years %d..%d)", where, CAL_YEAR_MIN,
                        CAL_YEAR_MAX);
    return 0;
}

static int json_dates(const json_t *obj, const char *key, const char *where, int added,
                      cal_service *c, char *err, size_t err_len)
{
    const json_t *arr = json_object_get(obj, key);
    char path[256], item[280];
    size_t i;
    json_t *v;

    jin_path(path, sizeof(path), where, key);
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return slv_errf(err, err_len, CAL_EINVAL, "%s: must be an array of dates, found %s", path,
                        jin_type_name(arr));
    json_array_foreach(arr, i, v)
    {
        cal_day day;
        int k;

        snprintf(item, sizeof(item), "%s[%zu]", path, i);
        if (json_date(v, item, &day, err, err_len) < 0)
            return CAL_EINVAL;
        k = except_find(c, day);
        if (k >= 0)
            return slv_errf(err, err_len, CAL_EINVAL, "%s: %s is %s", item, json_string_value(v),
                            c->exceptions[k].added == added ? "listed twice"
                                                            : "both added and removed");
        if (cal_service_except(c, day, added) < 0)
            return slv_errf(err, err_len, CAL_EINVAL,
                            "%s: more than %d added and removed dates in all", item,
                            CAL_MAX_EXCEPTIONS);
    }
    return 0;
}

int cal_service_from_json(const json_t *obj, const char *where, cal_service *out, char *err,
                          size_t err_len)
{
    static const char *const keys[] = {"days",     "holidays_off", "year_end_off", "start_date",
                                       "end_date", "added",        "removed",      NULL};
    cal_service c;
    char path[256];
    const json_t *v;

    if (out == NULL)
        return slv_errf(err, err_len, CAL_EINVAL, "cal_service_from_json: invalid argument");
    if (jin_object(obj, where, keys, JIN_COMMENT, err, err_len) < 0)
        return CAL_EINVAL;
    cal_service_init(&c);
    if ((v = json_object_get(obj, "days")) != NULL) {
        jin_path(path, sizeof(path), where, "days");
        if (json_days(v, path, &c.weekdays, err, err_len) < 0)
            return CAL_EINVAL;
    }
    if (jin_opt_bool(obj, "holidays_off", where, &c.holidays_off, err, err_len) < 0 ||
        jin_opt_bool(obj, "year_end_off", where, &c.year_end_off, err, err_len) < 0)
        return CAL_EINVAL;
    if ((v = json_object_get(obj, "start_date")) != NULL) {
        jin_path(path, sizeof(path), where, "start_date");
        if (json_date(v, path, &c.start_day, err, err_len) < 0)
            return CAL_EINVAL;
    }
    if ((v = json_object_get(obj, "end_date")) != NULL) {
        jin_path(path, sizeof(path), where, "end_date");
        if (json_date(v, path, &c.end_day, err, err_len) < 0)
            return CAL_EINVAL;
        if (c.start_day != CAL_NO_DAY && c.end_day < c.start_day)
            return slv_errf(err, err_len, CAL_EINVAL, "%s: is before start_date", path);
    }
    if (json_dates(obj, "added", where, 1, &c, err, err_len) < 0 ||
        json_dates(obj, "removed", where, 0, &c, err, err_len) < 0)
        return CAL_EINVAL;
    *out = c;
    return 0;
}
