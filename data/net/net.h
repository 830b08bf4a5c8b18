/*
 * net.h - the road network: a directed graph of road nodes with travel times
 * and lengths, built from OpenStreetMap or generated, and what is computed on
 * it (nearest node, shortest paths, matrices).
 *
 * Storage is compressed sparse rows: the out-edges of node v are
 * first_out[v] .. first_out[v+1]-1, each with a head, a length in
 * millimetres and a travel time in milliseconds (integers, so shortest paths
 * are exact and reproducible; matrices round to whole seconds and metres).
 * Node coordinates are kept both in WGS84 degrees and in the area's metric
 * CRS (x = easting, y = northing, metres), which snapping and geometry use.
 *
 * Ownership: a net_graph owns all its arrays; net_graph_destroy frees them.
 * A graph is immutable once built and may be read by several threads.
 */
#ifndef NORIAI_NET_H
#define NORIAI_NET_H

#include <stddef.h>
#include <stdint.h>

#define NET_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(FORMAT, -4, "malformed input")                                                               \
    X(EMPTY, -5, "no usable road network")                                                         \
    X(WRITE, -6, "cannot write file")                                                              \
    X(PROJ, -7, "coordinate transformation failed")                                                \
    X(UNREACHABLE, -8, "no route")

enum {
#define NET_ERR_ENUM(name, code, msg) NET_E##name = (code),
    NET_ERRNO_MAP(NET_ERR_ENUM)
#undef NET_ERR_ENUM
};

const char *net_strerror(int err);

/* Road classes, in OSM's order of importance. */
typedef enum net_class {
    NET_MOTORWAY = 0,
    NET_TRUNK,
    NET_PRIMARY,
    NET_SECONDARY,
    NET_TERTIARY,
    NET_MOTORWAY_LINK,
    NET_TRUNK_LINK,
    NET_PRIMARY_LINK,
    NET_SECONDARY_LINK,
    NET_TERTIARY_LINK,
    NET_UNCLASSIFIED,
    NET_RESIDENTIAL,
    NET_LIVING_STREET,
    NET_SERVICE,
    NET_CLASS_COUNT
} net_class;

const char *net_class_name(net_class c); /* "motorway", ... */
int net_class_parse(const char *highway); /* net_class or -1 if not drivable */

/* Speeds used where a way has no usable maxspeed; km/h per class.
 * factor scales maxspeed values (vans rarely reach the limit). */
typedef struct net_speeds {
    double kmh[NET_CLASS_COUNT];
    double maxspeed_factor; /* default 0.9 */
    int use_service;        /* include highway=service (default 1) */
} net_speeds;

void net_speeds_default(net_speeds *s);
/* Reads overrides from a JSON object {"residential": 25, ..., "maxspeed_factor": 0.9,
 * "use_service": true}; unknown keys are an error. */
int net_speeds_parse_json(net_speeds *s, const char *json_text, char *err, size_t err_len);

typedef struct net_graph {
    int32_t n_nodes, n_edges;
    double *lat, *lon; /* degrees */
    double *x, *y;     /* metres in the graph's CRS */
    int64_t *osm_id;   /* OSM node id, or the generator's id */
    int32_t *first_out; /* n_nodes + 1 */
    int32_t *head;      /* n_edges */
    uint32_t *len_mm;   /* n_edges */
    uint32_t *time_ms;  /* n_edges */
    uint8_t *cls;       /* n_edges, net_class */
    int epsg;           /* CRS of x, y */
    double max_speed_mps; /* fastest edge speed (len/time); travel time >= dist / this */
} net_graph;

void net_graph_destroy(net_graph *g);

/* A graph with every array allocated for n_nodes and n_edges (x, y, cls
 * included) and zero-filled, epsg 0, max_speed_mps 0: for builders, which
 * fill it in.  0, NET_EINVAL (negative sizes) or NET_ENOMEM. */
int net_graph_create(int32_t n_nodes, int32_t n_edges, net_graph **out);

