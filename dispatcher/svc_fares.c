/*
 * svc_fares.c - the fare of a trip from a service's fare rules
 * (svc_fares.h).
 *
 * A quote is built as a list of lines, and the total is only ever their
 * sum: the people lines first (one per category and unit fare, each
 * count * unit), then at most one group line and one transfer line, each a
 * discount (amount <= 0) no larger than what the lines before it add up
 * to.  So the total equals the sum of the breakdown and is never negative
 * by construction, and no rule can make a person pay more than the adult
 * fare: a percentage is rounded and then capped at the adult fare (305 yen
 * less 0 %, rounded up to 10, would be 310), a fixed category fare is
 * capped at it, and a group price applies only when it is cheaper.
 *
 * Rounding.  A fare less p percent is adult * (100 - p) / 100 yen, a
 * fraction; it is rounded to the unit (1, 5, 10, ... yen) in integers, as
 * num / den with u = den * unit: up ceil(num / u), down floor(num / u),
 * nearest floor((2 num + u) / 2u) - all of them times unit.  Everything is
 * non-negative, so integer division is floor.  Bounds keep it small: a
 * fare is at most 100,000 yen and a party 99 people, so a total fits an
 * int with room to spare; the rounding works in long long anyway.
 *
 * Who pays what is decided in one place (quote_people), in the order of
 * the header's rules; the labels are written after the numbers, from the
 * numbers, so what a caller hears is what is charged.
 *
 * Reading the JSON: each object's keys are checked first (jin_object,
 * which names unknown fields and lists the known ones), then each value
 * with its range; the rules are read into a local copy and handed out only
 * when all of it is good.  A zone matrix is checked both ways: a row or a
 * cell naming a zone not in "zones" is an unknown field, and a zone with
 * no row, or a row without a cell for some zone, is named as missing.
 *
 * Cost: a quote is O(categories); reading rules is O(zones^2).  Nothing
 * allocates.
 */
#include "dispatcher/svc_fares.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "data/json/jsonin.h"

#define FARE_MAX_GROUP_TOTAL_YEN (SVC_FARE_MAX_YEN * SVC_FARE_MAX_PEOPLE)
#define FARE_MAX_ROUND_UNIT_YEN 1000
#define FARE_MAX_COMPANIONS 10
#define FARE_MAX_FREE_PER_ADULT 10
#define FARE_PATH 256

const char *svc_fare_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define SVC_FARE_ERR_CASE(name, code, msg)                                                         \
    case code:                                                                                     \
        return msg;
        SVC_FARE_ERRNO_MAP(SVC_FARE_ERR_CASE)
#undef SVC_FARE_ERR_CASE
    default:
        return "unknown error";
    }
}

static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int rc, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* A message about the object at where starts "<where>: ", or nothing at
 * the top level: pre(where), sep(where). */
static const char *pre(const char *where)
{
    return where != NULL && *where != '\0' ? where : "";
}
static const char *sep(const char *where)
{
    return where != NULL && *where != '\0' ? ": " : "";
}

static const char *const cat_ja[SVC_FARE_N_CAT] = {
    "大人", "小児", "高齢者", "障害者手帳", "介助者", "未就学児", "定期券・1日乗車券",
};
static const char *const cat_en[SVC_FARE_N_CAT] = {
    "Adult",     "Child",           "Senior",      "Disability certificate",
    "Companion", "Preschool child", "Pass holder",
};

const char *svc_fare_cat_ja(svc_fare_cat c)
{
    return c >= 0 && c < SVC_FARE_N_CAT ? cat_ja[c] : "?";
}

const char *svc_fare_cat_en(svc_fare_cat c)
{
    return c >= 0 && c < SVC_FARE_N_CAT ? cat_en[c] : "?";
}

void svc_fare_rules_flat(svc_fare_rules *out, int flat_yen)
{
    memset(out, 0, sizeof(*out));
    out->flat_yen = flat_yen;
    out->round_unit_yen = 10;
    out->round_mode = SVC_FARE_ROUND_UP;
    out->senior_min_age = 65;
    out->companions_per_holder = 1;
}

