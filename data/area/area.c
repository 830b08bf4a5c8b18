/*
 * area.c - area bundles on disk (area_save, area_load) and what an area
 * answers once loaded (area_travel, area_nearest_stop).
 *
 * A bundle is a folder (see area.h for the files).  Saving writes the data
 * files first and the manifest, area.json, last through a temporary name and
 * a rename; the old manifest is removed before anything else, so a save that
 * fails half-way leaves a folder that does not load (no manifest) rather than
 * one that loads mixed data.  Source files named by the caller are hashed
 * (SHA-256, sha256.c) into the manifest, so a bundle says exactly which OSM
 * extract and stop list it came from.
 *
 * Loading trusts nothing: the manifest is checked key by key (types, ranges,
 * "crs" agreeing with "epsg", unknown keys refused); graph.bin goes through
 * net_graph_load's own checks and must match the manifest's node and edge
 * counts and CRS; every CSV row is parsed strictly (csv.h) with numbers in
 * range, UTF-8 text, stop nodes inside the graph, POI stops inside the stop
 * list, distinct stop ids; row counts must equal the manifest's; matrix.bin
 * must be exactly the n_stops x n_stops matrix for this graph and these stop
 * nodes (net_matrix_read: size, magic, version, n, key, checksum).  Every
 * refusal names the file (and line) and what is wrong.
 *
 * Determinism: numbers are written with fixed precision and the manifest with
 * keys in a fixed order, so equal areas give equal bytes, and a loaded bundle
 * saved again is unchanged.
 */
#include "data/area/area.h"
#include "data/area/sha256.h"
#include "data/csv/csv.h"
#include "solver/errf.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_FORMAT "noriai-area"
#define MANIFEST_VERSION 1
#define MAX_COORD_M 1e8 /* projected coordinates beyond this are not on Earth */

static const char *const area_msgs[] = {
#define AREA_ERR_MSG(name, code, msg) [-(code)] = msg,
    AREA_ERRNO_MAP(AREA_ERR_MSG)
#undef AREA_ERR_MSG
};

