/*
 * stops.c - the stops of an area from outside files: a GTFS / GTFS-JP feed
 * (stops.txt in a folder or a .zip) or a plain CSV list.
 *
 * Both go through the strict CSV reader (data/csv): columns are found by
 * header name in any order, every row must have as many fields as the header,
 * and each value is checked where it is read, with the file and line in the
 * message.  A feed in another encoding (Shift_JIS exports exist) is refused
 * rather than carried into the area as mojibake: ids and names must be UTF-8.
 *
 * GTFS: only boarding points are stops - location_type empty or 0.  Stations
 * (1), entrances (2), generic nodes (3) and boarding areas (4) are skipped;
 * the Muroran feed, for instance, lists 240 parent stations beside its 466
 * poles.  stop_id is kept verbatim as a string ("000001_001": zero padding
 * matters).  Coordinates must lie in -90..90 / -180..180 and not be (0, 0),
 * the placeholder an export writes for a missing position.  A stop_id seen
 * twice is an error naming both lines.
 *
 * CSV: id, name, lat, lon (or the GTFS names stop_id, stop_name, stop_lat,
 * stop_lon); name is optional; an optional kind column says "stop" or
 * "depot"; an optional location_type column is honoured as in GTFS.
 *
 * The stops come back in file order with kind "stop" (or the CSV's kind), no
 * road node (-1) and no projection (x = y = 0): area_build projects and snaps
 * them.  Duplicates are found by sorting (id, row) pairs, O(n log n).
 */
#include "data/area/area.h"
#include "solver/errf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/csv/csv.h"
#include "data/csv/zip.h"

/* The CSV reader's codes in the area's terms (its message is kept). */
static int from_csv(int rc)
{
    switch (rc) {
    case CSV_ENOMEM:
        return AREA_ENOMEM;
    case CSV_EOPEN:
        return AREA_EOPEN;
    case CSV_EINVAL:
        return AREA_EINVAL;
    default:
        return AREA_EFORMAT;
    }
}

void area_stops_free(area_stop *stops, int n)
{
    if (stops == NULL)
        return;
    for (int i = 0; i < n; i++) {
        free(stops[i].id);
        free(stops[i].name);
        free(stops[i].name_en);
    }
    free(stops);
}

typedef struct stop_cols {
    int id, name, lat, lon, location_type, kind;
} stop_cols;

/* First of the given header names present, or -1. */
static int col_any(const csv_reader *r, const char *a, const char *b)
{
    int c = csv_col(r, a);

    if (c < 0 && b != NULL)
        c = csv_col(r, b);
    return c;
}

static int find_cols(const csv_reader *r, int gtfs, stop_cols *c, char *err, size_t err_len)
{
    c->id = gtfs ? csv_col(r, "stop_id") : col_any(r, "id", "stop_id");
    c->name = gtfs ? csv_col(r, "stop_name") : col_any(r, "name", "stop_name");
    c->lat = gtfs ? csv_col(r, "stop_lat") : col_any(r, "lat", "stop_lat");
    c->lon = gtfs ? csv_col(r, "stop_lon") : col_any(r, "lon", "stop_lon");
    c->location_type = csv_col(r, "location_type");
    c->kind = gtfs ? -1 : csv_col(r, "kind");
    if (c->id < 0 || c->lat < 0 || c->lon < 0)
        return slv_errf(err, err_len, AREA_EFORMAT, "%s:%d: header lacks the %s column (%s)",
                        csv_name(r), csv_line(r),
                        c->id < 0    ? (gtfs ? "stop_id" : "id")
                        : c->lat < 0 ? (gtfs ? "stop_lat" : "lat")
                                     : (gtfs ? "stop_lon" : "lon"),
                        gtfs ? "stops.txt needs stop_id, stop_lat, stop_lon"
                             : "a stop list needs id, lat, lon (or stop_id, stop_lat, stop_lon)");
    return 0;
}

