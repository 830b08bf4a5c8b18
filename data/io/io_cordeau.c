/*
 * io_cordeau.c - Cordeau's DARP benchmark files, both layouts.
 *
 * Header `K n T Q L` (vehicles, requests or user nodes, maximum route
 * duration, capacity, maximum ride time), then one line `id x y d q e l` per
 * node.  Two layouts share that shape (see the benchmark README):
 *
 *   2006 (a/b sets):  field 2 = n requests, 2n+2 node lines, node 0 the start
 *                     depot, node 2n+1 the end depot;
 *   2003 (pr set):    field 2 = 2n user nodes, 2n+1 node lines, node 0 both
 *                     depots.
 *
 * They are told apart by counting the node lines actually present, which also
 * catches truncated files and headers that lie: nothing is allocated before
 * the count matches.  Request i is (pickup node i, drop-off node n+i); its
 * load is the pickup's q, and the drop-off must carry exactly -q.
 *
 * The matrix is over the file's nodes (location = node index) with times and
 * distances both the unrounded Euclidean distance, which reproduces the
 * published objective values.  Objective: distance only.  Every vehicle is the
 * same: one capacity configuration {Q}, shift from the start depot's opening
 * to the end depot's closing, duration at most T.  Requests are optional in
 * the solver's terms but carry a penalty far above any route cost, so the
 * search serves them all whenever it can.
 */
#include "data/io/io_int.h"
#include "solver/errf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    double x, y, d, e, l;
    long long q;
} node;

static int parse_header(io_text *t, long long *k, long long *n, double *dur_t, long long *cap,
                        double *ride_l, char *err, size_t err_len)
{
    char *f[8];
    int nf = io_fields(t->line[0], f, 7);
    int ln = t->line_no[0];
    const char *path = t->path;

    if (nf != 5)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: header: expected 5 fields \"K n T Q L\" (Cordeau DARP), found %d%s",
                        path, ln, nf > 7 ? 8 : nf, nf > 7 ? " or more" : "");
    if (io_parse_int(f[0], 1, (long long)t->len, k) < 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: header field 1 (vehicles K): \"%s\" is not a count from 1 to %zu",
                        path, ln, f[0], t->len);
    if (io_parse_int(f[1], 1, LLONG_MAX / 4, n) < 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: header field 2 (requests n): \"%s\" is not a positive count", path,
                        ln, f[1]);
    if (io_parse_double(f[2], dur_t) < 0 || *dur_t < 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: header field 3 (maximum route duration T): \"%s\" is not a "
                        "non-negative number",
                        path, ln, f[2]);
    if (io_parse_int(f[3], 0, INT_MAX, cap) < 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: header field 4 (capacity Q): \"%s\" is not a non-negative integer",
                        path, ln, f[3]);
    if (io_parse_double(f[4], ride_l) < 0 || *ride_l < 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: header field 5 (maximum ride time L): \"%s\" is not a "
                        "non-negative number",
                        path, ln, f[4]);
    return 0;
}

static int parse_node(io_text *t, int i, node *nd, char *err, size_t err_len)
{
    static const char *names[7] = {"id", "x", "y", "service time d", "load q", "open e", "close l"};
    char *f[8];
    int nf = io_fields(t->line[i + 1], f, 7);
    int ln = t->line_no[i + 1];
    double v[7];
    long long id;

    if (nf != 7)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: node line: expected 7 fields \"id x y d q e l\", found %d%s",
                        t->path, ln, nf > 7 ? 8 : nf, nf > 7 ? " or more" : "");
    if (io_parse_int(f[0], 0, INT_MAX, &id) < 0 || id != i)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node id \"%s\": expected %d", t->path, ln,
                        f[0], i);
    for (int k = 1; k < 7; k++)
        if (io_parse_double(f[k], &v[k]) < 0)
            return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node %d: %s \"%s\" is not a number",
                            t->path, ln, i, names[k], f[k]);
    if (io_parse_int(f[4], INT_MIN / 2, INT_MAX / 2, &nd->q) < 0)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node %d: load q \"%s\" is not an integer",
                        t->path, ln, i, f[4]);
    if (v[3] < 0)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node %d: negative service time", t->path,
                        ln, i);
    if (v[5] > v[6])
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: node %d: time window [%g, %g] closes before it opens", t->path, ln,
                        i, v[5], v[6]);
    nd->x = v[1];
    nd->y = v[2];
    nd->d = v[3];
    nd->e = v[5];
    nd->l = v[6];
    return 0;
}