const char *area_strerror(int err)
{
    if (err == 0)
        return "success";
    if (err < 0 && (size_t)-err < sizeof(area_msgs) / sizeof(area_msgs[0]) && area_msgs[-err])
        return area_msgs[-err];
    return "unknown error";
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void area_destroy(area *a)
{
    if (a == NULL)
        return;
    free(a->name);
    free(a->attribution);
    free(a->license);
    net_graph_destroy(a->graph);
    for (int i = 0; i < a->n_stops && a->stops != NULL; i++) {
        free(a->stops[i].id);
        free(a->stops[i].name);
        free(a->stops[i].name_en);
    }
    free(a->stops);
    for (int i = 0; i < a->n_pois && a->pois != NULL; i++) {
        free(a->pois[i].name);
        free(a->pois[i].name_en);
    }
    free(a->pois);
    for (int i = 0; i < a->n_zones && a->zones != NULL; i++) {
        free(a->zones[i].name);
        free(a->zones[i].name_en);
    }
    free(a->zones);
    free(a->time_s);
    free(a->dist_m);
    free(a);
}

/* ---------------------------------------------------------------------- */
/* travel and nearest stop                                                 */

void area_travel(const area *a, int from_stop, int to_stop, int32_t *time_s, int32_t *dist_m)
{
    int32_t t = NET_UNREACHABLE_S, d = NET_UNREACHABLE_M;

    if (a != NULL && from_stop >= 0 && from_stop < a->n_stops && to_stop >= 0 &&
        to_stop < a->n_stops) {
        if (a->time_s != NULL) {
            size_t k = (size_t)from_stop * (size_t)a->n_stops + (size_t)to_stop;
            t = a->time_s[k];
            d = a->dist_m[k];
        } else {
            const area_stop *p = &a->stops[from_stop], *q = &a->stops[to_stop];
            net_crowfly_travel(&a->crowfly, p->lat, p->lon, q->lat, q->lon, &t, &d);
        }
    }
    if (time_s != NULL)
        *time_s = t;
    if (dist_m != NULL)
        *dist_m = d;
}

int area_nearest_stop(const area *a, double lat, double lon, double *dist_m)
{
    int best = -1;
    double bd = 0;

    for (int i = 0; a != NULL && i < a->n_stops; i++) {
        double d = net_haversine_m(lat, lon, a->stops[i].lat, a->stops[i].lon);
        if (best < 0 || d < bd) {
            best = i;
            bd = d;
        }
    }
    if (dist_m != NULL)
        *dist_m = best < 0 ? 0 : bd;
    return best;
}

/* ---------------------------------------------------------------------- */
/* saving                                                                  */

static int path_join(char *buf, size_t len, const char *dir, const char *name)
{
    return (size_t)snprintf(buf, len, "%s/%s", dir, name) < len ? 0 : -1;
}

/* One CSV field: quoted when it holds a separator, a quote, a line break or
 * blanks at either end. */
static void csv_put(FILE *f, const char *s, int last)
{
    size_t n = s != NULL ? strlen(s) : 0;
    int quote = n > 0 && (strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' || s[0] == '\t' ||
                          s[n - 1] == ' ' || s[n - 1] == '\t');

    if (quote) {
        fputc('"', f);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputc('"', f);
    } else if (n > 0) {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static int close_checked(FILE *f, const char *path, char *err, size_t err_len)
{
    int bad = ferror(f);

    if (fclose(f) != 0 || bad)
        return slv_errf(err, err_len, AREA_EWRITE, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

static int write_stops(const area *a, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return slv_errf(err, err_len, AREA_EWRITE, "%s: cannot write: %s", path, strerror(errno));
    fputs("id,name,name_en,lat,lon,x,y,node,snap_m,far,kind\n", f);
    for (int i = 0; i < a->n_stops; i++) {
        const area_stop *s = &a->stops[i];
        csv_put(f, s->id, 0);
        csv_put(f, s->name, 0);
        csv_put(f, s->name_en, 0);
        fprintf(f, "%.7f,%.7f,%.3f,%.3f,%ld,%.2f,%d,", s->lat, s->lon, s->x, s->y, (long)s->node,
                s->snap_m, s->far ? 1 : 0);
        csv_put(f, s->kind, 1);
    }
    return close_checked(f, path, err, err_len);
}

static int write_pois(const area *a, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return slv_errf(err, err_len, AREA_EWRITE, "%s: cannot write: %s", path, strerror(errno));
    fputs("name,name_en,kind,lat,lon,stop,weight\n", f);
    for (int i = 0; i < a->n_pois; i++) {
        const area_poi *p = &a->pois[i];
        csv_put(f, p->name, 0);
        csv_put(f, p->name_en, 0);
        csv_put(f, p->kind, 0);
        fprintf(f, "%.7f,%.7f,%ld,%.10g\n", p->lat, p->lon, (long)p->stop, p->weight);
    }
    return close_checked(f, path, err, err_len);
}

static int write_zones(const area *a, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        return slv_errf(err, err_len, AREA_EWRITE, "%s: cannot write: %s", path, strerror(errno));
    fputs("name,name_en,lat,lon,radius_m,weight\n", f);
    for (int i = 0; i < a->n_zones; i++) {
        const area_zone *z = &a->zones[i];
        csv_put(f, z->name, 0);
        csv_put(f, z->name_en, 0);
        fprintf(f, "%.7f,%.7f,%.1f,%.10g\n", z->lat, z->lon, z->radius_m, z->weight);
    }
    return close_checked(f, path, err, err_len);
}

static int32_t *stop_nodes(const area *a)
{
    int32_t *nodes = malloc((a->n_stops > 0 ? (size_t)a->n_stops : 1) * sizeof(*nodes));

    for (int i = 0; nodes != NULL && i < a->n_stops; i++)
        nodes[i] = a->stops[i].node;
    return nodes;
}

static uint64_t matrix_key(const area *a)
{
    int32_t *nodes = stop_nodes(a);
    uint64_t key;

    if (nodes == NULL)
        return 0;
    key = net_matrix_key(a->graph, nodes, a->n_stops, AREA_MATRIX_TAG);
    free(nodes);
    return key;
}

static json_t *sources_json(const char *const *sources, int n_sources, char *err, size_t err_len,
                            int *rc)
{
    json_t *arr = json_array();

    *rc = AREA_ENOMEM;
    if (arr == NULL)
        return NULL;
    for (int k = 0; k < n_sources; k++) {
        const char *path = sources[2 * k], *role = sources[2 * k + 1];
        char hex[65];
        uint64_t bytes;
        if (path == NULL || role == NULL) {
            *rc = slv_errf(err, err_len, AREA_EINVAL, "source %d: no path or role", k);
            goto fail;
        }
        if (area_sha256_file(path, hex, &bytes) < 0) {
            *rc = slv_errf(err, err_len, AREA_EOPEN, "%s: cannot read the source to hash it: %s",
                           path, strerror(errno));
            goto fail;
        }
        if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "path", path, "role", role,
                                                 "sha256", hex, "bytes", (json_int_t)bytes)) != 0)
            goto fail;
    }
    *rc = 0;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static json_t *manifest(const area *a, const char *const *sources, int n_sources, char *err,
                        size_t err_len, int *rc)
{
    char crs[32], key[32];
    int far = 0, depots = 0;
    json_t *root = NULL, *src;

    for (int i = 0; i < a->n_stops; i++) {
        far += a->stops[i].far != 0;
        depots += strcmp(a->stops[i].kind, "depot") == 0;
    }
    snprintf(crs, sizeof(crs), "EPSG:%d", a->epsg);
    src = sources_json(sources, n_sources, err, err_len, rc);
    if (src == NULL)
        return NULL;
    *rc = AREA_ENOMEM;
    root = json_pack("{s:s, s:i, s:s, s:s, s:i, s:[f,f,f,f], s:s, s:{s:f, s:f}, s:s, s:s, s:o, "
                     "s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i}}",
                     "format", MANIFEST_FORMAT, "version", MANIFEST_VERSION, "name",
                     a->name ? a->name : "", "crs", crs, "epsg", a->epsg, "bbox", a->bbox[0],
                     a->bbox[1], a->bbox[2], a->bbox[3], "model",
                     a->model == AREA_ROAD ? "road" : "crowfly", "crowfly", "detour",
                     a->crowfly.detour, "speed_kmh", a->crowfly.speed_kmh, "attribution",
                     a->attribution ? a->attribution : "", "license", a->license ? a->license : "",
                     "sources", src, "counts", "nodes", a->graph ? (int)a->graph->n_nodes : 0,
                     "edges", a->graph ? (int)a->graph->n_edges : 0, "stops", a->n_stops,
                     "far_stops", far, "depots", depots, "pois", a->n_pois, "zones", a->n_zones);
    if (root == NULL)
        return NULL;
    if (a->model == AREA_ROAD) {
        snprintf(key, sizeof(key), "%016llx", (unsigned long long)matrix_key(a));
        if (json_object_set_new(root, "matrix",
                                json_pack("{s:i, s:s}", "n", a->n_stops, "key", key)) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    *rc = 0;
    return root;
}

/* The manifest as people read it: indented, keys in order, a final newline. */
static int write_manifest(json_t *root, const char *path, char *err, size_t err_len)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    FILE *f;

    if (text == NULL)
        return slv_errf(err, err_len, AREA_ENOMEM, "%s: out of memory", path);
    f = fopen(path, "w");
    if (f == NULL) {
        free(text);
        return slv_errf(err, err_len, AREA_EWRITE, "%s: cannot write: %s", path, strerror(errno));
    }
    fputs(text, f);
    fputc('\n', f);
    free(text);
    if (close_checked(f, path, err, err_len) < 0) {
        unlink(path);
        return AREA_EWRITE;
    }
    return 0;
}

/* The area must be whole before anything is written. */
static int check_for_save(const area *a, char *err, size_t err_len)
{
    if (a->n_stops < 0 || a->n_pois < 0 || a->n_zones < 0 || a->n_stops > AREA_MAX_STOPS ||
        (a->n_stops > 0 && a->stops == NULL) || (a->n_pois > 0 && a->pois == NULL) ||
        (a->n_zones > 0 && a->zones == NULL))
        return slv_errf(err, err_len, AREA_EINVAL, "area: inconsistent counts");
    if (a->model == AREA_ROAD) {
        if (a->graph == NULL || (a->n_stops > 0 && (a->time_s == NULL || a->dist_m == NULL)))
            return slv_errf(err, err_len, AREA_EINVAL,
                            "area: a road area needs a graph and a matrix");
        for (int i = 0; i < a->n_stops; i++)
            if (a->stops[i].node < 0 || a->stops[i].node >= a->graph->n_nodes)
                return slv_errf(err, err_len, AREA_EINVAL, "area: stop %d has no road node", i);
    }
    for (int i = 0; i < a->n_stops; i++)
        if (a->stops[i].id == NULL || a->stops[i].id[0] == '\0')
            return slv_errf(err, err_len, AREA_EINVAL, "area: stop %d has no id", i);
    return 0;
}

int area_save(const area *a, const char *dir, const char *const *sources, int n_sources, char *err,
              size_t err_len)
{
    char path[4096], tmp[4200];
    json_t *root = NULL;
    struct stat st;
    int rc;

    if (a == NULL || dir == NULL || n_sources < 0 || (n_sources > 0 && sources == NULL))
        return slv_errf(err, err_len, AREA_EINVAL, "area_save: invalid arguments");
    if ((rc = check_for_save(a, err, err_len)) < 0)
        return rc;
    if (strlen(dir) > 3000)
        return slv_errf(err, err_len, AREA_EINVAL, "%.40s...: folder name too long", dir);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return slv_errf(err, err_len, AREA_EWRITE, "%s: cannot create the folder: %s", dir,
                        strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return slv_errf(err, err_len, AREA_EWRITE, "%s: not a folder", dir);
    /* Hash the sources before touching the folder: a missing source fails early. */
    root = manifest(a, sources, n_sources, err, err_len, &rc);
    if (root == NULL) {
        if (rc == AREA_ENOMEM)
            slv_errf(err, err_len, rc, "%s: out of memory", dir);
        return rc;
    }
    path_join(path, sizeof(path), dir, "area.json");
    if (unlink(path) != 0 && errno != ENOENT) {
        rc = slv_errf(err, err_len, AREA_EWRITE, "%s: cannot replace: %s", path, strerror(errno));
        goto out;
    }
    path_join(path, sizeof(path), dir, "graph.bin");
    if (a->model == AREA_ROAD) {
        if ((rc = net_graph_save(a->graph, path, err, err_len)) < 0) {
            rc = rc == NET_ENOMEM ? AREA_ENOMEM : AREA_EWRITE;
            goto out;
        }
    } else {
        unlink(path);
    }
    path_join(path, sizeof(path), dir, "stops.csv");
    if ((rc = write_stops(a, path, err, err_len)) < 0)
        goto out;
    path_join(path, sizeof(path), dir, "pois.csv");
    if ((rc = write_pois(a, path, err, err_len)) < 0)
        goto out;
    path_join(path, sizeof(path), dir, "zones.csv");
    if ((rc = write_zones(a, path, err, err_len)) < 0)
        goto out;
    path_join(path, sizeof(path), dir, "matrix.bin");
    if (a->model == AREA_ROAD) {
        rc = net_matrix_write(path, matrix_key(a), a->n_stops, a->time_s, a->dist_m, err, err_len);
        if (rc < 0) {
            rc = rc == NET_ENOMEM ? AREA_ENOMEM : AREA_EWRITE;
            goto out;
        }
    } else {
        unlink(path);
    }
    path_join(path, sizeof(path), dir, "area.json");
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if ((rc = write_manifest(root, tmp, err, err_len)) < 0)
        goto out;
    if (rename(tmp, path) != 0) {
        rc = slv_errf(err, err_len, AREA_EWRITE, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* loading                                                                 */

typedef struct loader {
    const char *dir;
    char *err;
    size_t err_len;
    area *a;
    long n_nodes, n_edges, n_stops, n_far, n_pois, n_zones;
} loader;

static int jbad(loader *l, const char *key, const char *what)
{
    return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s/area.json: \"%s\": %s", l->dir, key,
                    what);
}

static int j_int(loader *l, json_t *obj, const char *key, long lo, long hi, long *out)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return jbad(l, key, "missing");
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char what[96];
        snprintf(what, sizeof(what), "expected an integer in [%ld, %ld]", lo, hi);
        return jbad(l, key, what);
    }
    *out = (long)json_integer_value(v);
    return 0;
}

static int j_num(loader *l, json_t *obj, const char *key, double lo, double hi, double *out)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return jbad(l, key, "missing");
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
        char what[96];
        snprintf(what, sizeof(what), "expected a number in [%g, %g]", lo, hi);
        return jbad(l, key, what);
    }
    *out = json_number_value(v);
    return 0;
}

static int j_str(loader *l, json_t *obj, const char *key, char **out)
{
    json_t *v = json_object_get(obj, key);

    if (v == NULL)
        return jbad(l, key, "missing");
    if (!json_is_string(v))
        return jbad(l, key, "expected a string");
    if (out != NULL && (*out = xstrdup(json_string_value(v))) == NULL)
        return slv_errf(l->err, l->err_len, AREA_ENOMEM, "%s/area.json: out of memory", l->dir);
    return 0;
}

static int j_keys(loader *l, json_t *obj, const char *where, const char *const *allowed)
{
    const char *key;
    json_t *val;

    json_object_foreach(obj, key, val)
    {
        int ok = strcmp(key, "comment") == 0;
        for (int k = 0; !ok && allowed[k] != NULL; k++)
            ok = strcmp(key, allowed[k]) == 0;
        if (!ok)
            return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                            "%s/area.json: %s: unknown key \"%s\"", l->dir, where, key);
    }
    return 0;
}

static int check_sources(loader *l, json_t *arr)
{
    static const char *const keys[] = {"path", "role", "sha256", "bytes", NULL};
    size_t k;
    json_t *src;

    if (!json_is_array(arr))
        return jbad(l, "sources", "expected an array");
    json_array_foreach(arr, k, src)
    {
        json_t *h = json_object_get(src, "sha256"), *b = json_object_get(src, "bytes");
        int rc;
        if (!json_is_object(src))
            return jbad(l, "sources", "every source must be an object");
        if ((rc = j_keys(l, src, "sources", keys)) < 0)
            return rc;
        if (!json_is_string(json_object_get(src, "path")) ||
            !json_is_string(json_object_get(src, "role")) || !json_is_string(h) ||
            strlen(json_string_value(h)) != 64 ||
            strspn(json_string_value(h), "0123456789abcdef") != 64 || !json_is_integer(b) ||
            json_integer_value(b) < 0)
            return jbad(l, "sources",
                        "every source needs \"path\", \"role\", \"sha256\" (64 hex digits) and "
                        "\"bytes\"");
    }
    return 0;
}

static int read_manifest(loader *l, json_t **matrix_obj, json_t **root_out)
{
    static const char *const top_keys[] = {
        "format",  "version",     "name",    "crs",     "epsg",   "bbox",   "model",
        "crowfly", "attribution", "license", "sources", "counts", "matrix", NULL};
    static const char *const count_keys[] = {"nodes",  "edges", "stops", "far_stops",
                                             "depots", "pois",  "zones", NULL};
    char path[4096], crs[32];
    json_error_t jerr;
    json_t *root, *v, *counts, *cf;
    area *a = l->a;
    long version, epsg, dummy;
    int rc;

    path_join(path, sizeof(path), l->dir, "area.json");
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (access(path, R_OK) != 0)
            return slv_errf(
                l->err, l->err_len, AREA_EOPEN,
                "%s: cannot read (is %s an area bundle written by `noriai area build` or "
                "`noriai area synth`?)",
                path, l->dir);
        return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s:%d:%d: %s", path, jerr.line,
                        jerr.column, jerr.text);
    }
    *root_out = root;
    if (!json_is_object(root))
        return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s: expected a JSON object", path);
    if ((rc = j_keys(l, root, "top level", top_keys)) < 0)
        return rc;
    v = json_object_get(root, "format");
    if (!json_is_string(v) || strcmp(json_string_value(v), MANIFEST_FORMAT) != 0)
        return jbad(l, "format", "expected \"" MANIFEST_FORMAT "\"");
    if ((rc = j_int(l, root, "version", 1, 1000, &version)) < 0)
        return rc;
    if (version != MANIFEST_VERSION)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s: bundle version %ld, this noriai reads version %d; rebuild the bundle",
                        path, version, MANIFEST_VERSION);
    if ((rc = j_str(l, root, "name", &a->name)) < 0 ||
        (rc = j_str(l, root, "attribution", &a->attribution)) < 0 ||
        (rc = j_str(l, root, "license", &a->license)) < 0 ||
        (rc = j_int(l, root, "epsg", 1024, 999999, &epsg)) < 0)
        return rc;
    a->epsg = (int)epsg;
    snprintf(crs, sizeof(crs), "EPSG:%ld", epsg);
    v = json_object_get(root, "crs");
    if (!json_is_string(v) || strcmp(json_string_value(v), crs) != 0)
        return jbad(l, "crs", "must be \"EPSG:<epsg>\" with the same code as \"epsg\"");
    v = json_object_get(root, "bbox");
    if (!json_is_array(v) || json_array_size(v) != 4)
        return jbad(l, "bbox", "expected [min_lon, min_lat, max_lon, max_lat]");
    for (int k = 0; k < 4; k++) {
        json_t *x = json_array_get(v, (size_t)k);
        double lim = k % 2 == 0 ? 180 : 90;
        if (!json_is_number(x) || !(fabs(json_number_value(x)) <= lim))
            return jbad(l, "bbox", "coordinates must be degrees within range");
        a->bbox[k] = json_number_value(x);
    }
    if (a->bbox[0] > a->bbox[2] || a->bbox[1] > a->bbox[3])
        return jbad(l, "bbox", "minimum above maximum");
    v = json_object_get(root, "model");
    if (json_is_string(v) && strcmp(json_string_value(v), "road") == 0)
        a->model = AREA_ROAD;
    else if (json_is_string(v) && strcmp(json_string_value(v), "crowfly") == 0)
        a->model = AREA_CROWFLY;
    else
        return jbad(l, "model", "expected \"road\" or \"crowfly\"");
    cf = json_object_get(root, "crowfly");
    if (!json_is_object(cf))
        return jbad(l, "crowfly", "expected an object {\"detour\": ..., \"speed_kmh\": ...}");
    if ((rc = j_num(l, cf, "detour", 1.0, 10.0, &a->crowfly.detour)) < 0 ||
        (rc = j_num(l, cf, "speed_kmh", 1.0, 200.0, &a->crowfly.speed_kmh)) < 0)
        return rc;
    if ((rc = check_sources(l, json_object_get(root, "sources"))) < 0)
        return rc;
    counts = json_object_get(root, "counts");
    if (!json_is_object(counts))
        return jbad(l, "counts", "expected an object");
    if ((rc = j_keys(l, counts, "counts", count_keys)) < 0 ||
        (rc = j_int(l, counts, "nodes", 0, INT32_MAX, &l->n_nodes)) < 0 ||
        (rc = j_int(l, counts, "edges", 0, INT32_MAX, &l->n_edges)) < 0 ||
        (rc = j_int(l, counts, "stops", 0, AREA_MAX_STOPS, &l->n_stops)) < 0 ||
        (rc = j_int(l, counts, "far_stops", 0, AREA_MAX_STOPS, &l->n_far)) < 0 ||
        (rc = j_int(l, counts, "depots", 0, AREA_MAX_STOPS, &dummy)) < 0 ||
        (rc = j_int(l, counts, "pois", 0, 10000000, &l->n_pois)) < 0 ||
        (rc = j_int(l, counts, "zones", 0, 10000000, &l->n_zones)) < 0)
        return rc;
    *matrix_obj = json_object_get(root, "matrix");
    if (a->model == AREA_ROAD && !json_is_object(*matrix_obj))
        return jbad(l, "matrix", "a road area needs {\"n\": ..., \"key\": ...}");
    return 0;
}

