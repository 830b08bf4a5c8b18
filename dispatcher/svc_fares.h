/*
 * svc_fares.h - the fare of a demand-bus trip, in yen, from a service's
 * fare rules: what a call-center operator reads to a caller, and what an
 * offer states and a booking keeps.
 *
 * Pure: no store, no clock, no allocation.  The rules are a plain struct
 * (svc_fare_rules), read from the "fares" object of a service's JSON
 * (svc_fare_rules_from_json) or filled in by hand; a quote
 * (svc_fare_quote) takes the rules, the party, the pickup and drop-off
 * zones and whether the trip connects to a bus or train, and writes the
 * total and one line per category, each with a Japanese and an English
 * label, e.g.
 *   "大人 2名 × 300円 = 600円"      "Adult 2 × 300 yen = 600 yen"
 *   "小児 1名 × 150円 = 150円"      "Child 1 × 150 yen = 150 yen"
 *   "乗継割引 3名 × 100円引 = -300円" "Transfer discount 3 × 100 yen off = -300 yen"
 * The total is always the sum of the lines' amounts and never negative.
 *
 * The rules, in the order they are applied:
 *  1. The adult fare of the trip: one flat fare ("flat_yen"), or a fare
 *     per (pickup zone, drop-off zone) from a matrix of named zones
 *     ("zones" and "zone_fares"; every pair must be given, the matrix
 *     need not be symmetric).
 *  2. Each person's fare by category.  A discounted category has either
 *     "percent_off" (of the adult fare, then rounded as "rounding" says:
 *     to a unit of yen, up, down or to the nearest - Japanese operators
 *     round a child's half fare up to 10 yen, the default) or a fixed
 *     "fare_yen" (never more than the adult fare: a discount never costs
 *     more).  A category the rules leave out pays the adult fare.
 *       adult      大人                 the adult fare
 *       child      小児                 "child" discount
 *       senior     高齢者 (min_age+)    "senior" discount; min_age only labels it
 *       disabled   障害者手帳の所持者   "disability" discount
 *       companion  介助者               the "disability" discount too, up to
 *                                       companions_per_holder (default 1) per
 *                                       holder in the party; the others pay
 *                                       the adult fare, on a line of their own
 *       preschool  未就学児             free, up to free_per_adult for each
 *                                       adult of the party (adult, senior,
 *                                       disabled, companion, pass); the others
 *                                       pay the child fare (default: 0 free)
 *       pass       定期券・1日乗車券    0 (a day or monthly pass holder)
 *     Wheelchair users are people of the party already counted in a
 *     category; they pay by it, and a 0-yen note line says how many.
 *  3. The group price ("group"): when at least min_people of the party pay
 *     a fare (free preschoolers and pass holders do not count), their
 *     fares together become "total_yen", or lose "percent_off" (the total
 *     rounded as in 2) - only if that is cheaper; one line of discount.
 *  4. The transfer discount ("transfer"): when the trip connects to a bus
 *     or train, yen_off per paying person, no more than that person's fare
 *     and no more than what is left of the total; one line of discount.
 *
 * The "fares" object, documented examples.  Unknown keys are refused,
 * naming the field; a "comment" key is allowed in every object except
 * "zone_fares" and its rows, whose keys are zone names.  A flat fare, with
 * every other key:
 *
 *   "fares": {
 *     "flat_yen": 300,
 *     "rounding": {"unit_yen": 10, "mode": "up"},    ("up", "down", "nearest")
 *     "child": {"percent_off": 50},                  (or "fare_yen", not both)
 *     "senior": {"min_age": 65, "fare_yen": 200},
 *     "disability": {"percent_off": 50, "companions_per_holder": 1},
 *     "preschool": {"free_per_adult": 2},
 *     "group": {"min_people": 3, "total_yen": 800},  (or "percent_off": 20)
 *     "transfer": {"yen_off": 100},
 *     "comment": "町営デマンドバス運賃 (2025年4月改定)"
 *   }
 *
 * and a fare by zone pair instead of "flat_yen" (every zone needs a row,
 * every row a cell for every zone; other keys as above):
 *
 *   "fares": {
 *     "zones": ["北部", "中央", "駅前"],
 *     "zone_fares": {
 *       "北部": {"北部": 200, "中央": 300, "駅前": 400},
 *       "中央": {"北部": 300, "中央": 200, "駅前": 300},
 *       "駅前": {"北部": 400, "中央": 300, "駅前": 200}
 *     },
 *     "child": {"percent_off": 50}
 *   }
 *
 * Defaults: rounding 10 yen up, senior min_age 65, companions_per_holder
 * 1, free_per_adult 0, no group price, no transfer discount.
 *
 * Bounds: fares 0..SVC_FARE_MAX_YEN; up to SVC_FARE_MAX_ZONES zones of
 * 1..SVC_FARE_ZONE_CHARS characters; a party of 1..SVC_FARE_MAX_PEOPLE.
 *
 * Errors: 0, or a negative SVC_FARE_E* code (svc_fare_strerror) with a
 * message in err[err_len] that names the field (err may be NULL).  On
 * error the output is left zeroed, never half-filled.
 *
 * Ownership: nothing is allocated or kept; the rules and the quote are the
 * caller's, and the json_t is only read.  Any thread.
 */
