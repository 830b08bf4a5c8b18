/*
 * geo.h - coordinate transformations with PROJ: WGS84 degrees to and from an
 * area's metric CRS, given as an EPSG code.
 *
 * PROJ's EPSG:4326 takes (latitude, longitude) and many projected CRSs (the
 * JGD2011 plane rectangular zones among them) give (northing, easting); this
 * module normalises both sides with proj_normalize_for_visualization, so its
 * callers always pass (lat, lon) explicitly and always get x = easting,
 * y = northing in metres.
 *
 * A geo_proj wraps one PJ and its own PJ_CONTEXT, so each thread may own one;
 * one geo_proj must not be used by two threads at once.
 */
#ifndef NORIAI_GEO_H
#define NORIAI_GEO_H

#include <stddef.h>

#define GEO_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(CRS, -3, "unknown or unusable coordinate reference system")                                  \
    X(TRANSFORM, -4, "coordinate transformation failed")

enum {
#define GEO_ERR_ENUM(name, code, msg) GEO_E##name = (code),
    GEO_ERRNO_MAP(GEO_ERR_ENUM)
#undef GEO_ERR_ENUM
};

const char *geo_strerror(int err);

typedef struct geo_proj geo_proj;

/* A transformation WGS84 <-> EPSG:epsg (a projected, metric CRS). */
int geo_proj_create(int epsg, geo_proj **out, char *err, size_t err_len);
void geo_proj_destroy(geo_proj *p);
int geo_proj_epsg(const geo_proj *p);

/* 0, GEO_EINVAL (coordinates out of range, not finite) or GEO_ETRANSFORM. */
int geo_forward(geo_proj *p, double lat, double lon, double *x, double *y);
int geo_inverse(geo_proj *p, double x, double y, double *lat, double *lon);
/* Many points in place: in lat[]/lon[], out x[]/y[] (arrays may not alias).
 * On failure x[]/y[] hold nothing usable. */
int geo_forward_n(geo_proj *p, size_t n, const double *lat, const double *lon, double *x,
                  double *y);

/* EPSG code of the WGS 84 UTM zone holding (lat, lon): 326zz north, 327zz south,
 * with the Norway and Svalbard exceptions; 0 if lat/lon are not valid degrees. */
int geo_utm_epsg(double lat, double lon);

#endif