int svc_fare_zone_find(const svc_fare_rules *r, const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < r->n_zones; i++)
        if (strcmp(r->zones[i], name) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------------- */
/* checking rules built by hand                                            */

static int disc_check(const svc_fare_disc *d, const char *name, char *err, size_t err_len)
{
    switch (d->kind) {
    case SVC_FARE_DISC_NONE:
        return 0;
    case SVC_FARE_DISC_PERCENT:
        if (d->percent_off < 0 || d->percent_off > 100)
            return fail(SVC_FARE_EINVAL, err, err_len, "%s.percent_off: must be in [0, 100]", name);
        return 0;
    case SVC_FARE_DISC_FIXED:
        if (d->fare_yen < 0 || d->fare_yen > SVC_FARE_MAX_YEN)
            return fail(SVC_FARE_EINVAL, err, err_len, "%s.fare_yen: must be in [0, %d]", name,
                        SVC_FARE_MAX_YEN);
        return 0;
    }
    return fail(SVC_FARE_EINVAL, err, err_len, "%s: unknown kind of discount", name);
}

int svc_fare_rules_check(const svc_fare_rules *r, char *err, size_t err_len)
{
    int rc;

    if (r->n_zones < 0 || r->n_zones > SVC_FARE_MAX_ZONES)
        return fail(SVC_FARE_EINVAL, err, err_len, "n_zones: must be in [0, %d]",
                    SVC_FARE_MAX_ZONES);
    if (r->n_zones == 0 && (r->flat_yen < 0 || r->flat_yen > SVC_FARE_MAX_YEN))
        return fail(SVC_FARE_EINVAL, err, err_len, "flat_yen: must be in [0, %d]",
                    SVC_FARE_MAX_YEN);
    for (int i = 0; i < r->n_zones; i++) {
        if (memchr(r->zones[i], '\0', SVC_FARE_ZONE_BYTES) == NULL || r->zones[i][0] == '\0')
            return fail(SVC_FARE_EINVAL, err, err_len, "zones[%d]: empty or not terminated", i);
        for (int k = 0; k < i; k++)
            if (strcmp(r->zones[k], r->zones[i]) == 0)
                return fail(SVC_FARE_EINVAL, err, err_len, "zones[%d]: \"%s\" is named twice", i,
                            r->zones[i]);
        for (int k = 0; k < r->n_zones; k++)
            if (r->zone_yen[i][k] < 0 || r->zone_yen[i][k] > SVC_FARE_MAX_YEN)
                return fail(SVC_FARE_EINVAL, err, err_len, "zone_yen[%d][%d]: must be in [0, %d]",
                            i, k, SVC_FARE_MAX_YEN);
    }
    if (r->round_unit_yen < 1 || r->round_unit_yen > FARE_MAX_ROUND_UNIT_YEN)
        return fail(SVC_FARE_EINVAL, err, err_len, "round_unit_yen: must be in [1, %d]",
                    FARE_MAX_ROUND_UNIT_YEN);
    if (r->round_mode != SVC_FARE_ROUND_UP && r->round_mode != SVC_FARE_ROUND_DOWN &&
        r->round_mode != SVC_FARE_ROUND_NEAREST)
        return fail(SVC_FARE_EINVAL, err, err_len, "round_mode: unknown");
    if ((rc = disc_check(&r->child, "child", err, err_len)) < 0 ||
        (rc = disc_check(&r->senior, "senior", err, err_len)) < 0 ||
        (rc = disc_check(&r->disability, "disability", err, err_len)) < 0)
        return rc;
    if (r->senior_min_age < 0 || r->senior_min_age > 120)
        return fail(SVC_FARE_EINVAL, err, err_len, "senior_min_age: must be in [0, 120]");
    if (r->companions_per_holder < 0 || r->companions_per_holder > FARE_MAX_COMPANIONS)
        return fail(SVC_FARE_EINVAL, err, err_len, "companions_per_holder: must be in [0, %d]",
                    FARE_MAX_COMPANIONS);
    if (r->preschool_free_per_adult < 0 || r->preschool_free_per_adult > FARE_MAX_FREE_PER_ADULT)
        return fail(SVC_FARE_EINVAL, err, err_len, "preschool_free_per_adult: must be in [0, %d]",
                    FARE_MAX_FREE_PER_ADULT);
    switch (r->group) {
    case SVC_FARE_GROUP_NONE:
        break;
    case SVC_FARE_GROUP_TOTAL:
    case SVC_FARE_GROUP_PERCENT:
        if (r->group_min_people < 2 || r->group_min_people > SVC_FARE_MAX_PEOPLE)
            return fail(SVC_FARE_EINVAL, err, err_len, "group_min_people: must be in [2, %d]",
                        SVC_FARE_MAX_PEOPLE);
        if (r->group == SVC_FARE_GROUP_TOTAL &&
            (r->group_total_yen < 0 || r->group_total_yen > FARE_MAX_GROUP_TOTAL_YEN))
            return fail(SVC_FARE_EINVAL, err, err_len, "group_total_yen: must be in [0, %d]",
                        FARE_MAX_GROUP_TOTAL_YEN);
        if (r->group == SVC_FARE_GROUP_PERCENT &&
            (r->group_percent_off < 0 || r->group_percent_off > 100))
            return fail(SVC_FARE_EINVAL, err, err_len, "group_percent_off: must be in [0, 100]");
        break;
    default:
        return fail(SVC_FARE_EINVAL, err, err_len, "group: unknown kind");
    }
    if (r->transfer_yen_off < 0 || r->transfer_yen_off > SVC_FARE_MAX_YEN)
        return fail(SVC_FARE_EINVAL, err, err_len, "transfer_yen_off: must be in [0, %d]",
                    SVC_FARE_MAX_YEN);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* reading the "fares" object                                              */

/* A discount object: {"percent_off": p} or {"fare_yen": y} or {} (none),
 * and the one extra integer key some categories have (extra may be NULL). */
static int read_disc(const json_t *obj, const char *where, svc_fare_disc *d, const char *extra,
                     int extra_lo, int extra_hi, int *extra_out, char *err, size_t err_len)
{
    const char *keys[4] = {"percent_off", "fare_yen", extra, NULL};
    int has_p, has_f, rc;

    if (jin_object(obj, where, keys, JIN_COMMENT, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    has_p = jin_opt_int(obj, "percent_off", where, 0, 100, &d->percent_off, err, err_len);
    if (has_p < 0)
        return SVC_FARE_EINVAL;
    has_f = jin_opt_int(obj, "fare_yen", where, 0, SVC_FARE_MAX_YEN, &d->fare_yen, err, err_len);
    if (has_f < 0)
        return SVC_FARE_EINVAL;
    if (has_p && has_f)
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "%s%spercent_off and fare_yen exclude each other (give one)", pre(where),
                    sep(where));
    d->kind = has_p ? SVC_FARE_DISC_PERCENT : has_f ? SVC_FARE_DISC_FIXED : SVC_FARE_DISC_NONE;
    if (extra != NULL) {
        rc = jin_opt_int(obj, extra, where, extra_lo, extra_hi, extra_out, err, err_len);
        if (rc < 0)
            return SVC_FARE_EINVAL;
    }
    return 0;
}

static int read_zones(const json_t *fares, const char *where, svc_fare_rules *r, char *err,
                      size_t err_len)
{
    const json_t *zs = json_object_get(fares, "zones");
    const json_t *zf = json_object_get(fares, "zone_fares");
    const char *names[SVC_FARE_MAX_ZONES + 1];
    char wz[FARE_PATH], w[FARE_PATH + 24], wrow[FARE_PATH], wcell[FARE_PATH];
    size_t n;

    jin_path(wz, sizeof(wz), where, "zones");
    if (!json_is_array(zs))
        return fail(SVC_FARE_EINVAL, err, err_len, "%s: must be an array of zone names, found %s",
                    wz, jin_type_name(zs));
    n = json_array_size(zs);
    if (n < 1 || n > SVC_FARE_MAX_ZONES)
        return fail(SVC_FARE_EINVAL, err, err_len, "%s: must name 1 to %d zones, found %zu", wz,
                    SVC_FARE_MAX_ZONES, n);
    for (size_t i = 0; i < n; i++) {
        const char *s;

        snprintf(w, sizeof(w), "%s[%zu]", wz, i);
        if (jin_str(json_array_get(zs, i), w, 1, SVC_FARE_ZONE_CHARS, JIN_TEXT, &s, err, err_len) <
            0)
            return SVC_FARE_EINVAL;
        for (size_t k = 0; k < i; k++)
            if (strcmp(names[k], s) == 0)
                return fail(SVC_FARE_EINVAL, err, err_len, "%s: zone \"%s\" is named twice", w, s);
        names[i] = s;
        snprintf(r->zones[i], sizeof(r->zones[i]), "%s", s);
    }
    names[n] = NULL;
    r->n_zones = (int)n;

    /* The matrix's keys are zone names; a zone named "comment" is a zone. */
    jin_path(w, sizeof(w), where, "zone_fares");
    if (jin_object(zf, w, names, 0, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_object_get(zf, names[i]);

        if (row == NULL)
            return fail(SVC_FARE_EINVAL, err, err_len, "%s: no fares from zone \"%s\"", w,
                        names[i]);
        jin_path(wrow, sizeof(wrow), w, names[i]);
        if (jin_object(row, wrow, names, 0, err, err_len) < 0)
            return SVC_FARE_EINVAL;
        for (size_t k = 0; k < n; k++) {
            const json_t *cell = json_object_get(row, names[k]);
            long long yen;

            if (cell == NULL)
                return fail(SVC_FARE_EINVAL, err, err_len, "%s: no fare to zone \"%s\"", wrow,
                            names[k]);
            jin_path(wcell, sizeof(wcell), wrow, names[k]);
            if (jin_int(cell, wcell, 0, SVC_FARE_MAX_YEN, 0, &yen, err, err_len) < 0)
                return SVC_FARE_EINVAL;
            r->zone_yen[i][k] = (int)yen;
        }
    }
    return 0;
}

static int read_rounding(const json_t *obj, const char *where, svc_fare_rules *r, char *err,
                         size_t err_len)
{
    static const char *const keys[] = {"unit_yen", "mode", NULL};
    const char *mode = NULL;
    char w[FARE_PATH];

    if (jin_object(obj, where, keys, JIN_COMMENT, err, err_len) < 0 ||
        jin_opt_int(obj, "unit_yen", where, 1, FARE_MAX_ROUND_UNIT_YEN, &r->round_unit_yen, err,
                    err_len) < 0 ||
        jin_opt_str(obj, "mode", where, 1, 16, JIN_TEXT, &mode, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    if (mode == NULL)
        return 0;
    if (strcmp(mode, "up") == 0) {
        r->round_mode = SVC_FARE_ROUND_UP;
    } else if (strcmp(mode, "down") == 0) {
        r->round_mode = SVC_FARE_ROUND_DOWN;
    } else if (strcmp(mode, "nearest") == 0) {
        r->round_mode = SVC_FARE_ROUND_NEAREST;
    } else {
        jin_path(w, sizeof(w), where, "mode");
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "%s: must be \"up\", \"down\" or \"nearest\", found \"%s\"", w, mode);
    }
    return 0;
}

static int read_group(const json_t *obj, const char *where, svc_fare_rules *r, char *err,
                      size_t err_len)
{
    static const char *const keys[] = {"min_people", "total_yen", "percent_off", NULL};
    int has_min, has_t, has_p;

    if (jin_object(obj, where, keys, JIN_COMMENT, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    has_min = jin_opt_int(obj, "min_people", where, 2, SVC_FARE_MAX_PEOPLE, &r->group_min_people,
                          err, err_len);
    if (has_min < 0)
        return SVC_FARE_EINVAL;
    has_t = jin_opt_int(obj, "total_yen", where, 0, FARE_MAX_GROUP_TOTAL_YEN, &r->group_total_yen,
                        err, err_len);
    if (has_t < 0)
        return SVC_FARE_EINVAL;
    has_p = jin_opt_int(obj, "percent_off", where, 0, 100, &r->group_percent_off, err, err_len);
    if (has_p < 0)
        return SVC_FARE_EINVAL;
    if (!has_min)
        return fail(SVC_FARE_EINVAL, err, err_len, "%s%smin_people is missing", pre(where),
                    sep(where));
    if (has_t == has_p)
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "%s%sgive one of total_yen and percent_off, not %s", pre(where), sep(where),
                    has_t ? "both" : "neither");
    r->group = has_t ? SVC_FARE_GROUP_TOTAL : SVC_FARE_GROUP_PERCENT;
    return 0;
}

/* The optional member key of fares (NULL when absent), its path into w. */
static const json_t *member(const json_t *fares, const char *key, const char *where, char *w,
                            size_t w_len)
{
    jin_path(w, w_len, where, key);
    return json_object_get(fares, key);
}

static int read_rules(const json_t *v, const char *where, svc_fare_rules *r, char *err,
                      size_t err_len)
{
    static const char *const keys[] = {"flat_yen", "zones",    "zone_fares", "rounding",
                                       "child",    "senior",   "disability", "preschool",
                                       "group",    "transfer", NULL};
    static const char *const preschool_keys[] = {"free_per_adult", NULL};
    static const char *const transfer_keys[] = {"yen_off", NULL};
    const json_t *o;
    char w[FARE_PATH];
    int has_flat, has_zones, has_matrix;

    if (jin_object(v, where, keys, JIN_COMMENT, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    has_flat = jin_opt_int(v, "flat_yen", where, 0, SVC_FARE_MAX_YEN, &r->flat_yen, err, err_len);
    if (has_flat < 0)
        return SVC_FARE_EINVAL;
    has_zones = json_object_get(v, "zones") != NULL;
    has_matrix = json_object_get(v, "zone_fares") != NULL;
    if (has_flat && (has_zones || has_matrix))
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "%s%sflat_yen and zones/zone_fares exclude each other (give one)", pre(where),
                    sep(where));
    if (!has_flat && !has_zones && !has_matrix)
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "%s%sthe fare is missing: give flat_yen, or zones and zone_fares", pre(where),
                    sep(where));
    if (has_zones != has_matrix)
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "%s%s%s is missing (zones and zone_fares go together)", pre(where), sep(where),
                    has_zones ? "zone_fares" : "zones");
    if (has_zones && read_zones(v, where, r, err, err_len) < 0)
        return SVC_FARE_EINVAL;

    if ((o = member(v, "rounding", where, w, sizeof(w))) != NULL &&
        read_rounding(o, w, r, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    if ((o = member(v, "child", where, w, sizeof(w))) != NULL &&
        read_disc(o, w, &r->child, NULL, 0, 0, NULL, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    if ((o = member(v, "senior", where, w, sizeof(w))) != NULL &&
        read_disc(o, w, &r->senior, "min_age", 0, 120, &r->senior_min_age, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    if ((o = member(v, "disability", where, w, sizeof(w))) != NULL &&
        read_disc(o, w, &r->disability, "companions_per_holder", 0, FARE_MAX_COMPANIONS,
                  &r->companions_per_holder, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    if ((o = member(v, "preschool", where, w, sizeof(w))) != NULL &&
        (jin_object(o, w, preschool_keys, JIN_COMMENT, err, err_len) < 0 ||
         jin_opt_int(o, "free_per_adult", w, 0, FARE_MAX_FREE_PER_ADULT,
                     &r->preschool_free_per_adult, err, err_len) < 0))
        return SVC_FARE_EINVAL;
    if ((o = member(v, "group", where, w, sizeof(w))) != NULL &&
        read_group(o, w, r, err, err_len) < 0)
        return SVC_FARE_EINVAL;
    if ((o = member(v, "transfer", where, w, sizeof(w))) != NULL) {
        int has;

        if (jin_object(o, w, transfer_keys, JIN_COMMENT, err, err_len) < 0)
            return SVC_FARE_EINVAL;
        has = jin_opt_int(o, "yen_off", w, 0, SVC_FARE_MAX_YEN, &r->transfer_yen_off, err, err_len);
        if (has < 0)
            return SVC_FARE_EINVAL;
        if (has == 0)
            return fail(SVC_FARE_EINVAL, err, err_len, "%s: yen_off is missing", w);
    }
    return svc_fare_rules_check(r, err, err_len);
}

int svc_fare_rules_from_json(const json_t *v, const char *where, svc_fare_rules *out, char *err,
                             size_t err_len)
{
    svc_fare_rules r;
    int rc;

    svc_fare_rules_flat(&r, 0);
    rc = read_rules(v, where, &r, err, err_len);
    if (rc < 0)
        memset(out, 0, sizeof(*out));
    else
        *out = r;
    return rc;
}

/* ---------------------------------------------------------------------- */
/* the quote                                                               */

/* num / den yen rounded to the rules' unit (num, den >= 0, den > 0). */
static int round_yen(const svc_fare_rules *r, long long num, long long den)
{
    long long unit = r->round_unit_yen, u = den * unit;

    switch (r->round_mode) {
    case SVC_FARE_ROUND_DOWN:
        return (int)(num / u * unit);
    case SVC_FARE_ROUND_NEAREST:
        return (int)((2 * num + u) / (2 * u) * unit);
    case SVC_FARE_ROUND_UP:
    default:
        return (int)((num + u - 1) / u * unit);
    }
}

/* What one person of a discounted category pays, never above adult_yen. */
static int disc_yen(const svc_fare_rules *r, const svc_fare_disc *d, int adult_yen)
{
    int yen = adult_yen;

    if (d->kind == SVC_FARE_DISC_PERCENT)
        yen = round_yen(r, (long long)adult_yen * (100 - d->percent_off), 100);
    else if (d->kind == SVC_FARE_DISC_FIXED)
        yen = d->fare_yen;
    return yen < adult_yen ? yen : adult_yen;
}

/* "1,234" (or "-1,234") into buf. */
static const char *yen_text(char *buf, size_t len, int yen)
{
    char digits[16];
    unsigned v = yen < 0 ? 0u - (unsigned)yen : (unsigned)yen;
    int n = 0;
    size_t used = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    if (yen < 0 && used + 1 < len)
        buf[used++] = '-';
    while (n > 0 && used + 1 < len) {
        buf[used++] = digits[--n];
        if (n > 0 && n % 3 == 0 && used + 1 < len)
            buf[used++] = ',';
    }
    buf[used] = '\0';
    return buf;
}

static void label(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void label(char *dst, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, SVC_FARE_LABEL_BYTES, fmt, ap);
    va_end(ap);
}

/* The people line of count people of c at unit_yen; ja/en_name override
 * the category's names (NULL: the category's). */
static void add_people(const svc_fare_rules *r, svc_fare_quote *q, svc_fare_cat c, int count,
                       int unit_yen, const char *ja_name, const char *en_name)
{
    svc_fare_line *l;
    char unit[24], amount[24], senior_ja[64], senior_en[64];

    if (count == 0)
        return;
    l = &q->lines[q->n_lines++];
    l->kind = SVC_FARE_LINE_PEOPLE;
    l->cat = c;
    l->count = count;
    l->unit_yen = unit_yen;
    l->amount_yen = count * unit_yen;
    if (ja_name == NULL && c == SVC_FARE_SENIOR) {
        snprintf(senior_ja, sizeof(senior_ja), "%s(%d歳以上)", cat_ja[c], r->senior_min_age);
        snprintf(senior_en, sizeof(senior_en), "%s (%d+)", cat_en[c], r->senior_min_age);
        ja_name = senior_ja;
        en_name = senior_en;
    }
    if (ja_name == NULL) {
        ja_name = cat_ja[c];
        en_name = cat_en[c];
    }
    yen_text(unit, sizeof(unit), unit_yen);
    yen_text(amount, sizeof(amount), l->amount_yen);
    label(l->ja, "%s %d名 × %s円 = %s円", ja_name, count, unit, amount);
    label(l->en, "%s %d × %s yen = %s yen", en_name, count, unit, amount);
}

/* The sum of the lines so far. */
static int lines_sum(const svc_fare_quote *q)
{
    int sum = 0;

    for (int i = 0; i < q->n_lines; i++)
        sum += q->lines[i].amount_yen;
    return sum;
}

/* Step 2 of the header: who pays what, one line per category and fare. */
static void quote_people(const svc_fare_rules *r, const svc_fare_party *p, svc_fare_quote *q)
{
    const int *n = p->count;
    int adult = q->adult_yen;
    int child = disc_yen(r, &r->child, adult);
    int disabled = disc_yen(r, &r->disability, adult);
    int comp_disc = n[SVC_FARE_COMPANION];
    int adults = n[SVC_FARE_ADULT] + n[SVC_FARE_SENIOR] + n[SVC_FARE_DISABLED] +
                 n[SVC_FARE_COMPANION] + n[SVC_FARE_PASS];
    int free_pre = n[SVC_FARE_PRESCHOOL];

    if (comp_disc > r->companions_per_holder * n[SVC_FARE_DISABLED])
        comp_disc = r->companions_per_holder * n[SVC_FARE_DISABLED];
    if (free_pre > r->preschool_free_per_adult * adults)
        free_pre = r->preschool_free_per_adult * adults;

    add_people(r, q, SVC_FARE_ADULT, n[SVC_FARE_ADULT], adult, NULL, NULL);
    add_people(r, q, SVC_FARE_CHILD, n[SVC_FARE_CHILD], child, NULL, NULL);
    add_people(r, q, SVC_FARE_SENIOR, n[SVC_FARE_SENIOR], disc_yen(r, &r->senior, adult), NULL,
               NULL);
    add_people(r, q, SVC_FARE_DISABLED, n[SVC_FARE_DISABLED], disabled, NULL, NULL);
    if (disabled == adult) {
        add_people(r, q, SVC_FARE_COMPANION, n[SVC_FARE_COMPANION], adult, NULL, NULL);
    } else {
        add_people(r, q, SVC_FARE_COMPANION, comp_disc, disabled, NULL, NULL);
        add_people(r, q, SVC_FARE_COMPANION, n[SVC_FARE_COMPANION] - comp_disc, adult,
                   "介助者(割引対象外)", "Companion (no discount)");
    }
    add_people(r, q, SVC_FARE_PRESCHOOL, free_pre, 0, NULL, NULL);
    add_people(r, q, SVC_FARE_PRESCHOOL, n[SVC_FARE_PRESCHOOL] - free_pre, child,
               "未就学児(無料人数を超える分)", "Preschool child (beyond the free allowance)");
    add_people(r, q, SVC_FARE_PASS, n[SVC_FARE_PASS], 0, NULL, NULL);
}

/* Step 3: the group price, when it is cheaper for the paying people. */
static void quote_group(const svc_fare_rules *r, svc_fare_quote *q)
{
    int paying = 0, sum = 0, target;
    char amount[24], total[24];
    svc_fare_line *l;

    if (r->group == SVC_FARE_GROUP_NONE)
        return;
    for (int i = 0; i < q->n_lines; i++) {
        if (q->lines[i].kind == SVC_FARE_LINE_PEOPLE && q->lines[i].unit_yen > 0) {
            paying += q->lines[i].count;
            sum += q->lines[i].amount_yen;
        }
    }
    if (paying < r->group_min_people)
        return;
    if (r->group == SVC_FARE_GROUP_TOTAL)
        target = r->group_total_yen;
    else
        target = round_yen(r, (long long)sum * (100 - r->group_percent_off), 100);
    if (target >= sum)
        return;
    l = &q->lines[q->n_lines++];
    l->kind = SVC_FARE_LINE_GROUP;
    l->count = paying;
    l->amount_yen = target - sum;
    yen_text(amount, sizeof(amount), l->amount_yen);
    yen_text(total, sizeof(total), target);
    if (r->group == SVC_FARE_GROUP_TOTAL) {
        label(l->ja, "団体運賃(%d名以上) %d名で%s円 = %s円", r->group_min_people, paying, total,
              amount);
        label(l->en, "Group fare (%d or more): %d for %s yen = %s yen", r->group_min_people, paying,
              total, amount);
    } else {
        label(l->ja, "団体割引(%d名以上) %d名 %d%%引 = %s円", r->group_min_people, paying,
              r->group_percent_off, amount);
        label(l->en, "Group discount (%d or more): %d, %d%% off = %s yen", r->group_min_people,
              paying, r->group_percent_off, amount);
    }
}

/* Step 4: yen_off per paying person, at most each one's fare and at most
 * what is left. */
static void quote_transfer(const svc_fare_rules *r, svc_fare_quote *q)
{
    int paying = 0, off = 0, left = lines_sum(q);
    char unit[24], amount[24];
    svc_fare_line *l;

    for (int i = 0; i < q->n_lines; i++) {
        const svc_fare_line *p = &q->lines[i];

        if (p->kind == SVC_FARE_LINE_PEOPLE && p->unit_yen > 0) {
            paying += p->count;
            off +=
                p->count * (p->unit_yen < r->transfer_yen_off ? p->unit_yen : r->transfer_yen_off);
        }
    }
    if (off > left)
        off = left;
    if (off <= 0)
        return;
    l = &q->lines[q->n_lines++];
    l->kind = SVC_FARE_LINE_TRANSFER;
    l->count = paying;
    l->unit_yen = r->transfer_yen_off;
    l->amount_yen = -off;
    yen_text(unit, sizeof(unit), r->transfer_yen_off);
    yen_text(amount, sizeof(amount), -off);
    if (off == paying * r->transfer_yen_off) {
        label(l->ja, "乗継割引 %d名 × %s円引 = %s円", paying, unit, amount);
        label(l->en, "Transfer discount %d × %s yen off = %s yen", paying, unit, amount);
    } else {
        label(l->ja, "乗継割引 %d名 (1名%s円引まで) = %s円", paying, unit, amount);
        label(l->en, "Transfer discount %d (up to %s yen off each) = %s yen", paying, unit, amount);
    }
}

int svc_fare_quote_trip(const svc_fare_rules *r, const svc_fare_party *p, const char *from_zone,
                        const char *to_zone, int connects, svc_fare_quote *out, char *err,
                        size_t err_len)
{
    int rc, people = 0, from, to;
    char total[24];

    memset(out, 0, sizeof(*out));
    if ((rc = svc_fare_rules_check(r, err, err_len)) < 0)
        return rc;
    for (int c = 0; c < SVC_FARE_N_CAT; c++) {
        if (p->count[c] < 0 || p->count[c] > SVC_FARE_MAX_PEOPLE)
            return fail(SVC_FARE_EINVAL, err, err_len, "party.%s: must be in [0, %d], found %d",
                        cat_en[c], SVC_FARE_MAX_PEOPLE, p->count[c]);
        people += p->count[c];
    }
    if (people < 1 || people > SVC_FARE_MAX_PEOPLE)
        return fail(SVC_FARE_EINVAL, err, err_len, "party: must be 1 to %d people, found %d",
                    SVC_FARE_MAX_PEOPLE, people);
    if (p->wheelchairs < 0 || p->wheelchairs > people)
        return fail(SVC_FARE_EINVAL, err, err_len,
                    "party.wheelchairs: must be in [0, %d] (the people of the party), found %d",
                    people, p->wheelchairs);
    if (r->n_zones > 0) {
        from = svc_fare_zone_find(r, from_zone);
        to = svc_fare_zone_find(r, to_zone);
        if (from < 0 || to < 0)
            return fail(SVC_FARE_EZONE, err, err_len, "%s zone \"%s\" is not a fare zone",
                        from < 0 ? "pickup" : "drop-off",
                        from < 0 ? (from_zone ? from_zone : "(none)")
                                 : (to_zone ? to_zone : "(none)"));
        out->adult_yen = r->zone_yen[from][to];
    } else {
        out->adult_yen = r->flat_yen;
    }

    quote_people(r, p, out);
    if (p->wheelchairs > 0) {
        svc_fare_line *l = &out->lines[out->n_lines++];

        l->kind = SVC_FARE_LINE_WHEELCHAIR;
        l->count = p->wheelchairs;
        label(l->ja, "うち車いす %d名", p->wheelchairs);
        label(l->en, "of whom %d in a wheelchair", p->wheelchairs);
    }
    quote_group(r, out);
    if (connects && r->transfer_yen_off > 0)
        quote_transfer(r, out);

    out->total_yen = lines_sum(out);
    yen_text(total, sizeof(total), out->total_yen);
    label(out->total_ja, "合計 %s円", total);
    label(out->total_en, "Total %s yen", total);
    return 0;
}
