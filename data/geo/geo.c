/*
 * geo.c - WGS84 degrees to and from an area's projected, metric CRS with PROJ.
 *
 * Each geo_proj owns a PJ_CONTEXT of its own, so two threads holding two
 * geo_proj objects never share PROJ state (a context is PROJ's unit of thread
 * confinement: error numbers, the database connection and caches live in it).
 * The context's logging is switched off: PROJ's messages would otherwise go
 * to stderr, and every failure is turned here into a GEO_E* code and, at
 * creation, into a message naming the EPSG code and PROJ's own reason.
 * Network access for grids is switched off too: results must not depend on
 * whether the machine is online.
 *
 * Axis order.  EPSG:4326 is (latitude, longitude) and many projected CRSs are
 * (northing, easting) - the JGD2011 plane rectangular zones of Japan among
 * them.  The transformation is passed through proj_normalize_for_visualization,
 * which makes PROJ's side (longitude, latitude) -> (easting, northing); the
 * functions below take (lat, lon) in that named order and swap once.
 *
 * Which CRSs are accepted: a projected CRS whose two axes are in metres and
 * point east and north (in either order).  Geographic CRSs (EPSG:4326 itself),
 * feet-based state planes and polar CRSs with "south along ..." axes are
 * refused with GEO_ECRS at creation, because every caller computes distances
 * in metres on x = easting, y = northing.
 *
 * proj.db: PROJ finds it through PROJ_DATA/PROJ_LIB or its compiled-in path
 * (Debian's proj-data puts it in /usr/share/proj).  If the context reports no
 * database, that folder is tried once explicitly before giving up with a
 * message that says what to install.
 *
 * Cost: creation queries the database (milliseconds); a point costs a few
 * hundred nanoseconds for a plain projection.
 */
#include "data/geo/geo.h"
#include "solver/errf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proj.h>

struct geo_proj {
    PJ_CONTEXT *ctx;
    PJ *pj; /* normalised: (lon, lat) degrees <-> (easting, northing) metres */
    int epsg;
};

static const char *const geo_msgs[] = {
#define GEO_ERR_MSG(name, code, msg) [-(code)] = msg,
    GEO_ERRNO_MAP(GEO_ERR_MSG)
#undef GEO_ERR_MSG
};

const char *geo_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && (size_t)-err < sizeof(geo_msgs) / sizeof(geo_msgs[0]) && geo_msgs[-err])
        return geo_msgs[-err];
    return "unknown error";
}

/* PROJ's reason for the context's last failure, never NULL. */
static const char *proj_reason(PJ_CONTEXT *ctx)
{
    int e = proj_context_errno(ctx);
    const char *s = e != 0 ? proj_context_errno_string(ctx, e) : NULL;

    return s != NULL ? s : "no reason given";
}

/* Makes sure the context can open proj.db; 0 or GEO_ECRS. */
static int find_database(PJ_CONTEXT *ctx, char *err, size_t err_len)
{
    static const char *const debian_dir[] = {"/usr/share/proj"};
    const char *db = proj_context_get_database_path(ctx);

    if (db != NULL && *db != '\0')
        return 0;
    proj_context_set_search_paths(ctx, 1, debian_dir);
    db = proj_context_get_database_path(ctx);
    if (db != NULL && *db != '\0')
        return 0;
    return slv_errf(err, err_len, GEO_ECRS,
                    "PROJ cannot find its database proj.db (install the proj-data package or "
                    "set PROJ_DATA to the folder holding proj.db)");
}

