/*
 * speeds.c - the speed table: km/h per road class where a way states no
 * usable maxspeed, and the factor applied to maxspeed values.
 *
 * The defaults are for a small van (4-10 seats) in a Japanese town, where
 * most of a route is on residential and unclassified streets with 30 km/h
 * zones, stops and crossings, and the rare national road is congested:
 * averages over a street, not limits.  A signed limit is scaled by
 * maxspeed_factor (0.9) for the same reason.
 *
 * Overrides come as one JSON object; every key must be a class name,
 * "maxspeed_factor" or "use_service", so that a typo ("residental") is an
 * error instead of a silently ignored setting.  Speeds must lie in
 * [1, 200] km/h and the factor in [0.1, 2]: with those, an edge up to the
 * 1,000 km the builder accepts still fits its millisecond travel time in 32
 * bits.  The table is changed only when the whole object is valid.
 */
#include "data/net/net.h"
#include "solver/errf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KMH_MIN 1.0
#define KMH_MAX 200.0
#define FACTOR_MIN 0.1
#define FACTOR_MAX 2.0

void net_speeds_default(net_speeds *s)
{
    static const double kmh[NET_CLASS_COUNT] = {
        [NET_MOTORWAY] = 80,      [NET_TRUNK] = 60,        [NET_PRIMARY] = 50,
        [NET_SECONDARY] = 40,     [NET_TERTIARY] = 35,     [NET_MOTORWAY_LINK] = 50,
        [NET_TRUNK_LINK] = 40,    [NET_PRIMARY_LINK] = 35, [NET_SECONDARY_LINK] = 30,
        [NET_TERTIARY_LINK] = 30, [NET_UNCLASSIFIED] = 30, [NET_RESIDENTIAL] = 25,
        [NET_LIVING_STREET] = 10, [NET_SERVICE] = 15,
    };

    memcpy(s->kmh, kmh, sizeof(kmh));
    s->maxspeed_factor = 0.9;
    s->use_service = 1;
}

int net_speeds_parse_json(net_speeds *s, const char *json_text, char *err, size_t err_len)
{
    net_speeds t;
    json_error_t jerr;
    json_t *root, *val;
    const char *key;
    int rc = 0;

    if (s == NULL || json_text == NULL) {
        if (err != NULL && err_len > 0)
            snprintf(err, err_len, "net_speeds_parse_json: no table or no text");
        return NET_EINVAL;
    }
    root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return slv_errf(err, err_len, NET_EFORMAT, "speed table: line %d, column %d: %s", jerr.line,
                        jerr.column, jerr.text);
    if (!json_is_object(root)) {
        rc = slv_errf(err, err_len, NET_EFORMAT,
                      "speed table: expected a JSON object like "
                      "{\"residential\": 25}");
        goto out;
    }
    t = *s;
    json_object_foreach(root, key, val)
    {
        int c = net_class_parse(key);
        double v;

        if (strcmp(key, "use_service") == 0) {
            if (!json_is_boolean(val)) {
                rc = slv_errf(err, err_len, NET_EFORMAT,
                              "speed table: use_service: expected true or false");
                goto out;
            }
            t.use_service = json_is_true(val);
            continue;
        }
        if (c < 0 && strcmp(key, "maxspeed_factor") != 0) {
            rc = slv_errf(err, err_len, NET_EFORMAT,
                          "speed table: unknown key \"%.60s\" (keys are road classes such as "
                          "\"residential\", \"maxspeed_factor\" and \"use_service\")",
                          key);
            goto out;
        }
        if (!json_is_number(val)) {
            rc = slv_errf(err, err_len, NET_EFORMAT, "speed table: %s: expected a number", key);
            goto out;
        }
        v = json_number_value(val);
        if (c < 0) {
            if (!(v >= FACTOR_MIN && v <= FACTOR_MAX)) {
                rc = slv_errf(err, err_len, NET_EFORMAT,
                              "speed table: maxspeed_factor %g is outside %g..%g", v, FACTOR_MIN,
                              FACTOR_MAX);
                goto out;
            }
            t.maxspeed_factor = v;
        } else {
            if (!(v >= KMH_MIN && v <= KMH_MAX)) {
                rc = slv_errf(err, err_len, NET_EFORMAT,
                              "speed table: %s: %g km/h is outside %g..%g", key, v, KMH_MIN,
                              KMH_MAX);
                goto out;
            }
            t.kmh[c] = v;
        }
    }
    *s = t;
out:
    json_decref(root);
    return rc;
}