/* Checks the invariants every graph keeps: first_out starts at 0, never
 * decreases and ends at n_edges; heads are nodes; classes are known;
 * coordinates are finite and on the globe; an edge with a length has a
 * positive time, and no edge is faster than max_speed_mps.  0 or
 * NET_EFORMAT with the first violation in err. */
int net_graph_check(const net_graph *g, char *err, size_t err_len);

/* Saves/loads a graph in noriai's binary format (little-endian, versioned,
 * checked: a damaged file gives NET_EFORMAT, never a crash). */
int net_graph_save(const net_graph *g, const char *path, char *err, size_t err_len);
int net_graph_load(const char *path, net_graph **out, char *err, size_t err_len);

/* 64-bit FNV-1a hash of the graph's topology, lengths and times. */
uint64_t net_graph_hash(const net_graph *g);

/* ---- building from OpenStreetMap ---- */

typedef struct net_osm_stop {
    int64_t osm_id;
    double lat, lon;
    char *name;     /* name tag, or NULL; owned */
    char *name_en;  /* name:en, or NULL; owned */
} net_osm_stop;

typedef struct net_osm_result {
    net_graph *graph;        /* largest strongly connected component */
    int64_t nodes_read, ways_read, relations_read;
    int64_t drivable_ways;   /* ways with a drivable highway class (service only with
                                use_service), before the checks below */
    int32_t nodes_before_scc, edges_before_scc;
    double bbox[4];          /* min_lon, min_lat, max_lon, max_lat of the graph */
    int n_bus_stops;
    net_osm_stop *bus_stops; /* highway=bus_stop nodes (and public_transport=platform
                                with bus=yes), in file order; owned */
    /* Of drivable_ways, left out: access=no/private/... for motor vehicles (or
     * oneway=reversible), area=yes, fewer than two nodes. */
    int64_t ways_no_access, ways_area, ways_short;
    /* Way segments dropped: an end node missing from the file; implausibly
     * long (over 1,000 km, a corrupt coordinate). */
    int64_t segments_missing, segments_too_long;
} net_osm_result;

typedef struct net_osm_opts {
    net_speeds speeds;
    int epsg;             /* 0: UTM zone of the data's centre */
    int want_bus_stops;
    int verbose;          /* progress on stderr for steps over a second */
} net_osm_opts;

void net_osm_opts_default(net_osm_opts *o);
/* Reads a .osm.pbf and builds the road graph.  Graph nodes are way end points
 * and junctions plus the intermediate nodes that carry geometry (all nodes of
 * drivable ways are kept, so snapping is to real road points). */
int net_build_from_osm(const char *pbf_path, const net_osm_opts *o, net_osm_result *out,
                       char *err, size_t err_len);
void net_osm_result_cleanup(net_osm_result *r);

/* Keeps the largest strongly connected component (ties: the one found
 * first); renumbers nodes keeping their order, recomputes max_speed_mps.
 * Returns 0 and replaces *g, or NET_EEMPTY (no nodes) / NET_ENOMEM with *g
 * unchanged. */
int net_graph_keep_largest_scc(net_graph **g);

/* ---- nearest node ---- */

typedef struct net_index net_index;
/* Uniform grid over x, y; cell_m 0 picks a size from the node density. */
int net_index_create(const net_graph *g, double cell_m, net_index **out);
void net_index_destroy(net_index *ix);
/* Nearest node to (x, y) in the graph's CRS; *dist_m OUT.  -1 if graph empty. */
int32_t net_index_nearest(const net_index *ix, double x, double y, double *dist_m);

/* ---- shortest paths ---- */

/* One-to-all Dijkstra (binary heap) from src on the forward graph.
 * time_ms[v] and len_mm[v] of the fastest path (UINT32_MAX where unreachable;
 * len is that of the fastest path).  Work arrays are allocated per call. */
int net_dijkstra(const net_graph *g, int32_t src, uint32_t *time_ms, uint32_t *len_mm);