/* Strict text field: UTF-8; NULL (optional) when empty and allow_null. */
static int csv_text(loader *l, csv_reader *r, int col, const char *what, int allow_null, char **out)
{
    const char *s = csv_field(r, col);

    if (s == NULL)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s:%d: missing field %s", csv_name(r),
                        csv_line(r), what);
    if (!csv_utf8_valid(s))
        return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s:%d: %s is not valid UTF-8",
                        csv_name(r), csv_line(r), what);
    if (allow_null && *s == '\0') {
        *out = NULL;
        return 0;
    }
    if ((*out = xstrdup(s)) == NULL)
        return slv_errf(l->err, l->err_len, AREA_ENOMEM, "%s: out of memory", csv_name(r));
    return 0;
}

static int csv_num(loader *l, csv_reader *r, int col, const char *what, double lo, double hi,
                   double *out)
{
    const char *s = csv_field(r, col);

    if (s == NULL || csv_parse_double(s, lo, hi, out) < 0)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s:%d: %s \"%s\": expected a number in "
                        "[%g, %g]",
                        csv_name(r), csv_line(r), what, s ? s : "", lo, hi);
    return 0;
}

static int csv_int(loader *l, csv_reader *r, int col, const char *what, long lo, long hi, long *out)
{
    const char *s = csv_field(r, col);

    if (s == NULL || csv_parse_long(s, lo, hi, out) < 0)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s:%d: %s \"%s\": expected an integer in [%ld, %ld]", csv_name(r),
                        csv_line(r), what, s ? s : "", lo, hi);
    return 0;
}

