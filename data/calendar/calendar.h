/*
 * calendar.h - service calendars (on which dates does a service run) and
 * Japan's public holidays, read as data.
 *
 * Dates are civil day numbers (cal_day: days since 1970-01-01 in the
 * proleptic Gregorian calendar), independent of any time zone: a date is a
 * label of a service day, not an instant.  Only years 1900..2200 are
 * accepted by the parsers.
 *
 * Holidays: the table is a CSV file (data/calendar/jp-holidays.csv, columns
 * date,name_ja,name_en, one row per holiday, dates strictly increasing)
 * loaded at run time by cal_load_holidays.  The years from the first row's
 * to the last row's are "covered"; every covered year must have at least
 * one row.  Asking about a date outside the covered years is an error
 * (CAL_ERANGE), never a silent "not a holiday": equinox days are only
 * fixed by the government a year ahead, so the file has to be extended.
 *
 * A service calendar (cal_service, an embedded value with no heap memory)
 * says on which weekdays the service runs, optionally between a first and
 * a last date, whether public holidays and the New Year break (12/29 to
 * 1/3, 年末年始) are days off, and exceptions like GTFS calendar_dates.txt:
 * dates added (exception_type 1) or removed (exception_type 2), which win
 * over every other rule.  It borrows the holiday table (set .holidays; the
 * table must outlive the calendar).
 *
 * Errors: 0 or a negative CAL_E* code from one table (cal_strerror), with a
 * message in the caller's err[err_len] where the function takes one.
 */
#ifndef NORIAI_DATA_CALENDAR_H
#define NORIAI_DATA_CALENDAR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CAL_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read the holiday file")                                                    \
    X(FORMAT, -4, "malformed holiday file")                                                        \
    X(RANGE, -5, "date outside the years of the holiday table")

enum {
#define CAL_ERR_ENUM(name, code, msg) CAL_E##name = (code),
    CAL_ERRNO_MAP(CAL_ERR_ENUM)
#undef CAL_ERR_ENUM
};

const char *cal_strerror(int err);

typedef int32_t cal_day; /* days since 1970-01-01 */

#define CAL_YEAR_MIN 1900
#define CAL_YEAR_MAX 2200

/* Day numbers and dates.  cal_from_ymd: 0 or CAL_EINVAL (not a real date,
 * or a year outside CAL_YEAR_MIN..MAX).  cal_parse: strictly "YYYY-MM-DD". */
int cal_from_ymd(int y, int m, int d, cal_day *out);
void cal_to_ymd(cal_day day, int *y, int *m, int *d);
int cal_parse(const char *s, cal_day *out);
void cal_format(cal_day day, char out[11]); /* "YYYY-MM-DD" */
/* 0 = Sunday .. 6 = Saturday, as struct tm's tm_wday. */
int cal_weekday(cal_day day);

/* ------------------------------------------------------------------------ */
/* Public holidays                                                          */

#define CAL_NAME_MAX 64 /* bytes of a holiday name with its NUL */
#define CAL_HOLIDAYS_MAX_BYTES ((size_t)1 << 20)
#define CAL_HOLIDAYS_MAX_ROWS 20000

typedef struct cal_holiday {
    cal_day day;
    char name_ja[CAL_NAME_MAX];
    char name_en[CAL_NAME_MAX];
} cal_holiday;

typedef struct cal_holidays {
    cal_holiday *v; /* n rows, days strictly increasing */
    int n;
    int first_year, last_year; /* the covered years */
} cal_holidays;

/*
 * Reads the holiday table from path into *out (the caller destroys it).
 * Refused with a message "path:line: what" (CAL_EOPEN, CAL_EFORMAT): a
 * header other than date,name_ja,name_en, a row with another number of
 * fields, a date that is not YYYY-MM-DD or not a real date, dates out of
 * order or repeated, an empty name, a name longer than CAL_NAME_MAX - 1
 * bytes or not UTF-8 or holding control characters, a covered year with no
 * row, no rows at all, more than CAL_HOLIDAYS_MAX_ROWS rows.
 */