#ifndef NORIAI_SVC_FARES_H
#define NORIAI_SVC_FARES_H

#include <jansson.h>
#include <stddef.h>

#define SVC_FARE_ERRNO_MAP(X)                                                                      \
    X(INVAL, -1, "invalid fare rules or party")                                                    \
    X(ZONE, -2, "unknown fare zone")

enum {
#define SVC_FARE_ERR_ENUM(name, code, msg) SVC_FARE_E##name = (code),
    SVC_FARE_ERRNO_MAP(SVC_FARE_ERR_ENUM)
#undef SVC_FARE_ERR_ENUM
};

const char *svc_fare_strerror(int err);

#define SVC_FARE_MAX_YEN 100000
#define SVC_FARE_MAX_ZONES 16
#define SVC_FARE_ZONE_CHARS 32
#define SVC_FARE_ZONE_BYTES (4 * SVC_FARE_ZONE_CHARS + 1)
#define SVC_FARE_MAX_PEOPLE 99
#define SVC_FARE_MAX_LINES 16
#define SVC_FARE_LABEL_BYTES 160

/* The people of a party, by category (svc_fare_party.count). */
typedef enum svc_fare_cat {
    SVC_FARE_ADULT = 0,
    SVC_FARE_CHILD,
    SVC_FARE_SENIOR,
    SVC_FARE_DISABLED,
    SVC_FARE_COMPANION,
    SVC_FARE_PRESCHOOL,
    SVC_FARE_PASS,
    SVC_FARE_N_CAT
} svc_fare_cat;

/* How a discounted category pays (child, senior, disability). */
typedef enum svc_fare_disc_kind {
    SVC_FARE_DISC_NONE = 0, /* the adult fare */
    SVC_FARE_DISC_PERCENT,  /* percent_off of the adult fare, rounded */
    SVC_FARE_DISC_FIXED     /* fare_yen, at most the adult fare */
} svc_fare_disc_kind;

typedef struct svc_fare_disc {
    svc_fare_disc_kind kind;
    int percent_off; /* 0..100, with SVC_FARE_DISC_PERCENT */
    int fare_yen;    /* 0..SVC_FARE_MAX_YEN, with SVC_FARE_DISC_FIXED */
} svc_fare_disc;

typedef enum svc_fare_round {
    SVC_FARE_ROUND_UP = 0, /* 切り上げ, the default */
    SVC_FARE_ROUND_DOWN,   /* 切り捨て */
    SVC_FARE_ROUND_NEAREST /* 四捨五入: a half unit goes up */
} svc_fare_round;

typedef enum svc_fare_group_kind {
    SVC_FARE_GROUP_NONE = 0,
    SVC_FARE_GROUP_TOTAL,  /* the paying people together pay total_yen */
    SVC_FARE_GROUP_PERCENT /* ... or their sum less percent_off, rounded */
} svc_fare_group_kind;

