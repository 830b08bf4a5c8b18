/*
 * svc_rules.h - the booking rules of a service: when a trip may be booked,
 * on which days the service runs, how many trips a rider may hold a day,
 * and whether trips of one rider may overlap.
 *
 * The fields follow GTFS-Flex booking_rules.txt so the rules can be
 * published later as they are:
 *   booking_type 0  real-time: booked for today, up to the moment of travel;
 *   booking_type 1  up to the same day, with prior_notice_duration_min
 *                   minutes of notice (and at most prior_notice_duration_max
 *                   minutes ahead, or from prior_notice_start_day at
 *                   prior_notice_start_time);
 *   booking_type 2  up to prior_notice_last_day days before, by
 *                   prior_notice_last_time ("17:00 the day before"), and
 *                   from prior_notice_start_day at prior_notice_start_time.
 * prior_notice_service_days counts those days on the service's own
 * calendar instead of calendar days (GTFS prior_notice_service_id naming the
 * service itself: "by 17:00 on the service day before").
 *
 * Cut-offs include their instant: with 17:00 the day before, a request at
 * 17:00:00 is taken and one at 17:00:01 is not; with 30 minutes' notice, a
 * trip at exactly now + 30 min is taken.
 *
 * A refusal carries a stable code (svc_rules_code_name: "too_soon", ...) for
 * programs and a sentence in Japanese and in English for people; warnings
 * (a trip that overlaps one the rider holds, when the rule only warns) come
 * as a separate list of codes.  Nothing here reads the clock or changes
 * state: the caller passes now, and local dates and times are those of the
 * process's zone (the daemon sets TZ to the area's).
 *
 * Ownership: svc_rules is an embedded value; its calendar borrows the
 * holiday table (rules.calendar.holidays, set by the caller after
 * svc_rules_from_json), which must outlive it.
 */
#ifndef NORIAI_DISPATCHER_SVC_RULES_H
#define NORIAI_DISPATCHER_SVC_RULES_H

#include "data/calendar/calendar.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SVC_RULES_ERRNO_MAP(X)                                                                     \
    X(INVAL, -1, "invalid argument")                                                               \
    X(CALENDAR, -2, "the calendar has holidays off but no holiday table")                          \
    X(TIME, -3, "local time conversion failed")

enum {
#define SVC_RULES_ERR_ENUM(name, code, msg) SVC_RULES_E##name = (code),
    SVC_RULES_ERRNO_MAP(SVC_RULES_ERR_ENUM)
#undef SVC_RULES_ERR_ENUM
};

const char *svc_rules_strerror(int err);

/* The outcome codes: enum name, stable string.  OK is the only one that
 * accepts; OVERLAP is a refusal or, under the "warn" rule, a warning. */
#define SVC_RULES_CODE_MAP(X)                                                                      \
    X(OK, "ok")                                                                                    \
    X(IN_THE_PAST, "in_the_past")                                                                  \
    X(NOT_A_SERVICE_DAY, "not_a_service_day")                                                      \
    X(CALENDAR_UNKNOWN, "calendar_unknown")                                                        \
    X(ASAP_NOT_ALLOWED, "asap_not_allowed")                                                        \
    X(TOO_SOON, "too_soon")                                                                        \
    X(TOO_LATE_PRIOR_DAY, "too_late_prior_day")                                                    \
    X(TOO_FAR_AHEAD, "too_far_ahead")                                                              \
    X(RIDER_DAILY_LIMIT, "rider_daily_limit")                                                      \
    X(OVERLAP, "overlap")

typedef enum svc_rules_code {
#define SVC_RULES_CODE_ENUM(name, str) SVC_RULES_##name,
    SVC_RULES_CODE_MAP(SVC_RULES_CODE_ENUM)
#undef SVC_RULES_CODE_ENUM
        SVC_RULES_N_CODES
} svc_rules_code;

/* "too_soon" etc.; "unknown" for a value outside the enum. */
const char *svc_rules_code_name(svc_rules_code code);

typedef enum svc_rules_overlap {
    SVC_RULES_OVERLAP_OFF,    /* not checked */
    SVC_RULES_OVERLAP_WARN,   /* accepted with the warning SVC_RULES_OVERLAP */
    SVC_RULES_OVERLAP_REFUSE, /* refused with SVC_RULES_OVERLAP */
} svc_rules_overlap;

#define SVC_RULES_NONE (-1) /* an optional field that is not set */

