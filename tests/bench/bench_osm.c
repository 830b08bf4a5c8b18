/*
 * bench_osm.c - time to read OSM extracts and build their road graphs.
 *
 * For each .osm.pbf given: one read with no callbacks but counting (the
 * reader's own cost: inflate and protobuf-c unpack), one read with node and
 * way callbacks (plus tag lookups), then net_build_from_osm with the default
 * options (two reads, graph, SCC, projection).  Prints one line per step.
 * Peak memory is measured from outside: run it under `/usr/bin/time -v`
 * with one file at a time (`make bench-osm` does).  --build-only skips the
 * two plain reads, so that the peak is the graph build's alone.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "data/net/net.h"
#include "data/osm/osm.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int count_node(void *ud, const osm_node *n)
{
    long *tagged = ud;

    *tagged += osm_tag(&n->tags, "highway") != NULL;
    return 0;
}

static int count_way(void *ud, const osm_way *w)
{
    long *tagged = ud;

    *tagged += osm_tag(&w->tags, "highway") != NULL;
    return 0;
}

int main(int argc, char **argv)
{
    char err[1024];
    int failed = 0, first = 1, build_only = 0;

    if (argc > 1 && strcmp(argv[1], "--build-only") == 0) {
        build_only = 1;
        first = 2;
    }
    if (argc <= first) {
        fprintf(stderr, "usage: %s [--build-only] FILE.osm.pbf...\n", argv[0]);
        return 2;
    }
    for (int i = first; i < argc; i++) {
        osm_handler h;
        osm_counts c;
        net_osm_opts o;
        net_osm_result r;
        long tagged = 0;
        double t;
        int rc;

        if (build_only)
            goto build;
        t = now_s();
        rc = osm_pbf_read(argv[i], NULL, &c, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
            continue;
        }
        printf("%s: read (count only): %.3f s, %lld nodes, %lld ways, %lld relations, %lld "
               "blobs\n",
               argv[i], now_s() - t, (long long)c.nodes, (long long)c.ways, (long long)c.relations,
               (long long)c.blobs);

        memset(&h, 0, sizeof(h));
        h.ud = &tagged;
        h.node = count_node;
        h.way = count_way;
        t = now_s();
        rc = osm_pbf_read(argv[i], &h, &c, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
            continue;
        }
        printf("%s: read (all elements delivered): %.3f s, %ld with a highway tag\n", argv[i],
               now_s() - t, tagged);

    build:
        net_osm_opts_default(&o);
        t = now_s();
        rc = net_build_from_osm(argv[i], &o, &r, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
            continue;
        }
        printf("%s: graph: %.3f s, %lld drivable ways, %ld nodes / %ld edges before SCC, "
               "%ld / %ld after, EPSG:%d, top speed %.1f km/h, %d bus stops\n",
               argv[i], now_s() - t, (long long)r.drivable_ways, (long)r.nodes_before_scc,
               (long)r.edges_before_scc, (long)r.graph->n_nodes, (long)r.graph->n_edges,
               r.graph->epsg, r.graph->max_speed_mps * 3.6, r.n_bus_stops);
        printf("%s: left out: %lld ways without access, %lld areas, %lld too short; %lld "
               "segments missing a node, %lld too long\n",
               argv[i], (long long)r.ways_no_access, (long long)r.ways_area,
               (long long)r.ways_short, (long long)r.segments_missing,
               (long long)r.segments_too_long);
        net_osm_result_cleanup(&r);
    }
    return failed;
}