/* Both axes in metres, one pointing east and one north. */
static int check_target(PJ_CONTEXT *ctx, const PJ *crs, int epsg, char *err, size_t err_len)
{
    PJ *cs = NULL;
    int rc = 0, has_east = 0, has_north = 0;
    PJ_TYPE type = proj_get_type(crs);
    const char *name = proj_get_name(crs);

    if (name == NULL)
        name = "?";
    if (type != PJ_TYPE_PROJECTED_CRS) {
        rc = slv_errf(err, err_len, GEO_ECRS,
                      "EPSG:%d (%s) is not a projected CRS; give a metric one such as the UTM "
                      "zone of the area (EPSG:326zz) or a JGD2011 plane rectangular zone "
                      "(EPSG:6669..6687)",
                      epsg, name);
        goto out;
    }
    cs = proj_crs_get_coordinate_system(ctx, crs);
    if (cs == NULL || proj_cs_get_axis_count(ctx, cs) != 2) {
        rc = slv_errf(err, err_len, GEO_ECRS, "EPSG:%d (%s): not a two-axis coordinate system",
                      epsg, name);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const char *dir = NULL, *unit = NULL;
        double factor = 0;

        if (!proj_cs_get_axis_info(ctx, cs, i, NULL, NULL, &dir, &factor, &unit, NULL, NULL)) {
            rc = slv_errf(err, err_len, GEO_ECRS, "EPSG:%d: cannot read axis %d: %s", epsg, i,
                          proj_reason(ctx));
            goto out;
        }
        if (factor != 1.0) {
            rc = slv_errf(err, err_len, GEO_ECRS,
                          "EPSG:%d (%s) is in %s, not metres; choose a metric CRS", epsg, name,
                          unit != NULL ? unit : "another unit");
            goto out;
        }
        if (dir != NULL && strcmp(dir, "east") == 0)
            has_east = 1;
        else if (dir != NULL && strcmp(dir, "north") == 0)
            has_north = 1;
    }
    if (!has_east || !has_north)
        rc = slv_errf(err, err_len, GEO_ECRS,
                      "EPSG:%d (%s): axes do not point east and north (polar or south-oriented "
                      "CRS); choose another one",
                      epsg, name);
out:
    proj_destroy(cs);
    return rc;
}

int geo_proj_create(int epsg, geo_proj **out, char *err, size_t err_len)
{
    geo_proj *p = NULL;
    PJ *src = NULL, *dst = NULL, *raw = NULL;
    char code[32];
    int rc = 0;

    if (out == NULL)
        return slv_errf(err, err_len, GEO_EINVAL, "geo_proj_create: no output pointer");
    *out = NULL;
    if (epsg <= 0 || epsg > 999999) {
        rc = slv_errf(err, err_len, GEO_ECRS, "EPSG:%d is not a valid EPSG code", epsg);
        goto out;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        rc = slv_errf(err, err_len, GEO_ENOMEM, "out of memory");
        goto out;
    }
    p->epsg = epsg;
    p->ctx = proj_context_create();
    if (p->ctx == NULL) {
        rc = slv_errf(err, err_len, GEO_ENOMEM, "cannot create a PROJ context (out of memory)");
        goto out;
    }
    proj_log_level(p->ctx, PJ_LOG_NONE);
    proj_context_set_enable_network(p->ctx, 0);
    rc = find_database(p->ctx, err, err_len);
    if (rc < 0)
        goto out;

    src = proj_create(p->ctx, "EPSG:4326");
    if (src == NULL) {
        rc = slv_errf(err, err_len, GEO_ECRS, "PROJ cannot create EPSG:4326 (WGS 84): %s",
                      proj_reason(p->ctx));
        goto out;
    }
    snprintf(code, sizeof(code), "EPSG:%d", epsg);
    dst = proj_create(p->ctx, code);
    if (dst == NULL || !proj_is_crs(dst)) {
        rc = slv_errf(err, err_len, GEO_ECRS,
                      "%s is not a coordinate reference system known to PROJ: %s", code,
                      dst == NULL ? proj_reason(p->ctx) : "not a CRS");
        goto out;
    }
    rc = check_target(p->ctx, dst, epsg, err, err_len);
    if (rc < 0)
        goto out;
    raw = proj_create_crs_to_crs_from_pj(p->ctx, src, dst, NULL, NULL);
    if (raw == NULL) {
        rc = slv_errf(err, err_len, GEO_ECRS, "no transformation from WGS 84 to %s: %s", code,
                      proj_reason(p->ctx));
        goto out;
    }
    p->pj = proj_normalize_for_visualization(p->ctx, raw);
    if (p->pj == NULL) {
        rc = slv_errf(err, err_len, GEO_ECRS, "cannot normalise the axis order of WGS 84 -> %s: %s",
                      code, proj_reason(p->ctx));
        goto out;
    }
    *out = p;
    p = NULL;
out:
    proj_destroy(raw);
    proj_destroy(dst);
    proj_destroy(src);
    geo_proj_destroy(p);
    return rc;
}