/* Fills s from the current row; 1 if the row is a stop, 0 if skipped, or AREA_E*. */
static int read_row(const csv_reader *r, const stop_cols *c, area_stop *s, char *err,
                    size_t err_len)
{
    const char *name = csv_name(r), *id, *nm, *f;
    int line = csv_line(r);
    long lt = 0;

    if (csv_n_fields(r) != csv_n_cols(r))
        return slv_errf(err, err_len, AREA_EFORMAT, "%s:%d: row has %d fields, header has %d", name,
                        line, csv_n_fields(r), csv_n_cols(r));
    if (c->location_type >= 0) {
        f = csv_field(r, c->location_type);
        if (f[strspn(f, " \t")] != '\0' && csv_parse_long(f, 0, 4, &lt) < 0)
            return slv_errf(err, err_len, AREA_EFORMAT,
                            "%s:%d: location_type \"%.40s\" is not 0..4 (or empty)", name, line, f);
        if (lt != 0)
            return 0;
    }
    id = csv_field(r, c->id);
    nm = c->name >= 0 ? csv_field(r, c->name) : "";
    if (*id == '\0')
        return slv_errf(err, err_len, AREA_EFORMAT, "%s:%d: empty stop id", name, line);
    if (!csv_utf8_valid(id) || !csv_utf8_valid(nm))
        return slv_errf(err, err_len, AREA_EFORMAT,
                        "%s:%d: stop id or name is not UTF-8 (convert the file, e.g. from "
                        "Shift_JIS, to UTF-8)",
                        name, line);
    f = csv_field(r, c->lat);
    if (csv_parse_double(f, -90.0, 90.0, &s->lat) < 0)
        return slv_errf(err, err_len, AREA_EFORMAT,
                        "%s:%d: stop %.60s: latitude \"%.40s\" is not a number in -90..90", name,
                        line, id, f);
    f = csv_field(r, c->lon);
    if (csv_parse_double(f, -180.0, 180.0, &s->lon) < 0)
        return slv_errf(err, err_len, AREA_EFORMAT,
                        "%s:%d: stop %.60s: longitude \"%.40s\" is not a number in -180..180", name,
                        line, id, f);
    if (s->lat == 0.0 && s->lon == 0.0)
        return slv_errf(err, err_len, AREA_EFORMAT,
                        "%s:%d: stop %.60s at (0, 0): a missing position, not a real stop", name,
                        line, id);
    snprintf(s->kind, sizeof(s->kind), "stop");
    if (c->kind >= 0) {
        f = csv_field(r, c->kind);
        if (strcmp(f, "depot") == 0)
            snprintf(s->kind, sizeof(s->kind), "depot");
        else if (*f != '\0' && strcmp(f, "stop") != 0)
            return slv_errf(err, err_len, AREA_EFORMAT,
                            "%s:%d: kind \"%.40s\" is neither stop nor depot", name, line, f);
    }
    s->id = strdup(id);
    s->name = strdup(nm);
    if (s->id == NULL || s->name == NULL)
        return slv_errf(err, err_len, AREA_ENOMEM, "%s: out of memory", name);
    s->x = s->y = 0.0;
    s->node = -1;
    s->snap_m = 0.0;
    s->far = 0;
    return 1;
}