int io_read_cordeau(io_instance *in, io_text *t, char *err, size_t err_len)
{
    long long k_veh, n_field, cap;
    double dur_t, ride_l;
    int n_nodes, n_req, n_locs, end_depot, rc;
    node *nd = NULL;
    double *x = NULL, *y = NULL, *mat = NULL, penalty;
    const char *path = t->path;

    rc = parse_header(t, &k_veh, &n_field, &dur_t, &cap, &ride_l, err, err_len);
    if (rc < 0)
        goto out;
    n_nodes = t->n_lines - 1;
    if (n_field <= n_nodes && 2 * n_field + 2 == n_nodes) {
        in->layout = 2006;
        n_req = (int)n_field;
        end_depot = 2 * n_req + 1;
    } else if (n_field <= n_nodes && n_field + 1 == n_nodes && n_field % 2 == 0) {
        in->layout = 2003;
        n_req = (int)(n_field / 2);
        end_depot = 0;
    } else {
        rc = slv_errf(err, err_len, IO_EPARSE,
                      "%s:%d: header field 2 is %lld, so the file needs %lld node lines (a/b "
                      "layout, 2n+2) or %lld (pr layout, n+1, n even), but it has %d",
                      path, t->line_no[0], n_field, 2 * n_field + 2, n_field + 1, n_nodes);
        goto out;
    }
    n_locs = n_nodes;
    nd = calloc((size_t)n_nodes, sizeof(*nd));
    x = calloc((size_t)n_nodes, sizeof(*x));
    y = calloc((size_t)n_nodes, sizeof(*y));
    if (nd == NULL || x == NULL || y == NULL) {
        rc = slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n_nodes; i++) {
        rc = parse_node(t, i, &nd[i], err, err_len);
        if (rc < 0)
            goto out;
        x[i] = nd[i].x;
        y[i] = nd[i].y;
    }
    for (int i = 0; i < n_nodes; i++) {
        int ln = t->line_no[i + 1];
        if (i == 0 || i == end_depot) {
            if (nd[i].q != 0 || nd[i].d != 0) {
                rc = slv_errf(err, err_len, IO_EPARSE,
                              "%s:%d: depot node %d must have load 0 and service time 0", path, ln,
                              i);
                goto out;
            }
        } else if (i <= n_req) {
            if (nd[i].q < 0 || nd[i].q > cap) {
                rc = slv_errf(err, err_len, IO_EPARSE,
                              "%s:%d: pickup node %d: load %lld outside [0, capacity %lld]", path,
                              ln, i, nd[i].q, cap);
                goto out;
            }
        } else if (nd[i].q != -nd[i - n_req].q) {
            rc = slv_errf(err, err_len, IO_EPARSE,
                          "%s:%d: drop-off node %d has load %lld, but its pickup node %d has %lld "
                          "(expected %lld)",
                          path, ln, i, nd[i].q, i - n_req, nd[i - n_req].q, -nd[i - n_req].q);
            goto out;
        }
    }

    rc = io_bench_setup(in, path, n_req, (int)k_veh, n_locs, x, y, &mat, &penalty, err, err_len);
    if (rc < 0)
        goto out;
    for (int r = 0; r < n_req && rc == 0; r++) {
        const node *p = &nd[r + 1], *dd = &nd[n_req + r + 1];
        slv_request req;

        memset(&req, 0, sizeof(req));
        req.pickup_loc = r + 1;
        req.drop_loc = n_req + r + 1;
        req.pickup_open = p->e;
        req.pickup_close = p->l;
        req.drop_open = dd->e;
        req.drop_close = dd->l;
        req.pickup_service = p->d;
        req.drop_service = dd->d;
        req.max_ride = ride_l;
        req.load[0] = (int)p->q;
        req.promised = 0;
        req.unserved_penalty = penalty;
        req.onboard_vehicle = -1;
        req.ext_id = r + 1;
        if (slv_instance_add_request(in->inst, &req) < 0)
            rc = IO_ENOMEM;
        if (rc == 0)
            rc = io_id_set_int(&in->request_id[r], r + 1);
        if (rc == 0)
            rc = io_id_set_int(&in->stop_id[SLV_PICKUP(r)], r + 1);
        if (rc == 0)
            rc = io_id_set_int(&in->stop_id[SLV_DROP(r)], n_req + r + 1);
    }
    if (rc == 0)
        rc = io_bench_fleet(in, (int)k_veh, 0, end_depot, (int)cap, nd[0].e, nd[end_depot].l,
                            dur_t, 0);
    if (rc < 0) {
        rc = slv_errf(err, err_len, rc, "%s: out of memory", path);
        goto out;
    }
out:
    free(nd);
    free(x);
    free(y);
    free(mat);
    return rc;
}