static int csv_kind(loader *l, csv_reader *r, int col, char kind[16])
{
    const char *s = csv_field(r, col);
    size_t n = s ? strlen(s) : 0;

    if (s == NULL || n == 0 || n > 15 || strspn(s, "abcdefghijklmnopqrstuvwxyz_0123456789") != n)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s:%d: kind \"%s\": expected 1-15 characters a-z, 0-9, _", csv_name(r),
                        csv_line(r), s ? s : "");
    memcpy(kind, s, n + 1);
    return 0;
}

/* Opens dir/name and finds the columns; cols[k] for names[k]. */
static int csv_table(loader *l, const char *name, const char *const *names, int *cols,
                     csv_reader **out)
{
    char path[4096];
    csv_reader *r = NULL;
    int rc;

    path_join(path, sizeof(path), l->dir, name);
    if ((rc = csv_open_file(path, &r, l->err, l->err_len)) < 0)
        return rc == CSV_EOPEN ? AREA_EOPEN : rc == CSV_ENOMEM ? AREA_ENOMEM : AREA_EFORMAT;
    if (csv_read_header(r, l->err, l->err_len) < 0) {
        csv_destroy(r);
        return AREA_EFORMAT;
    }
    for (int k = 0; names[k] != NULL; k++)
        if ((cols[k] = csv_col(r, names[k])) < 0) {
            csv_destroy(r);
            return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s: no column \"%s\" in the header",
                            path, names[k]);
        }
    *out = r;
    return 0;
}