typedef struct svc_fare_rules {
    /* The adult fare: flat, or by zone pair when n_zones > 0. */
    int flat_yen;
    int n_zones;
    char zones[SVC_FARE_MAX_ZONES][SVC_FARE_ZONE_BYTES];
    int zone_yen[SVC_FARE_MAX_ZONES][SVC_FARE_MAX_ZONES]; /* [from][to] */

    int round_unit_yen; /* 1..1000, default 10 */
    svc_fare_round round_mode;

    svc_fare_disc child, senior, disability;
    int senior_min_age;        /* for the labels, default 65 */
    int companions_per_holder; /* 0..10, default 1 */
    int preschool_free_per_adult;

    svc_fare_group_kind group;
    int group_min_people; /* 2..SVC_FARE_MAX_PEOPLE */
    int group_total_yen;
    int group_percent_off;

    int transfer_yen_off; /* per paying person; 0: none */
} svc_fare_rules;

typedef struct svc_fare_party {
    int count[SVC_FARE_N_CAT]; /* people per svc_fare_cat, each >= 0, 1..MAX_PEOPLE in all */
    int wheelchairs;           /* of those people, in a wheelchair */
} svc_fare_party;

/* What a line of the breakdown stands for. */
typedef enum svc_fare_line_kind {
    SVC_FARE_LINE_PEOPLE = 0, /* count people of cat at unit_yen each */
    SVC_FARE_LINE_GROUP,      /* the group price: amount_yen <= 0 */
    SVC_FARE_LINE_TRANSFER,   /* the transfer discount: amount_yen <= 0 */
    SVC_FARE_LINE_WHEELCHAIR  /* a note: count wheelchair users, 0 yen */
} svc_fare_line_kind;

typedef struct svc_fare_line {
    svc_fare_line_kind kind;
    svc_fare_cat cat; /* with SVC_FARE_LINE_PEOPLE */
    int count;        /* people */
    int unit_yen;     /* per person (PEOPLE), off per person (TRANSFER), else 0 */
    int amount_yen;   /* what the line adds to the total */
    char ja[SVC_FARE_LABEL_BYTES], en[SVC_FARE_LABEL_BYTES];
} svc_fare_line;

typedef struct svc_fare_quote {
    int total_yen;
    int adult_yen; /* the trip's adult fare */
    int n_lines;
    svc_fare_line lines[SVC_FARE_MAX_LINES];
    char total_ja[SVC_FARE_LABEL_BYTES], total_en[SVC_FARE_LABEL_BYTES]; /* "合計 1,100円" */
} svc_fare_quote;

/* Rules of one flat fare, no discounts, the default rounding (10 yen, up):
 * a start for rules built by hand. */
void svc_fare_rules_flat(svc_fare_rules *out, int flat_yen);

/* Reads the "fares" object v (path where, e.g. "fares" or
 * "services[0].fares", for the messages) into *out.  0, or
 * SVC_FARE_EINVAL with e.g.
 *   "fares.child.percent_off: must be an integer in [0, 100], found 120"
 *   "fares: unknown field \"flat\" (known: flat_yen, zones, ...)"
 *   "fares.zone_fares.北部: no fare to zone \"駅前\"" */
int svc_fare_rules_from_json(const json_t *v, const char *where, svc_fare_rules *out, char *err,
                             size_t err_len);

/* 0 when r is a set of rules svc_fare_quote accepts (what from_json
 * produces), else SVC_FARE_EINVAL and a message: for rules built by hand. */
int svc_fare_rules_check(const svc_fare_rules *r, char *err, size_t err_len);

/* The zone index of name in r, or -1. */
int svc_fare_zone_find(const svc_fare_rules *r, const char *name);

/* The fare of a trip of party p from zone from_zone to zone to_zone (both
 * ignored, may be NULL, with a flat fare), connecting to a bus or train
 * when connects != 0.  0, SVC_FARE_EINVAL (bad rules, an empty or too big
 * party, more wheelchairs than people), SVC_FARE_EZONE (a zone the rules
 * do not name). */
int svc_fare_quote_trip(const svc_fare_rules *r, const svc_fare_party *p, const char *from_zone,
                        const char *to_zone, int connects, svc_fare_quote *out, char *err,
                        size_t err_len);

/* The Japanese and English names of a category ("大人", "Adult"). */
const char *svc_fare_cat_ja(svc_fare_cat c);
const char *svc_fare_cat_en(svc_fare_cat c);

#endif