typedef struct svc_rules {
    int booking_type;              /* 0, 1, 2 as above */
    int prior_notice_duration_min; /* minutes, type 1 (required there) */
    int prior_notice_duration_max; /* minutes, type 1, or SVC_RULES_NONE */
    int prior_notice_last_day;     /* days, type 2 (required there) */
    int prior_notice_last_time_s;  /* seconds of that day, type 2 */
    int prior_notice_start_day;    /* days, types 1 and 2, or SVC_RULES_NONE */
    int prior_notice_start_time_s; /* seconds of that day, with start_day */
    int prior_notice_service_days; /* count those days on the calendar, type 2 */
    int max_rides_per_day;         /* trips a rider may hold a day; 0: no limit */
    svc_rules_overlap overlap;
    int overlap_tolerance_s; /* overlaps up to this long are not overlaps */
    cal_service calendar;
} svc_rules;

/* Real-time booking, every day, no limit, overlaps not checked. */
void svc_rules_init(svc_rules *r);

/*
 * Rules from a "booking_rules" JSON object (where names it in messages):
 *   {"booking_type": 2,
 *    "prior_notice_last_day": 1, "prior_notice_last_time": "17:00",
 *    "prior_notice_start_day": 14, "prior_notice_start_time": "09:00",
 *    "prior_notice_service_days": false,
 *    "max_rides_per_day": 4,
 *    "overlap": "refuse", "overlap_tolerance_min": 5,
 *    "calendar": {... see cal_service_from_json ...},
 *    "comment": "..."}
 * Times are "HH:MM" or "HH:MM:SS" (00:00 .. 23:59:59).  Which fields a
 * booking_type requires or forbids is GTFS's: type 1 requires
 * prior_notice_duration_min; duration_min/max only with type 1;
 * last_day/last_time only with (and required by) type 2; start_day not
 * with type 0, nor with prior_notice_duration_max; start_time exactly when
 * start_day; service_days only with type 2.  Unknown keys refused.
 * SVC_RULES_EINVAL with a message naming the field; *out is written only on
 * success (its calendar's holidays left NULL for the caller to set).
 */
int svc_rules_from_json(const json_t *obj, const char *where, svc_rules *out, char *err,
                        size_t err_len);

/* A trip the rider already has on the requested date. */
typedef enum svc_rules_trip_status {
    SVC_RULES_TRIP_HELD,      /* booked and not finished (incl. on board) */
    SVC_RULES_TRIP_DONE,      /* dropped off: counts for the daily limit */
    SVC_RULES_TRIP_NO_SHOW,   /* counts for the daily limit, not for overlap */
    SVC_RULES_TRIP_CANCELLED, /* cancelled, rejected, expired: ignored */
} svc_rules_trip_status;

typedef struct svc_rules_trip {
    int from_s, to_s; /* seconds of the service day: pickup .. drop-off */
    svc_rules_trip_status status;
} svc_rules_trip;

typedef struct svc_rules_request {
    char date[11]; /* the service date, YYYY-MM-DD */
    int asap;      /* as soon as possible (types 0 and 1, today only) */
    /* The time the trip would take, seconds of the service day: from_s is
     * when travel starts (the notice is counted to it), to_s >= from_s the
     * expected drop-off (for the overlap rule).  For asap, the caller's
     * estimate from now. */
    int from_s, to_s;
} svc_rules_request;

#define SVC_RULES_MAX_WARNINGS 4
#define SVC_RULES_MSG_MAX 192

typedef struct svc_rules_verdict {
    svc_rules_code code;            /* SVC_RULES_OK or why it is refused */
    char msg_ja[SVC_RULES_MSG_MAX]; /* "" when OK */
    char msg_en[SVC_RULES_MSG_MAX];
    int n_warnings;
    svc_rules_code warnings[SVC_RULES_MAX_WARNINGS];
    int overlap_trip; /* index into trips of the first overlap, or -1 */
} svc_rules_verdict;

/*
 * Evaluates a request against rules r at now_s (unix seconds), with the
 * rider's trips of that date (trips[0..n_trips), the one being edited left
 * out).  Returns 0 with *out filled (a refusal is a verdict, not an error),
 * or SVC_RULES_EINVAL (bad date, to_s < from_s, a negative time or one past
 * 4 days, NULL arguments), SVC_RULES_ECALENDAR, SVC_RULES_ETIME; then *out holds code
 * SVC_RULES_OK and no message and must not be used.
 *
 * Checks, first refusal wins: the trip lies in the past; the date is not a
 * service day (the sentence names the holiday when that is why; a date
 * beyond the holiday table gives calendar_unknown); asap on another day or
 * under type 2; the notice (too_soon, too_late_prior_day, too_far_ahead);
 * the daily limit; overlaps (refused, or warned about and accepted).
 */
int svc_rules_check(const svc_rules *r, int64_t now_s, const svc_rules_request *req,
                    const svc_rules_trip *trips, int n_trips, svc_rules_verdict *out);

#endif