/* Next row or the end; rows beyond `limit` are an error. */
static int csv_row(loader *l, csv_reader *r, int done, long limit, const char *what)
{
    int rc = csv_next(r, l->err, l->err_len);

    if (rc < 0)
        return rc == CSV_ENOMEM ? AREA_ENOMEM : AREA_EFORMAT;
    if (rc > 0 && csv_n_fields(r) != csv_n_cols(r))
        return slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s:%d: %d fields, the header has %d",
                        csv_name(r), csv_line(r), csv_n_fields(r), csv_n_cols(r));
    if (rc > 0 && done >= limit)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s:%d: more %s than area.json's counts say (%ld)", csv_name(r),
                        csv_line(r), what, limit);
    return rc;
}

/* Room for one more element in *arr (n used, *cap allocated, zeroed when
 * added): arrays grow with the rows actually read, never from a count in a
 * file.  0 or AREA_ENOMEM. */
static int grow(loader *l, void **arr, int n, int *cap, size_t elem)
{
    void *p;
    int ncap;

    if (n < *cap)
        return 0;
    ncap = *cap ? 2 * *cap : 64;
    p = realloc(*arr, (size_t)ncap * elem);
    if (p == NULL)
        return slv_errf(l->err, l->err_len, AREA_ENOMEM, "%s: out of memory", l->dir);
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

static int cmp_stop_id(const void *a, const void *b)
{
    return strcmp((*(const area_stop *const *)a)->id, (*(const area_stop *const *)b)->id);
}

static int check_unique_ids(loader *l)
{
    area *a = l->a;
    const area_stop **s = malloc((a->n_stops > 0 ? (size_t)a->n_stops : 1) * sizeof(*s));
    int rc = 0;

    if (s == NULL)
        return slv_errf(l->err, l->err_len, AREA_ENOMEM, "%s: out of memory", l->dir);
    for (int i = 0; i < a->n_stops; i++)
        s[i] = &a->stops[i];
    qsort(s, (size_t)a->n_stops, sizeof(*s), cmp_stop_id);
    for (int i = 1; i < a->n_stops && rc == 0; i++)
        if (strcmp(s[i - 1]->id, s[i]->id) == 0)
            rc = slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s/stops.csv: stop id \"%s\" twice",
                          l->dir, s[i]->id);
    free(s);
    return rc;
}

