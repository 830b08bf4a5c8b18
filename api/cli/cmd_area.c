/*
 * cmd_area.c - `noriai area ...`: service areas on the command line.
 *
 *   area build --osm FILE.osm.pbf [--stops FILE | --osm-bus-stops] --out DIR
 *                                     an area bundle from real data (area_build)
 *   area synth [--seed N] [--size small|town|city] --out DIR
 *                                     a synthetic town (area_synth)
 *   area info DIR [--json]            what a bundle holds
 *   area route DIR --from LAT,LON --to LAT,LON [--json]
 *                                     fastest route between two points
 *   area bench-matrix (DIR | --osm FILE) [--nodes N | --stops] [--threads T]
 *                                     developer tool: times net_matrix on N
 *                                     random road nodes or a bundle's stops
 *                                     (scripts/bench-area.sh)
 *
 * `route` snaps both points to the nearest road node (net_index, in the
 * area's CRS) and runs net_route; the answer is the road time and distance
 * between the snapped nodes, with how far each point was from its node.  A
 * crow-fly area (no road graph) answers with the crow-fly model instead.
 *
 * Exit statuses as everywhere (cli.h): 2 for usage errors and unreadable or
 * damaged input, 1 when no route exists or the bundle cannot be written.
 */
#include "api/cli/cli.h"
#include "solver/rng.h"
#include "data/area/area.h"
#include "data/geo/geo.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SPEEDS_FILE_BYTES (1 << 20)

void cli_usage_area(FILE *f)
{
    fprintf(f,
            "usage: noriai area <build|synth|info|route> ...\n"
            "\n"
            "  noriai area build --osm FILE.osm.pbf [--stops FILE | --osm-bus-stops]\n"
            "                    [--epsg CODE] [--speeds FILE.json] [--no-service]\n"
            "                    [--cache DIR] [--threads N] [--quiet] --out DIR\n"
            "      Road graph from OpenStreetMap, stops from a GTFS feed (folder, .zip or\n"
            "      stops.txt) or a CSV (id,name,lat,lon), or the extract's bus stops; without\n"
            "      either, stops on a 400 m grid of the roads.  Stops are snapped to the\n"
            "      nearest road node (flagged far beyond %.0f m) and the travel-time matrix\n"
            "      between them computed on all cores (cached in --cache DIR).  --epsg picks\n"
            "      the metric CRS (default: the data's UTM zone; e.g. 6677 for Tokyo);\n"
            "      --speeds overrides the km/h per road class, e.g. {\"residential\": 20}.\n"
            "\n"
            "  noriai area synth [--seed N] [--size small|town|city] --out DIR\n"
            "      A deterministic synthetic Japanese town: small 3x3 km / 50 stops,\n"
            "      town 5x5 km / 150 stops (default), city 10x10 km / 500 stops.\n"
            "\n"
            "  noriai area info DIR [--json]\n"
            "      Nodes, edges, stops, far stops, POIs, zones, bounding box, CRS, matrix.\n"
            "\n"
            "  noriai area route DIR --from LAT,LON --to LAT,LON [--json]\n"
            "      Travel time (s) and distance (m) of the fastest route between the road\n"
            "      nodes nearest the two points, and those nodes.\n"
            "\n"
            "  noriai area bench-matrix (DIR | --osm FILE.osm.pbf) [--nodes N | --stops]\n"
            "                    [--seed N] [--threads N] [--repeat N]\n"
            "      Developer tool: times the matrix between N random road nodes (default\n"
            "      1000, 2 threads, 3 runs) or between a bundle's stops.\n",
            AREA_FAR_SNAP_M);
}

