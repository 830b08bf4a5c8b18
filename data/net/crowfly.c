/*
 * crowfly.c - travel without a road network: great-circle distance times a
 * detour factor, driven at a constant speed.
 *
 * Distance is the haversine formula on a sphere of the mean Earth radius
 * (IUGG, 6,371,008.8 m); over a town the error against the ellipsoid is a
 * fraction of a percent, far below what the detour factor already
 * approximates.  The haversine form stays accurate for points metres apart,
 * where the spherical law of cosines loses its digits.
 *
 * Rounding: the road distance (great circle x detour) is rounded to whole
 * metres and the time, from the unrounded distance, to whole seconds, like
 * the road matrices, so both models hand the solver the same kind of numbers.
 * A model with no usable speed or detour (zero, negative, not finite) makes
 * every pair other than a point with itself unreachable.
 */
#include "data/net/net.h"

#include <math.h>

#define EARTH_MEAN_RADIUS_M 6371008.8
#define DEG_TO_RAD (3.14159265358979323846 / 180.0)

void net_crowfly_default(net_crowfly *c)
{
    c->detour = 1.3;
    c->speed_kmh = 25.0;
}

double net_haversine_m(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * DEG_TO_RAD, p2 = lat2 * DEG_TO_RAD;
    double dp = (lat2 - lat1) * DEG_TO_RAD, dl = (lon2 - lon1) * DEG_TO_RAD;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

    if (a > 1.0)
        a = 1.0;
    return 2.0 * EARTH_MEAN_RADIUS_M * asin(sqrt(a));
}

/* Rounds a non-negative value to int32, saturating; NaN saturates too. */
static int32_t round_sat(double v)
{
    if (!(v < 2147483647.0))
        return INT32_MAX;
    if (v <= 0.0)
        return 0;
    return (int32_t)lround(v);
}

void net_crowfly_travel(const net_crowfly *c, double lat1, double lon1, double lat2, double lon2,
                        int32_t *time_s, int32_t *dist_m)
{
    double d = net_haversine_m(lat1, lon1, lat2, lon2);
    double road_m, mps;
    int usable = c != NULL && isfinite(c->detour) && c->detour > 0.0 && isfinite(c->speed_kmh) &&
                 c->speed_kmh > 0.0;

    if (d == 0.0) {
        *time_s = 0;
        *dist_m = 0;
        return;
    }
    if (!usable || !isfinite(d)) {
        *time_s = NET_UNREACHABLE_S;
        *dist_m = NET_UNREACHABLE_M;
        return;
    }
    road_m = d * c->detour;
    mps = c->speed_kmh / 3.6;
    *dist_m = round_sat(road_m);
    *time_s = round_sat(road_m / mps);
}