static int read_stops(loader *l)
{
    static const char *const names[] = {"id", "name", "name_en", "lat", "lon",  "x",
                                        "y",  "node", "snap_m",  "far", "kind", NULL};
    int c[11], rc, far = 0, cap = 0;
    area *a = l->a;
    csv_reader *r;
    long node_lo = a->model == AREA_ROAD ? 0 : -1;
    long node_hi = a->model == AREA_ROAD ? l->n_nodes - 1 : -1;

    if ((rc = csv_table(l, "stops.csv", names, c, &r)) < 0)
        return rc;
    while ((rc = csv_row(l, r, a->n_stops, l->n_stops, "stops")) > 0) {
        if ((rc = grow(l, (void **)&a->stops, a->n_stops, &cap, sizeof(*a->stops))) < 0)
            goto out;
        area_stop *s = &a->stops[a->n_stops++];
        long node, f;
        if ((rc = csv_text(l, r, c[0], "id", 0, &s->id)) < 0 ||
            (rc = csv_text(l, r, c[1], "name", 0, &s->name)) < 0 ||
            (rc = csv_text(l, r, c[2], "name_en", 1, &s->name_en)) < 0 ||
            (rc = csv_num(l, r, c[3], "lat", -90, 90, &s->lat)) < 0 ||
            (rc = csv_num(l, r, c[4], "lon", -180, 180, &s->lon)) < 0 ||
            (rc = csv_num(l, r, c[5], "x", -MAX_COORD_M, MAX_COORD_M, &s->x)) < 0 ||
            (rc = csv_num(l, r, c[6], "y", -MAX_COORD_M, MAX_COORD_M, &s->y)) < 0 ||
            (rc = csv_int(l, r, c[7], "node", node_lo, node_hi, &node)) < 0 ||
            (rc = csv_num(l, r, c[8], "snap_m", 0, MAX_COORD_M, &s->snap_m)) < 0 ||
            (rc = csv_int(l, r, c[9], "far", 0, 1, &f)) < 0 ||
            (rc = csv_kind(l, r, c[10], s->kind)) < 0)
            goto out;
        if (s->id[0] == '\0') {
            rc = slv_errf(l->err, l->err_len, AREA_EFORMAT, "%s:%d: empty stop id", csv_name(r),
                          csv_line(r));
            goto out;
        }
        s->node = (int32_t)node;
        s->far = (int)f;
        far += s->far;
    }
    if (rc < 0)
        goto out;
    if (a->n_stops != l->n_stops || far != l->n_far) {
        rc = slv_errf(l->err, l->err_len, AREA_EFORMAT,
                      "%s: %d stops (%d far), but area.json's counts say %ld (%ld far)",
                      csv_name(r), a->n_stops, far, l->n_stops, l->n_far);
        goto out;
    }
    rc = check_unique_ids(l);
out:
    csv_destroy(r);
    return rc;
}