int cal_load_holidays(const char *path, cal_holidays **out, char *err, size_t err_len);
/* The same from buf[0..len); name starts the messages. */
int cal_load_holidays_mem(const char *name, const char *buf, size_t len, cal_holidays **out,
                          char *err, size_t err_len);
void cal_holidays_destroy(cal_holidays *h);

/* 1 and *out = the row if day is a holiday, 0 if it is not, CAL_ERANGE if
 * the day's year is not covered (or h is NULL). */
int cal_holiday_find(const cal_holidays *h, cal_day day, const cal_holiday **out);

/* ------------------------------------------------------------------------ */
/* Service calendars                                                        */

/* Weekday bits, 1u << tm_wday. */
#define CAL_SUN (1u << 0)
#define CAL_MON (1u << 1)
#define CAL_TUE (1u << 2)
#define CAL_WED (1u << 3)
#define CAL_THU (1u << 4)
#define CAL_FRI (1u << 5)
#define CAL_SAT (1u << 6)
#define CAL_WEEKDAYS (CAL_MON | CAL_TUE | CAL_WED | CAL_THU | CAL_FRI)
#define CAL_EVERY_DAY (CAL_WEEKDAYS | CAL_SAT | CAL_SUN)

#define CAL_MAX_EXCEPTIONS 400
#define CAL_NO_DAY INT32_MIN /* an open end of the service period */

typedef struct cal_exception {
    cal_day day;
    int added; /* 1: runs that day (GTFS exception_type 1); 0: does not (2) */
} cal_exception;

typedef struct cal_service {
    unsigned weekdays;          /* CAL_* bits */
    int holidays_off;           /* no service on public holidays */
    int year_end_off;           /* no service from 12/29 to 1/3 */
    cal_day start_day, end_day; /* the service period, CAL_NO_DAY: open */
    int n_exceptions;           /* sorted by day, each day once */
    cal_exception exceptions[CAL_MAX_EXCEPTIONS];
    const cal_holidays *holidays; /* borrowed; needed when holidays_off */
} cal_service;

/* Every day, no holidays off, no exceptions, no table. */
void cal_service_init(cal_service *c);

/* Why a service runs or not on a date. */
typedef enum cal_why {
    CAL_WHY_SERVICE_DAY, /* runs: its weekday, within the period */
    CAL_WHY_ADDED,       /* runs: an added date */
    CAL_WHY_REMOVED,     /* off: a removed date */
    CAL_WHY_PERIOD,      /* off: before start_day or after end_day */
    CAL_WHY_WEEKDAY,     /* off: the service does not run on that weekday */
    CAL_WHY_YEAR_END,    /* off: 12/29 .. 1/3 */
    CAL_WHY_HOLIDAY      /* off: a public holiday (see *holiday) */
} cal_why;

/*
 * 1 if service c runs on day, 0 if not, or CAL_ERANGE when the answer hangs
 * on a holiday the table does not cover (or there is no table), CAL_EINVAL
 * for a NULL c.  OUT: *why (may be NULL) the reason; *holiday (may be NULL)
 * the holiday row when why is CAL_WHY_HOLIDAY, else NULL.  Order: an
 * exception wins; then the period, the weekday, the New Year break, and the
 * holidays.
 */
int cal_service_runs(const cal_service *c, cal_day day, cal_why *why, const cal_holiday **holiday);

/* Adds an exception (replacing one on the same day).  0, CAL_EINVAL when
 * the list is full. */
int cal_service_except(cal_service *c, cal_day day, int added);

/*
 * A calendar from a JSON object, all keys optional (unknown keys refused):
 *   {"days": ["mon", "tue", "wed", "thu", "fri"],   (default: every day)
 *    "holidays_off": true, "year_end_off": true,
 *    "start_date": "2026-04-01", "end_date": "2027-03-31",
 *    "added": ["2026-11-03"], "removed": ["2026-08-14"]}
 * where names the object in messages (e.g. "booking_rules.calendar").  A
 * day named twice, an empty "days", a date both added and removed, an end
 * before the start: CAL_EINVAL with a message.  out->holidays is left NULL:
 * the caller sets it.  *out is written only on success.
 */
int cal_service_from_json(const json_t *obj, const char *where, cal_service *out, char *err,
                          size_t err_len);

#endif
