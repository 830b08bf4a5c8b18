/*
 * area.h - a service area: the stops vans may serve, the points of interest
 * and residential zones demand is drawn from, and how long it takes to drive
 * between stops.
 *
 * An area comes from a bundle folder written by `noriai area build|synth`:
 *
 *   area.json    manifest: name, CRS (EPSG), bounding box, travel model
 *                ("road" or "crowfly"), source files with their SHA-256,
 *                attribution/licence, counts
 *   graph.bin    road graph (net_graph_save), absent for crow-fly areas
 *   stops.csv    id,name,name_en,lat,lon,x,y,node,snap_m,far,kind
 *   pois.csv     name,name_en,kind,lat,lon,stop,weight
 *   zones.csv    name,name_en,lat,lon,radius_m,weight   (residential zones)
 *   matrix.bin   time_s and dist_m between all stops, row-major, with the
 *                hash of (graph, stops' nodes, speeds) it was computed from
 *                (net_matrix_write's format, key net_matrix_key(graph,
 *                stop nodes, AREA_MATRIX_TAG))
 *
 * The CSV files are RFC 4180 (fields quoted when they hold a comma, a quote
 * or a line break), UTF-8, LF line ends, with the header shown.  Numbers are
 * written with fixed precision (degrees 1e-7, metres 1e-3), so saving a
 * loaded bundle again gives the same bytes.
 *
 * Locations in an area are stop indices 0..n_stops-1 (depots are stops of
 * kind "depot").  With a road network the matrix answers travel between
 * stops; without one (crow-fly areas) travel is computed from coordinates.
 *
 * Ownership: an area owns everything it points to; area_destroy frees it.
 * Loaded areas are immutable and safe to read from several threads.
 */
#ifndef NORIAI_AREA_H
#define NORIAI_AREA_H

#include <stddef.h>
#include <stdint.h>

#include "data/net/net.h"

#define AREA_ERRNO_MAP(X)                                                                          \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(FORMAT, -4, "malformed input")                                                               \
    X(WRITE, -5, "cannot write file")                                                              \
    X(NET, -6, "road network error")                                                               \
    X(GEO, -7, "coordinate transformation error")                                                  \
    X(EMPTY, -8, "nothing usable in input")

enum {
#define AREA_ERR_ENUM(name, code, msg) AREA_E##name = (code),
    AREA_ERRNO_MAP(AREA_ERR_ENUM)
#undef AREA_ERR_ENUM
};

const char *area_strerror(int err);

/* Tag of an area's matrix key (net_matrix_key); bump when the meaning of the
 * stored matrix changes. */
#define AREA_MATRIX_TAG "noriai-area-1"
/* Bundles with more stops are refused (the matrix alone would pass 3 GB). */
#define AREA_MAX_STOPS 20000

/* Stops further than this from the nearest road node are flagged `far`. */
#define AREA_FAR_SNAP_M 250.0

typedef struct area_stop {
    char *id;       /* as in the source (GTFS stop_id, CSV id, "osm:<id>", "s<n>") */
    char *name;     /* UTF-8, may be "" */
    char *name_en;  /* English or romanised name, or NULL (readers leave it NULL) */
    double lat, lon;
    double x, y;    /* metres in the area's CRS */
    int32_t node;   /* snapped road node, -1 without a road network */
    double snap_m;  /* distance to that node */
    int far;        /* snap_m > AREA_FAR_SNAP_M */
    char kind[16];  /* "stop", "depot" */
} area_stop;

typedef struct area_poi {
    char *name;     /* Japanese name for Japanese areas (UTF-8) */
    char *name_en;
    char kind[16];  /* "hospital", "clinic", "supermarket", "station", "city_hall", ... */
    double lat, lon;
    int32_t stop;   /* nearest stop index */
    double weight;  /* relative attraction for demand */
} area_poi;

typedef struct area_zone {
    char *name;
    char *name_en;  /* may be NULL */
    double lat, lon;
    double radius_m;
    double weight;  /* relative population */
} area_zone;

typedef enum area_model { AREA_ROAD = 0, AREA_CROWFLY = 1 } area_model;

typedef struct area {
    char *name;
    char *attribution; /* e.g. "© OpenStreetMap contributors (ODbL 1.0)", may be "" */
    char *license;     /* SPDX-style name of the data's licence ("ODbL-1.0"), may be "" */
    int epsg;
    double bbox[4];    /* min_lon, min_lat, max_lon, max_lat */
    area_model model;
    net_crowfly crowfly; /* used when model == AREA_CROWFLY */
    net_graph *graph;    /* NULL for crow-fly areas */
    int n_stops;
    area_stop *stops;
    int n_pois;
    area_poi *pois;
    int n_zones;
    area_zone *zones;
    int32_t *time_s;     /* n_stops * n_stops, NULL for crow-fly areas */
    int32_t *dist_m;
} area;

void area_destroy(area *a);

/* Loads a bundle folder (checks the manifest, the matrix hash and sizes). */
int area_load(const char *dir, area **out, char *err, size_t err_len);
/* Writes a bundle folder (created if missing). sources: n_sources (path, role)
 * pairs recorded with their SHA-256 in area.json. */
int area_save(const area *a, const char *dir, const char *const *sources, int n_sources,
              char *err, size_t err_len);

/* Travel between two stops of the area, seconds and metres. */
void area_travel(const area *a, int from_stop, int to_stop, int32_t *time_s, int32_t *dist_m);

/* Nearest stop to a point; *dist_m OUT (crow-fly metres).  -1 if no stops. */
int area_nearest_stop(const area *a, double lat, double lon, double *dist_m);

/* ---- stop import ---- */

/* GTFS / GTFS-JP stops.txt from a folder or a .zip (location_type 0 or empty
 * only; parent stations are skipped).  UTF-8 BOM, quoted fields, CRLF handled. */
int area_stops_read_gtfs(const char *path, area_stop **stops, int *n, char *err, size_t err_len);
/* CSV with a header naming id,name,lat,lon (any order, extra columns ignored). */
int area_stops_read_csv(const char *path, area_stop **stops, int *n, char *err, size_t err_len);
void area_stops_free(area_stop *stops, int n);

/* ---- building ---- */

typedef struct area_build_opts {
    const char *osm_path;   /* .osm.pbf */
    const char *stops_path; /* GTFS folder/zip or CSV, or NULL */
    int osm_bus_stops;      /* take stops from highway=bus_stop nodes */
    int epsg;               /* 0: UTM zone of the data (JGD2011 zones work for Japan) */
    net_speeds speeds;
    int threads;            /* 0: all cores */
    const char *cache_dir;  /* matrix cache, NULL: none */
    int verbose;            /* progress on stderr */
} area_build_opts;

void area_build_opts_default(area_build_opts *o);
int area_build(const area_build_opts *o, area **out, char *err, size_t err_len);

/* ---- synthetic towns ---- */

typedef enum area_synth_size { AREA_SYNTH_SMALL = 0, AREA_SYNTH_TOWN, AREA_SYNTH_CITY } area_synth_size;

/* A deterministic town from (seed, size): grid-and-arterial roads with some
 * one-way streets, 50 (small) / 150 (town) / 500 (city) stops, named POIs
 * (hospital, clinics, supermarkets, station, city hall, ...) and residential
 * zones, placed in Japan (JGD2011 plane rectangular CS, EPSG:6677) with
 * Japanese and English names. */
int area_synth(uint64_t seed, area_synth_size size, area **out, char *err, size_t err_len);

#endif