static int read_pois(loader *l)
{
    static const char *const names[] = {"name", "name_en", "kind",   "lat",
                                        "lon",  "stop",    "weight", NULL};
    int c[7], rc, cap = 0;
    area *a = l->a;
    csv_reader *r;

    if ((rc = csv_table(l, "pois.csv", names, c, &r)) < 0)
        return rc;
    while ((rc = csv_row(l, r, a->n_pois, l->n_pois, "points of interest")) > 0) {
        if ((rc = grow(l, (void **)&a->pois, a->n_pois, &cap, sizeof(*a->pois))) < 0)
            goto out;
        area_poi *p = &a->pois[a->n_pois++];
        long stop;
        if ((rc = csv_text(l, r, c[0], "name", 0, &p->name)) < 0 ||
            (rc = csv_text(l, r, c[1], "name_en", 1, &p->name_en)) < 0 ||
            (rc = csv_kind(l, r, c[2], p->kind)) < 0 ||
            (rc = csv_num(l, r, c[3], "lat", -90, 90, &p->lat)) < 0 ||
            (rc = csv_num(l, r, c[4], "lon", -180, 180, &p->lon)) < 0 ||
            (rc = csv_int(l, r, c[5], "stop", -1, l->n_stops - 1, &stop)) < 0 ||
            (rc = csv_num(l, r, c[6], "weight", 0, 1e12, &p->weight)) < 0)
            goto out;
        p->stop = (int32_t)stop;
    }
    if (rc < 0)
        goto out;
    if (a->n_pois != l->n_pois)
        rc = slv_errf(l->err, l->err_len, AREA_EFORMAT,
                      "%s: %d points of interest, but area.json's counts say %ld", csv_name(r),
                      a->n_pois, l->n_pois);
out:
    csv_destroy(r);
    return rc;
}