void geo_proj_destroy(geo_proj *p)
{
    if (p == NULL)
        return;
    proj_destroy(p->pj);
    if (p->ctx != NULL)
        proj_context_destroy(p->ctx);
    free(p);
}

int geo_proj_epsg(const geo_proj *p)
{
    return p != NULL ? p->epsg : 0;
}

static int valid_latlon(double lat, double lon)
{
    return isfinite(lat) && isfinite(lon) && lat >= -90.0 && lat <= 90.0 && lon >= -180.0 &&
           lon <= 180.0;
}

/* PROJ marks failed points with HUGE_VAL; anything not finite is a failure. */
static int usable(double a, double b)
{
    return isfinite(a) && isfinite(b) && fabs(a) != HUGE_VAL && fabs(b) != HUGE_VAL;
}

int geo_forward(geo_proj *p, double lat, double lon, double *x, double *y)
{
    PJ_COORD c;

    if (p == NULL || x == NULL || y == NULL || !valid_latlon(lat, lon))
        return GEO_EINVAL;
    proj_errno_reset(p->pj);
    c = proj_coord(lon, lat, 0, 0);
    c = proj_trans(p->pj, PJ_FWD, c);
    if (proj_errno(p->pj) != 0 || !usable(c.xy.x, c.xy.y)) {
        proj_errno_reset(p->pj);
        return GEO_ETRANSFORM;
    }
    *x = c.xy.x;
    *y = c.xy.y;
    return 0;
}

int geo_inverse(geo_proj *p, double x, double y, double *lat, double *lon)
{
    PJ_COORD c;

    if (p == NULL || lat == NULL || lon == NULL || !isfinite(x) || !isfinite(y))
        return GEO_EINVAL;
    proj_errno_reset(p->pj);
    c = proj_coord(x, y, 0, 0);
    c = proj_trans(p->pj, PJ_INV, c);
    if (proj_errno(p->pj) != 0 || !usable(c.lp.lam, c.lp.phi) ||
        !valid_latlon(c.lp.phi, c.lp.lam)) {
        proj_errno_reset(p->pj);
        return GEO_ETRANSFORM;
    }
    *lon = c.lp.lam;
    *lat = c.lp.phi;
    return 0;
}

int geo_forward_n(geo_proj *p, size_t n, const double *lat, const double *lon, double *x, double *y)
{
    size_t done;

    if (p == NULL || (n > 0 && (lat == NULL || lon == NULL || x == NULL || y == NULL)))
        return GEO_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!valid_latlon(lat[i], lon[i]))
            return GEO_EINVAL;
        x[i] = lon[i];
        y[i] = lat[i];
    }
    if (n == 0)
        return 0;
    proj_errno_reset(p->pj);
    done = proj_trans_generic(p->pj, PJ_FWD, x, sizeof(double), n, y, sizeof(double), n, NULL, 0, 0,
                              NULL, 0, 0);
    if (done != n || proj_errno(p->pj) != 0) {
        proj_errno_reset(p->pj);
        return GEO_ETRANSFORM;
    }
    for (size_t i = 0; i < n; i++)
        if (!usable(x[i], y[i]))
            return GEO_ETRANSFORM;
    return 0;
}

int geo_utm_epsg(double lat, double lon)
{
    int zone;

    if (!valid_latlon(lat, lon))
        return 0;
    if (lon >= 180.0)
        lon = -180.0; /* 180 E is 180 W: zone 1 */
    zone = (int)floor((lon + 180.0) / 6.0) + 1;
    if (zone > 60)
        zone = 60;
    /* The grid's exceptions: south-west Norway and Svalbard. */
    if (lat >= 56.0 && lat < 64.0 && lon >= 3.0 && lon < 12.0)
        zone = 32;
    if (lat >= 72.0 && lat <= 84.0 && lon >= 0.0 && lon < 42.0) {
        if (lon < 9.0)
            zone = 31;
        else if (lon < 21.0)
            zone = 33;
        else if (lon < 33.0)
            zone = 35;
        else
            zone = 37;
    }
    return (lat >= 0.0 ? 32600 : 32700) + zone;
}