typedef struct id_ref {
    const char *id;
    int index, line;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);

    if (c != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* Stop ids must be distinct; lines[i] is the line stop i came from. */
static int check_unique(const csv_reader *r, const area_stop *stops, const int *lines, int n,
                        char *err, size_t err_len)
{
    id_ref *refs = malloc((size_t)n * sizeof(*refs));
    int rc = 0;

    if (refs == NULL)
        return slv_errf(err, err_len, AREA_ENOMEM, "%s: out of memory", csv_name(r));
    for (int i = 0; i < n; i++) {
        refs[i].id = stops[i].id;
        refs[i].index = i;
        refs[i].line = lines[i];
    }
    qsort(refs, (size_t)n, sizeof(*refs), cmp_id_ref);
    for (int i = 1; i < n; i++) {
        if (strcmp(refs[i - 1].id, refs[i].id) == 0) {
            rc = slv_errf(err, err_len, AREA_EFORMAT,
                          "%s:%d: stop id %.60s appears again (first on line %d)", csv_name(r),
                          refs[i].line, refs[i].id, refs[i - 1].line);
            break;
        }
    }
    free(refs);
    return rc;
}

/* Reads all stops from an open reader; takes no ownership of r. */
static int read_stops(csv_reader *r, int gtfs, area_stop **stops_out, int *n_out, char *err,
                      size_t err_len)
{
    area_stop *stops = NULL, *grown;
    int *lines = NULL, *glines;
    int n = 0, cap = 0, rc;
    stop_cols c;

    rc = csv_read_header(r, err, err_len);
    if (rc < 0) {
        rc = from_csv(rc);
        goto out;
    }
    rc = find_cols(r, gtfs, &c, err, err_len);
    if (rc < 0)
        goto out;
    while ((rc = csv_next(r, err, err_len)) > 0) {
        if (n == cap) {
            int ncap = cap ? cap * 2 : 256;
            grown = realloc(stops, (size_t)ncap * sizeof(*stops));
            if (grown != NULL)
                stops = grown;
            glines = realloc(lines, (size_t)ncap * sizeof(*lines));
            if (glines != NULL)
                lines = glines;
            if (grown == NULL || glines == NULL) {
                rc = slv_errf(err, err_len, AREA_ENOMEM, "%s: out of memory", csv_name(r));
                goto out;
            }
            cap = ncap;
        }
        memset(&stops[n], 0, sizeof(stops[n]));
        rc = read_row(r, &c, &stops[n], err, err_len);
        if (rc < 0) {
            n++; /* free what the row got */
            goto out;
        }
        if (rc == 1) {
            lines[n] = csv_line(r);
            n++;
            if (n > AREA_MAX_STOPS) {
                rc = slv_errf(err, err_len, AREA_EFORMAT,
                              "%s:%d: more than %d stops, the most an area holds; cut the list "
                              "to the service area",
                              csv_name(r), csv_line(r), AREA_MAX_STOPS);
                goto out;
            }
        }
    }
    if (rc < 0) {
        rc = from_csv(rc);
        goto out;
    }
    if (n == 0) {
        rc = slv_errf(err, err_len, AREA_EEMPTY, "%s: no stops%s", csv_name(r),
                      c.location_type >= 0 ? " with location_type 0 or empty" : "");
        goto out;
    }
    rc = check_unique(r, stops, lines, n, err, err_len);
    if (rc < 0)
        goto out;
    *stops_out = stops;
    *n_out = n;
    stops = NULL;
    n = 0;
out:
    area_stops_free(stops, n);
    free(lines);
    return rc < 0 ? rc : 0;
}

/* 1 if the file starts like a zip archive, 0 if not, -1 if unreadable. */
static int looks_like_zip(const char *path)
{
    unsigned char sig[4];
    FILE *f = fopen(path, "rb");
    size_t got;

    if (f == NULL)
        return -1;
    got = fread(sig, 1, sizeof(sig), f);
    fclose(f);
    return got == 4 && sig[0] == 'P' && sig[1] == 'K' &&
           ((sig[2] == 3 && sig[3] == 4) || (sig[2] == 5 && sig[3] == 6));
}

static int ends_with_zip(const char *path)
{
    size_t l = strlen(path);

    return l >= 4 && path[l - 4] == '.' && (path[l - 3] | 0x20) == 'z' &&
           (path[l - 2] | 0x20) == 'i' && (path[l - 1] | 0x20) == 'p';
}

int area_stops_read_gtfs(const char *path, area_stop **stops, int *n, char *err, size_t err_len)
{
    csv_reader *r = NULL;
    char *data = NULL, *sub = NULL;
    size_t len = 0;
    struct stat st;
    int rc = 0, zip;

    if (path == NULL || stops == NULL || n == NULL)
        return slv_errf(err, err_len, AREA_EINVAL, "area_stops_read_gtfs: missing argument");
    *stops = NULL;
    *n = 0;
    if (stat(path, &st) != 0) {
        rc = slv_errf(err, err_len, AREA_EOPEN, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        size_t l = strlen(path) + sizeof("/stops.txt");
        sub = malloc(l);
        if (sub == NULL) {
            rc = slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(sub, l, "%s/stops.txt", path);
        if (stat(sub, &st) != 0) {
            rc = slv_errf(err, err_len, AREA_EOPEN, "%s: no stops.txt in this GTFS folder", path);
            goto out;
        }
        rc = csv_open_file(sub, &r, err, err_len);
    } else {
        zip = looks_like_zip(path);
        if (zip < 0) {
            rc = slv_errf(err, err_len, AREA_EOPEN, "%s: cannot open: %s", path, strerror(errno));
            goto out;
        }
        if (!zip && ends_with_zip(path)) {
            rc = slv_errf(err, err_len, AREA_EFORMAT,
                          "%s: not a zip archive (it does not start with a zip header)", path);
            goto out;
        }
        if (zip) {
            size_t l = strlen(path) + sizeof(":stops.txt");

            rc = zip_read_entry(path, "stops.txt", CSV_MAX_FILE_BYTES, &data, &len, err, err_len);
            if (rc < 0) {
                rc = rc == ZIP_ENOMEM ? AREA_ENOMEM : rc == ZIP_EOPEN ? AREA_EOPEN : AREA_EFORMAT;
                goto out;
            }
            sub = malloc(l);
            if (sub == NULL) {
                rc = slv_errf(err, err_len, AREA_ENOMEM, "out of memory");
                goto out;
            }
            snprintf(sub, l, "%s:stops.txt", path);
            rc = csv_open_mem(sub, data, len, &r, err, err_len);
        } else {
            rc = csv_open_file(path, &r, err, err_len); /* stops.txt given directly */
        }
    }
    if (rc < 0) {
        rc = from_csv(rc);
        goto out;
    }
    rc = read_stops(r, 1, stops, n, err, err_len);
out:
    csv_destroy(r);
    free(data);
    free(sub);
    return rc;
}

int area_stops_read_csv(const char *path, area_stop **stops, int *n, char *err, size_t err_len)
{
    csv_reader *r = NULL;
    int rc;

    if (path == NULL || stops == NULL || n == NULL)
        return slv_errf(err, err_len, AREA_EINVAL, "area_stops_read_csv: missing argument");
    *stops = NULL;
    *n = 0;
    rc = csv_open_file(path, &r, err, err_len);
    if (rc < 0)
        return from_csv(rc);
    rc = read_stops(r, 0, stops, n, err, err_len);
    csv_destroy(r);
    return rc;
}