static int read_zones(loader *l)
{
    static const char *const names[] = {"name",     "name_en", "lat", "lon",
                                        "radius_m", "weight",  NULL};
    int c[6], rc, cap = 0;
    area *a = l->a;
    csv_reader *r;

    if ((rc = csv_table(l, "zones.csv", names, c, &r)) < 0)
        return rc;
    while ((rc = csv_row(l, r, a->n_zones, l->n_zones, "zones")) > 0) {
        if ((rc = grow(l, (void **)&a->zones, a->n_zones, &cap, sizeof(*a->zones))) < 0)
            goto out;
        area_zone *z = &a->zones[a->n_zones++];
        if ((rc = csv_text(l, r, c[0], "name", 0, &z->name)) < 0 ||
            (rc = csv_text(l, r, c[1], "name_en", 1, &z->name_en)) < 0 ||
            (rc = csv_num(l, r, c[2], "lat", -90, 90, &z->lat)) < 0 ||
            (rc = csv_num(l, r, c[3], "lon", -180, 180, &z->lon)) < 0 ||
            (rc = csv_num(l, r, c[4], "radius_m", 0, 1e6, &z->radius_m)) < 0 ||
            (rc = csv_num(l, r, c[5], "weight", 0, 1e12, &z->weight)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    if (a->n_zones != l->n_zones)
        rc = slv_errf(l->err, l->err_len, AREA_EFORMAT,
                      "%s: %d zones, but area.json's counts say %ld", csv_name(r), a->n_zones,
                      l->n_zones);
out:
    csv_destroy(r);
    return rc;
}

static int read_graph(loader *l)
{
    char path[4096];
    area *a = l->a;
    int rc;

    path_join(path, sizeof(path), l->dir, "graph.bin");
    rc = net_graph_load(path, &a->graph, l->err, l->err_len);
    if (rc < 0)
        return rc == NET_EOPEN ? AREA_EOPEN : rc == NET_ENOMEM ? AREA_ENOMEM : AREA_EFORMAT;
    if (a->graph->n_nodes != l->n_nodes || a->graph->n_edges != l->n_edges)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s: %d nodes and %d edges, but area.json's counts say %ld and %ld", path,
                        a->graph->n_nodes, a->graph->n_edges, l->n_nodes, l->n_edges);
    if (a->graph->epsg != a->epsg)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s: graph in EPSG:%d, but area.json says EPSG:%d", path, a->graph->epsg,
                        a->epsg);
    return 0;
}

static int read_matrix(loader *l, json_t *mobj)
{
    char path[4096], hex[32];
    area *a = l->a;
    size_t nn = (size_t)a->n_stops * (size_t)a->n_stops;
    uint64_t key = matrix_key(a);
    struct stat st;
    long n;
    int rc;

    if ((rc = j_int(l, mobj, "n", 0, AREA_MAX_STOPS, &n)) < 0)
        return rc;
    if (n != a->n_stops)
        return jbad(l, "matrix", "\"n\" differs from the number of stops");
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)key);
    if (!json_is_string(json_object_get(mobj, "key")) ||
        strcmp(json_string_value(json_object_get(mobj, "key")), hex) != 0)
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s/area.json: matrix key differs from the graph and stops in the bundle "
                        "(%s): files from different builds were mixed",
                        l->dir, hex);
    /* The file must be the size n implies before n^2 is allocated. */
    path_join(path, sizeof(path), l->dir, "matrix.bin");
    if (stat(path, &st) != 0)
        return slv_errf(l->err, l->err_len, AREA_EOPEN, "%s: cannot read: %s", path,
                        strerror(errno));
    if ((uint64_t)st.st_size != net_matrix_file_bytes(a->n_stops))
        return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                        "%s: %lld bytes, but a %d x %d matrix file has %llu (truncated or not this "
                        "bundle's matrix)",
                        path, (long long)st.st_size, a->n_stops, a->n_stops,
                        (unsigned long long)net_matrix_file_bytes(a->n_stops));
    a->time_s = malloc((nn > 0 ? nn : 1) * sizeof(int32_t));
    a->dist_m = malloc((nn > 0 ? nn : 1) * sizeof(int32_t));
    if (a->time_s == NULL || a->dist_m == NULL)
        return slv_errf(l->err, l->err_len, AREA_ENOMEM, "%s: out of memory for the matrix",
                        l->dir);
    rc = net_matrix_read(path, key, a->n_stops, a->time_s, a->dist_m, l->err, l->err_len);
    if (rc < 0)
        return rc == NET_EOPEN ? AREA_EOPEN : rc == NET_ENOMEM ? AREA_ENOMEM : AREA_EFORMAT;
    for (int i = 0; i < a->n_stops; i++)
        if (a->time_s[(size_t)i * (size_t)a->n_stops + (size_t)i] != 0)
            return slv_errf(l->err, l->err_len, AREA_EFORMAT,
                            "%s: travel time from stop %d to itself is not 0", path, i);
    return 0;
}

int area_load(const char *dir, area **out, char *err, size_t err_len)
{
    json_t *root = NULL, *mobj = NULL;
    loader l;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (dir == NULL || out == NULL)
        return slv_errf(err, err_len, AREA_EINVAL, "area_load: invalid arguments");
    if (strlen(dir) > 3000)
        return slv_errf(err, err_len, AREA_EINVAL, "%.40s...: folder name too long", dir);
    memset(&l, 0, sizeof(l));
    l.dir = dir;
    l.err = err;
    l.err_len = err_len;
    l.a = calloc(1, sizeof(*l.a));
    if (l.a == NULL)
        return slv_errf(err, err_len, AREA_ENOMEM, "%s: out of memory", dir);
    if ((rc = read_manifest(&l, &mobj, &root)) < 0)
        goto out;
    if (l.a->model == AREA_ROAD && (rc = read_graph(&l)) < 0)
        goto out;
    if ((rc = read_stops(&l)) < 0 || (rc = read_pois(&l)) < 0 || (rc = read_zones(&l)) < 0)
        goto out;
    if (l.a->model == AREA_ROAD && (rc = read_matrix(&l, mobj)) < 0)
        goto out;
    *out = l.a;
    l.a = NULL;
    rc = 0;
out:
    json_decref(root);
    area_destroy(l.a);
    return rc;
}