/* Fastest route between two nodes; path (OUT, may be NULL) gets the node list,
 * malloc'd, freed by the caller. */
int net_route(const net_graph *g, int32_t from, int32_t to, uint32_t *time_ms, uint32_t *len_mm,
              int32_t **path, int32_t *path_len);

/* Matrices between n given nodes: time_s[i*n+j], dist_m[i*n+j] (rounded).
 * Runs Dijkstra from every source on `threads` threads (0 = all cores).
 * Unreachable pairs get NET_UNREACHABLE_S / _M. */
#define NET_UNREACHABLE_S INT32_MAX
#define NET_UNREACHABLE_M INT32_MAX
typedef void (*net_progress_fn)(void *ud, int done, int total);
int net_matrix(const net_graph *g, const int32_t *nodes, int n, int threads, int32_t *time_s,
               int32_t *dist_m, net_progress_fn progress, void *progress_ud);

/* ---- crow-fly model (areas with no road network) ---- */

typedef struct net_crowfly {
    double detour;    /* road distance / great-circle distance, default 1.3 */
    double speed_kmh; /* default 25 */
} net_crowfly;

void net_crowfly_default(net_crowfly *c);
double net_haversine_m(double lat1, double lon1, double lat2, double lon2);
/* Travel time (s) and distance (m) between two points, both rounded. */
void net_crowfly_travel(const net_crowfly *c, double lat1, double lon1, double lat2, double lon2,
                        int32_t *time_s, int32_t *dist_m);

/* ---- matrix files and the matrix cache (matrix_cache.c) ----
 *
 * A matrix file holds time_s and dist_m for n nodes with the key they were
 * computed for: "NORIAIMX", version, n, key, both matrices as little-endian
 * int32 rows, and an FNV-1a checksum of everything before it.  Reading checks
 * the size (exactly what n implies), magic, version, n, key and checksum
 * before anything is trusted. */
#define NET_MATRIX_VERSION 1

/* Key of a matrix: the graph (net_graph_hash: topology, lengths and times,
 * hence the speed table), the node list in order, and a free-form tag
 * (may be NULL) for anything else the caller wants to distinguish. */
uint64_t net_matrix_key(const net_graph *g, const int32_t *nodes, int n, const char *tag);

/* Size in bytes of the matrix file for n nodes (0 if n is out of range), so
 * that a reader can check a file before allocating n^2 entries. */
uint64_t net_matrix_file_bytes(int n);

int net_matrix_write(const char *path, uint64_t key, int n, const int32_t *time_s,
                     const int32_t *dist_m, char *err, size_t err_len);
/* Reads a matrix written for exactly (key, n) into time_s/dist_m (n*n each).
 * NET_EOPEN if the file cannot be read, NET_EFORMAT (and a message saying
 * which check failed) if it is not such a matrix. */
int net_matrix_read(const char *path, uint64_t key, int n, int32_t *time_s, int32_t *dist_m,
                    char *err, size_t err_len);

typedef enum net_cache_status {
    NET_CACHE_HIT = 0,    /* read from the cache */
    NET_CACHE_STORED,     /* computed and stored */
    NET_CACHE_REPLACED,   /* the cached file was damaged: computed and stored again */
    NET_CACHE_NOT_STORED, /* computed, but could not be stored (message in err) */
} net_cache_status;

/* net_matrix through a cache folder (created if missing; NULL: no cache):
 * <cache_dir>/<16 hex digits of the key>.matrix.  A file that fails any
 * check is never trusted: the matrix is computed and the file replaced.
 * status (OUT, may be NULL) says what happened. */
int net_matrix_cached(const net_graph *g, const int32_t *nodes, int n, int threads,
                      const char *cache_dir, const char *tag, int32_t *time_s, int32_t *dist_m,
                      net_progress_fn progress, void *progress_ud, net_cache_status *status,
                      char *err, size_t err_len);

#endif