static int usage_err(const char *sub, const char *fmt, const char *arg)
{
    fprintf(stderr, "noriai area%s%s: ", sub ? " " : "", sub ? sub : "");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return CLI_EUSAGE;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* "LAT,LON" in degrees. */
static int parse_point(const char *s, double *lat, double *lon)
{
    char *end;

    errno = 0;
    *lat = strtod(s, &end);
    if (end == s || *end != ',' || errno != 0)
        return -1;
    s = end + 1;
    *lon = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0)
        return -1;
    return isfinite(*lat) && isfinite(*lon) && fabs(*lat) <= 90 && fabs(*lon) <= 180 ? 0 : -1;
}

static char *read_small_file(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;

    if (f == NULL) {
        snprintf(err, err_len, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(MAX_SPEEDS_FILE_BYTES + 1);
    if (buf == NULL) {
        snprintf(err, err_len, "%s: out of memory", path);
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, MAX_SPEEDS_FILE_BYTES + 1, f);
    if (ferror(f) || n > MAX_SPEEDS_FILE_BYTES) {
        snprintf(err, err_len, "%s: %s", path, ferror(f) ? "read error" : "larger than 1 MiB");
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---------------------------------------------------------------------- */
/* build                                                                   */

static int area_build_cmd(int argc, char **argv)
{
    const char *out = NULL, *speeds = NULL, *v;
    area_build_opts o;
    area *a = NULL;
    char err[2048];
    const char *sources[4];
    int i = 1, m, rc, n_sources = 0, far = 0;
    long num;

    area_build_opts_default(&o);
    o.verbose = 1;
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_usage_area(stdout);
            return 0;
        } else if (strcmp(arg, "--osm-bus-stops") == 0) {
            o.osm_bus_stops = 1;
            i++;
        } else if (strcmp(arg, "--no-service") == 0) {
            o.speeds.use_service = 0;
            i++;
        } else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
            o.verbose = 0;
            i++;
        } else if ((m = cli_opt_value(argc, argv, &i, "--osm", &o.osm_path)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--stops", &o.stops_path)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--out", &out)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--cache", &o.cache_dir)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--speeds", &speeds)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--epsg", &v)) != 0) {
            if (m < 0)
                return m;
            if (parse_int(v, 1024, 999999, &num) < 0)
                return usage_err("build", "--epsg \"%s\": expected an EPSG code such as 6677", v);
            o.epsg = (int)num;
        } else if ((m = cli_opt_value(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0)
                return m;
            if (parse_int(v, 0, 256, &num) < 0)
                return usage_err("build", "--threads \"%s\": expected 0 (all cores) to 256", v);
            o.threads = (int)num;
        } else {
            return usage_err("build", "unknown option \"%s\"", arg);
        }
    }
    if (o.osm_path == NULL)
        return usage_err("build", "%s", "no --osm FILE.osm.pbf given");
    if (out == NULL)
        return usage_err("build", "%s", "no --out DIR given");
    if (o.stops_path != NULL && o.osm_bus_stops)
        return usage_err("build", "%s", "--stops and --osm-bus-stops exclude each other");
    if (speeds != NULL) {
        char *text = read_small_file(speeds, err, sizeof(err));
        if (text == NULL) {
            fprintf(stderr, "noriai area build: %s\n", err);
            return CLI_EINPUT;
        }
        rc = net_speeds_parse_json(&o.speeds, text, err, sizeof(err));
        free(text);
        if (rc < 0) {
            fprintf(stderr, "noriai area build: %s: %s\n", speeds, err);
            return CLI_EINPUT;
        }
    }
    if (area_build(&o, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai area build: %s\n", err);
        return CLI_EINPUT;
    }
    sources[n_sources++] = o.osm_path;
    sources[n_sources++] = "osm";
    if (o.stops_path != NULL) {
        sources[n_sources++] = o.stops_path;
        sources[n_sources++] = "stops";
    }
    rc = area_save(a, out, sources, n_sources / 2, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "noriai area build: %s\n", err);
        area_destroy(a);
        return CLI_EOUTPUT;
    }
    for (int k = 0; k < a->n_stops; k++)
        far += a->stops[k].far;
    printf("%s: %s, %d nodes, %d edges, %d stops (%d far), matrix %d x %d, EPSG:%d\n", out, a->name,
           a->graph->n_nodes, a->graph->n_edges, a->n_stops, far, a->n_stops, a->n_stops, a->epsg);
    area_destroy(a);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* synth                                                                   */

static int area_synth_cmd(int argc, char **argv)
{
    const char *out = NULL, *v;
    area_synth_size size = AREA_SYNTH_TOWN;
    uint64_t seed = 1;
    area *a = NULL;
    char err[1024], *end;
    int i = 1, m, rc;

    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_usage_area(stdout);
            return 0;
        } else if ((m = cli_opt_value(argc, argv, &i, "--out", &out)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--seed", &v)) != 0) {
            if (m < 0)
                return m;
            errno = 0;
            seed = strtoull(v, &end, 10);
            if (end == v || *end != '\0' || errno != 0 || v[0] == '-')
                return usage_err("synth", "--seed \"%s\": expected a non-negative integer", v);
        } else if ((m = cli_opt_value(argc, argv, &i, "--size", &v)) != 0) {
            if (m < 0)
                return m;
            if (strcmp(v, "small") == 0)
                size = AREA_SYNTH_SMALL;
            else if (strcmp(v, "town") == 0)
                size = AREA_SYNTH_TOWN;
            else if (strcmp(v, "city") == 0)
                size = AREA_SYNTH_CITY;
            else
                return usage_err("synth", "--size \"%s\": expected small, town or city", v);
        } else {
            return usage_err("synth", "unknown option \"%s\"", arg);
        }
    }
    if (out == NULL)
        return usage_err("synth", "%s", "no --out DIR given");
    if (area_synth(seed, size, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai area synth: %s\n", err);
        return CLI_ESOLVE;
    }
    rc = area_save(a, out, NULL, 0, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "noriai area synth: %s\n", err);
        area_destroy(a);
        return CLI_EOUTPUT;
    }
    printf("%s: %s, %d nodes, %d edges, %d stops, %d POIs, %d zones\n", out, a->name,
           a->graph->n_nodes, a->graph->n_edges, a->n_stops, a->n_pois, a->n_zones);
    area_destroy(a);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* info                                                                    */

/* Positional DIR plus flags; returns 0 or CLI_EUSAGE. */
static int load_dir(const char *sub, const char *dir, area **a)
{
    char err[2048];

    if (dir == NULL)
        return usage_err(sub, "%s", "no bundle folder given");
    if (area_load(dir, a, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai area %s: %s\n", sub, err);
        return CLI_EINPUT;
    }
    return 0;
}

static json_t *info_json(const area *a, const char *dir)
{
    json_t *o = json_object(), *kinds = json_object(), *src = NULL, *man;
    char crs[32], path[4200];
    int far = 0, depots = 0;

    if (o == NULL || kinds == NULL) {
        json_decref(o);
        json_decref(kinds);
        return NULL;
    }
    for (int i = 0; i < a->n_stops; i++) {
        far += a->stops[i].far;
        depots += strcmp(a->stops[i].kind, "depot") == 0;
    }
    for (int i = 0; i < a->n_pois; i++) {
        json_t *c = json_object_get(kinds, a->pois[i].kind);
        json_object_set_new(kinds, a->pois[i].kind,
                            json_integer(c != NULL ? json_integer_value(c) + 1 : 1));
    }
    snprintf(crs, sizeof(crs), "EPSG:%d", a->epsg);
    snprintf(path, sizeof(path), "%s/area.json", dir);
    man = json_load_file(path, 0, NULL);
    if (man != NULL && json_is_array(json_object_get(man, "sources")))
        src = json_incref(json_object_get(man, "sources"));
    json_decref(man);
    json_object_set_new(o, "name", json_string(a->name));
    json_object_set_new(o, "crs", json_string(crs));
    json_object_set_new(o, "epsg", json_integer(a->epsg));
    json_object_set_new(o, "model", json_string(a->model == AREA_ROAD ? "road" : "crowfly"));
    json_object_set_new(o, "bbox",
                        json_pack("[f,f,f,f]", a->bbox[0], a->bbox[1], a->bbox[2], a->bbox[3]));
    json_object_set_new(o, "nodes", json_integer(a->graph ? a->graph->n_nodes : 0));
    json_object_set_new(o, "edges", json_integer(a->graph ? a->graph->n_edges : 0));
    json_object_set_new(o, "stops", json_integer(a->n_stops));
    json_object_set_new(o, "far_stops", json_integer(far));
    json_object_set_new(o, "depots", json_integer(depots));
    json_object_set_new(o, "pois", json_integer(a->n_pois));
    json_object_set_new(o, "poi_kinds", kinds);
    json_object_set_new(o, "zones", json_integer(a->n_zones));
    json_object_set_new(o, "matrix_n", json_integer(a->time_s ? a->n_stops : 0));
    if (a->model == AREA_CROWFLY)
        json_object_set_new(o, "crowfly",
                            json_pack("{s:f, s:f}", "detour", a->crowfly.detour, "speed_kmh",
                                      a->crowfly.speed_kmh));
    json_object_set_new(o, "attribution", json_string(a->attribution));
    json_object_set_new(o, "license", json_string(a->license));
    json_object_set_new(o, "sources", src != NULL ? src : json_array());
    return o;
}

static void print_info(const area *a, json_t *j)
{
    json_t *kinds = json_object_get(j, "poi_kinds"), *src = json_object_get(j, "sources"), *v;
    const char *k;
    size_t idx;

    printf("name         %s\n", a->name);
    printf("CRS          EPSG:%d\n", a->epsg);
    printf("model        %s\n", a->model == AREA_ROAD ? "road network" : "crow-fly");
    if (a->model == AREA_CROWFLY)
        printf("crow-fly     detour %.2f, %.1f km/h\n", a->crowfly.detour, a->crowfly.speed_kmh);
    printf("bbox         %.7f,%.7f .. %.7f,%.7f (lon,lat)\n", a->bbox[0], a->bbox[1], a->bbox[2],
           a->bbox[3]);
    printf("nodes        %lld\n", (long long)json_integer_value(json_object_get(j, "nodes")));
    printf("edges        %lld\n", (long long)json_integer_value(json_object_get(j, "edges")));
    printf("stops        %d (far from a road: %lld, depots: %lld)\n", a->n_stops,
           (long long)json_integer_value(json_object_get(j, "far_stops")),
           (long long)json_integer_value(json_object_get(j, "depots")));
    printf("POIs         %d", a->n_pois);
    idx = 0;
    json_object_foreach(kinds, k, v)
    {
        printf("%s%s %lld", idx++ == 0 ? " (" : ", ", k, (long long)json_integer_value(v));
    }
    printf("%s\n", idx > 0 ? ")" : "");
    printf("zones        %d\n", a->n_zones);
    if (a->time_s != NULL)
        printf("matrix       %d x %d\n", a->n_stops, a->n_stops);
    else
        printf("matrix       none (crow-fly travel)\n");
    if (a->attribution && *a->attribution)
        printf("attribution  %s\n", a->attribution);
    if (a->license && *a->license)
        printf("license      %s\n", a->license);
    json_array_foreach(src, idx, v)
    {
        printf("source       %s (%s, %lld bytes, sha256 %.16s...)\n",
               json_string_value(json_object_get(v, "path")),
               json_string_value(json_object_get(v, "role")),
               (long long)json_integer_value(json_object_get(v, "bytes")),
               json_string_value(json_object_get(v, "sha256")));
    }
}

static int area_info_cmd(int argc, char **argv)
{
    const char *dir = NULL;
    int as_json = 0, rc;
    area *a = NULL;
    json_t *j;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_usage_area(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            return usage_err("info", "unknown option \"%s\"", argv[i]);
        } else if (dir != NULL) {
            return usage_err("info", "more than one folder (\"%s\")", argv[i]);
        } else {
            dir = argv[i];
        }
    }
    if ((rc = load_dir("info", dir, &a)) < 0)
        return rc;
    j = info_json(a, dir);
    if (j == NULL) {
        area_destroy(a);
        return CLI_EOUTPUT;
    }
    if (as_json) {
        json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        putchar('\n');
    } else {
        print_info(a, j);
    }
    json_decref(j);
    area_destroy(a);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* route                                                                   */

typedef struct end_point {
    double lat, lon, x, y;
    int32_t node;
    double snap_m;
} end_point;

static json_t *end_json(const area *a, const end_point *p)
{
    json_t *o = json_pack("{s:f, s:f}", "lat", p->lat, "lon", p->lon);

    if (o != NULL && p->node >= 0) {
        json_object_set_new(o, "node", json_integer(p->node));
        json_object_set_new(o, "node_lat", json_real(a->graph->lat[p->node]));
        json_object_set_new(o, "node_lon", json_real(a->graph->lon[p->node]));
        json_object_set_new(o, "snap_m", json_real(round(p->snap_m * 10) / 10));
    }
    return o;
}

static void print_end(const area *a, const char *label, const end_point *p)
{
    if (p->node < 0) {
        printf("%s %.7f,%.7f\n", label, p->lat, p->lon);
        return;
    }
    printf("%s %.7f,%.7f -> node %ld at %.7f,%.7f, %.1f m away%s\n", label, p->lat, p->lon,
           (long)p->node, a->graph->lat[p->node], a->graph->lon[p->node], p->snap_m,
           p->snap_m > AREA_FAR_SNAP_M ? " (far from any road of this area)" : "");
}

static int snap_ends(const area *a, end_point *e, int n)
{
    char err[512];
    geo_proj *geo = NULL;
    net_index *ix = NULL;
    int rc = 0;

    if (geo_proj_create(a->graph->epsg, &geo, err, sizeof(err)) < 0) {
        fprintf(stderr, "noriai area route: %s\n", err);
        return CLI_EINPUT;
    }
    if (net_index_create(a->graph, 0, &ix) < 0) {
        fprintf(stderr, "noriai area route: cannot index the road graph\n");
        rc = CLI_EINPUT;
        goto out;
    }
    for (int k = 0; k < n; k++) {
        if (geo_forward(geo, e[k].lat, e[k].lon, &e[k].x, &e[k].y) < 0) {
            fprintf(stderr, "noriai area route: %.7f,%.7f cannot be projected to EPSG:%d\n",
                    e[k].lat, e[k].lon, a->graph->epsg);
            rc = CLI_EUSAGE;
            goto out;
        }
        e[k].node = net_index_nearest(ix, e[k].x, e[k].y, &e[k].snap_m);
    }
out:
    net_index_destroy(ix);
    geo_proj_destroy(geo);
    return rc;
}

static int area_route_cmd(int argc, char **argv)
{
    const char *dir = NULL, *from = NULL, *to = NULL;
    end_point e[2];
    int as_json = 0, i = 1, m, rc;
    int32_t t_s = 0, d_m = 0;
    int road = 0;
    uint32_t t_ms = 0, l_mm = 0;
    double time_s, dist_m;
    area *a = NULL;

    memset(e, 0, sizeof(e));
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--json") == 0) {
            as_json = 1;
            i++;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_usage_area(stdout);
            return 0;
        } else if ((m = cli_opt_value(argc, argv, &i, "--from", &from)) != 0) {
            if (m < 0)
                return m;
        } else if ((m = cli_opt_value(argc, argv, &i, "--to", &to)) != 0) {
            if (m < 0)
                return m;
        } else if (arg[0] == '-') {
            return usage_err("route", "unknown option \"%s\"", arg);
        } else if (dir != NULL) {
            return usage_err("route", "more than one folder (\"%s\")", arg);
        } else {
            dir = arg;
            i++;
        }
    }
    if (from == NULL || to == NULL)
        return usage_err("route", "%s", "both --from LAT,LON and --to LAT,LON are needed");
    if (parse_point(from, &e[0].lat, &e[0].lon) < 0)
        return usage_err("route", "--from \"%s\": expected LAT,LON in degrees", from);
    if (parse_point(to, &e[1].lat, &e[1].lon) < 0)
        return usage_err("route", "--to \"%s\": expected LAT,LON in degrees", to);
    if ((rc = load_dir("route", dir, &a)) < 0)
        return rc;
    e[0].node = e[1].node = -1;
    if (a->model == AREA_CROWFLY || a->graph == NULL) {
        net_crowfly_travel(&a->crowfly, e[0].lat, e[0].lon, e[1].lat, e[1].lon, &t_s, &d_m);
        time_s = t_s;
        dist_m = d_m;
    } else {
        if ((rc = snap_ends(a, e, 2)) < 0)
            goto out;
        rc = net_route(a->graph, e[0].node, e[1].node, &t_ms, &l_mm, NULL, NULL);
        if (rc == NET_EUNREACHABLE) {
            fprintf(stderr, "noriai area route: no route from node %ld to node %ld\n",
                    (long)e[0].node, (long)e[1].node);
            rc = CLI_ESOLVE;
            goto out;
        }
        if (rc < 0) {
            fprintf(stderr, "noriai area route: %s\n", net_strerror(rc));
            rc = CLI_ESOLVE;
            goto out;
        }
        time_s = round(t_ms / 100.0) / 10;
        dist_m = round(l_mm / 100.0) / 10;
        road = 1;
    }
    if (as_json) {
        json_t *j = json_pack("{s:f, s:f, s:s}", "time_s", time_s, "distance_m", dist_m, "model",
                              a->model == AREA_ROAD ? "road" : "crowfly");
        json_object_set_new(j, "from", end_json(a, &e[0]));
        json_object_set_new(j, "to", end_json(a, &e[1]));
        json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
        putchar('\n');
        json_decref(j);
    } else {
        print_end(a, "from", &e[0]);
        print_end(a, "to  ", &e[1]);
        printf("time_s %.1f (%d min %02d s)\ndistance_m %.1f\n", time_s, (int)(time_s / 60),
               (int)fmod(time_s, 60), dist_m);
        if (!road)
            printf("model crow-fly (detour %.2f, %.1f km/h)\n", a->crowfly.detour,
                   a->crowfly.speed_kmh);
    }
    rc = 0;
out:
    area_destroy(a);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* bench-matrix                                                            */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static int area_bench_cmd(int argc, char **argv)
{
    const char *dir = NULL, *osm = NULL, *v;
    long n = 1000, threads = 2, repeat = 3, seed = 1;
    int use_stops = 0;
    net_graph *g = NULL;
    area *a = NULL;
    net_osm_result res;
    int32_t *nodes = NULL, *t = NULL, *d = NULL;
    double times[32], t0;
    char err[2048];
    int i = 1, m, rc = 0;

    memset(&res, 0, sizeof(res));
    while (i < argc) {
        const char *arg = argv[i];
        long *dst = NULL, lo = 1, hi = 0;
        if (strcmp(arg, "--stops") == 0) {
            use_stops = 1;
            i++;
            continue;
        }
        if ((m = cli_opt_value(argc, argv, &i, "--osm", &osm)) != 0) {
            if (m < 0)
                return m;
            continue;
        }
        if ((m = cli_opt_value(argc, argv, &i, "--nodes", &v)) != 0)
            dst = &n, hi = 20000;
        else if ((m = cli_opt_value(argc, argv, &i, "--threads", &v)) != 0)
            dst = &threads, lo = 0, hi = 256;
        else if ((m = cli_opt_value(argc, argv, &i, "--repeat", &v)) != 0)
            dst = &repeat, hi = 32;
        else if ((m = cli_opt_value(argc, argv, &i, "--seed", &v)) != 0)
            dst = &seed, lo = 0, hi = 1000000000;
        if (m < 0)
            return m;
        if (dst != NULL) {
            if (parse_int(v, lo, hi, dst) < 0)
                return usage_err("bench-matrix", "bad number \"%s\"", v);
        } else if (arg[0] == '-') {
            return usage_err("bench-matrix", "unknown option \"%s\"", arg);
        } else {
            dir = arg;
            i++;
        }
    }
    if ((dir == NULL) == (osm == NULL))
        return usage_err("bench-matrix", "%s", "give a bundle folder or --osm FILE, not both");
    if (use_stops && dir == NULL)
        return usage_err("bench-matrix", "%s", "--stops needs a bundle folder");
    t0 = now_s();
    if (osm != NULL) {
        net_osm_opts oo;
        net_osm_opts_default(&oo);
        if (net_build_from_osm(osm, &oo, &res, err, sizeof(err)) < 0) {
            fprintf(stderr, "noriai area bench-matrix: %s\n", err);
            return CLI_EINPUT;
        }
        g = res.graph;
    } else {
        if ((rc = load_dir("bench-matrix", dir, &a)) < 0)
            return rc;
        g = a->graph;
        if (g == NULL) {
            fprintf(stderr, "noriai area bench-matrix: %s has no road graph\n", dir);
            rc = CLI_EINPUT;
            goto out;
        }
    }
    printf("graph: %d nodes, %d edges, loaded in %.2f s\n", g->n_nodes, g->n_edges, now_s() - t0);
    if (use_stops)
        n = a->n_stops;
    nodes = malloc((size_t)n * sizeof(*nodes));
    t = malloc((size_t)n * (size_t)n * sizeof(*t));
    d = malloc((size_t)n * (size_t)n * sizeof(*d));
    if (nodes == NULL || t == NULL || d == NULL) {
        fprintf(stderr, "noriai area bench-matrix: out of memory\n");
        rc = CLI_EOUTPUT;
        goto out;
    }
    {
        uint64_t s = (uint64_t)seed;
        for (long k = 0; k < n; k++)
            nodes[k] =
                use_stops ? a->stops[k].node : (int32_t)(slv_rng_splitmix64(&s) % (uint64_t)g->n_nodes);
    }
    for (long r = 0; r < repeat; r++) {
        t0 = now_s();
        if (net_matrix(g, nodes, (int)n, (int)threads, t, d, NULL, NULL) < 0) {
            fprintf(stderr, "noriai area bench-matrix: matrix failed\n");
            rc = CLI_ESOLVE;
            goto out;
        }
        times[r] = now_s() - t0;
        printf("run %ld: matrix %ld x %ld on %ld threads: %.3f s\n", r + 1, n, n, threads,
               times[r]);
    }
    qsort(times, (size_t)repeat, sizeof(times[0]), cmp_double);
    printf("median: %.3f s\n", times[(repeat - 1) / 2]);
out:
    free(nodes);
    free(t);
    free(d);
    net_osm_result_cleanup(&res);
    area_destroy(a);
    return rc;
}

int cli_area(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL;

    if (sub == NULL) {
        cli_usage_area(stderr);
        return CLI_EUSAGE;
    }
    if (strcmp(sub, "build") == 0)
        return area_build_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "synth") == 0)
        return area_synth_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "info") == 0)
        return area_info_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "route") == 0)
        return area_route_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "bench-matrix") == 0)
        return area_bench_cmd(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        cli_usage_area(stdout);
        return 0;
    }
    fprintf(stderr, "noriai area: unknown subcommand \"%s\"\n", sub);
    cli_usage_area(stderr);
    return CLI_EUSAGE;
}
