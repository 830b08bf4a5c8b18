/*
 * io_lilim.c - Li & Lim's PDPTW benchmark files.
 *
 * Header `K Q speed` (vehicles, capacity, a speed the benchmark never uses),
 * then one line `id x y demand e l s p d` per node, node 0 the depot.  Lines
 * are tab separated with CRLF endings in the distributed files; any white
 * space and either line ending is accepted.
 *
 * Pickups and deliveries are interleaved in no particular order and paired by
 * the last two columns: a pickup names its delivery in d, a delivery its
 * pickup in p.  The reader insists on a perfect pairing: every pickup's d is a
 * delivery whose p points back, with the opposite demand, and every delivery
 * is reached that way.  Requests are numbered in increasing pickup id.
 *
 * Model: Euclidean times and distances in double, no rounding; K identical
 * vehicles of capacity Q starting and ending at the depot within its window
 * (the planning horizon); no ride-time or duration limit; the objective is
 * vehicles first, then distance.  As with Cordeau's files, every request
 * carries a penalty far above any route cost so that all are served.
 */
#include "data/io/io_int.h"
#include "solver/errf.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    double x, y, e, l, s;
    long long demand, p, d;
} node;

static int parse_node(io_text *t, int i, int n_nodes, node *nd, char *err, size_t err_len)
{
    static const char *names[9] = {"id",      "x",       "y",      "demand",  "open e",
                                   "close l", "service", "pickup", "delivery"};
    char *f[10];
    int nf = io_fields(t->line[i + 1], f, 9);
    int ln = t->line_no[i + 1];
    double v[9];
    long long id;

    if (nf != 9)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: node line: expected 9 fields \"id x y demand e l s p d\", found "
                        "%d%s",
                        t->path, ln, nf > 9 ? 10 : nf, nf > 9 ? " or more" : "");
    if (io_parse_int(f[0], 0, INT_MAX, &id) < 0 || id != i)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node id \"%s\": expected %d", t->path, ln,
                        f[0], i);
    for (int k = 1; k < 9; k++)
        if (io_parse_double(f[k], &v[k]) < 0)
            return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node %d: %s \"%s\" is not a number",
                            t->path, ln, i, names[k], f[k]);
    if (io_parse_int(f[3], INT_MIN / 2, INT_MAX / 2, &nd->demand) < 0)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node %d: demand \"%s\" is not an integer",
                        t->path, ln, i, f[3]);
    if (io_parse_int(f[7], 0, n_nodes - 1, &nd->p) < 0 ||
        io_parse_int(f[8], 0, n_nodes - 1, &nd->d) < 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: node %d: pickup/delivery columns \"%s\" \"%s\" are not node ids "
                        "0..%d",
                        t->path, ln, i, f[7], f[8], n_nodes - 1);
    if (v[6] < 0)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: node %d: negative service time", t->path,
                        ln, i);
    if (v[4] > v[5])
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: node %d: time window [%g, %g] closes before it opens", t->path, ln,
                        i, v[4], v[5]);
    nd->x = v[1];
    nd->y = v[2];
    nd->e = v[4];
    nd->l = v[5];
    nd->s = v[6];
    return 0;
}

/* Checks the pairing and fills pick[0..n_req) with pickup node ids in order. */
static int pair_nodes(io_text *t, const node *nd, int n_nodes, int *pick, int *n_req, char *err,
                      size_t err_len)
{
    const char *path = t->path;
    int n = 0;

    if (nd[0].demand != 0 || nd[0].p != 0 || nd[0].d != 0 || nd[0].s != 0)
        return slv_errf(err, err_len, IO_EPARSE,
                        "%s:%d: depot node 0 must have demand 0, service 0 and no pickup/delivery "
                        "partner",
                        path, t->line_no[1]);
    for (int i = 1; i < n_nodes; i++) {
        int ln = t->line_no[i + 1];
        if ((nd[i].p == 0) == (nd[i].d == 0))
            return slv_errf(err, err_len, IO_EPARSE,
                            "%s:%d: node %d must name either its delivery (last column) or its "
                            "pickup (second to last), not %s",
                            path, ln, i, nd[i].p == 0 ? "neither" : "both");
        if (nd[i].d != 0) {
            const node *dl = &nd[nd[i].d];
            if (nd[i].demand < 0)
                return slv_errf(err, err_len, IO_EPARSE,
                                "%s:%d: pickup node %d has negative demand %lld", path, ln, i,
                                nd[i].demand);
            if (dl->p != i)
                return slv_errf(err, err_len, IO_EPARSE,
                                "%s:%d: pickup node %d names delivery %lld, but node %lld names "
                                "pickup %lld",
                                path, ln, i, nd[i].d, nd[i].d, dl->p);
            if (dl->demand != -nd[i].demand)
                return slv_errf(err, err_len, IO_EPARSE,
                                "%s:%d: pickup node %d has demand %lld, its delivery %lld has %lld "
                                "(expected %lld)",
                                path, ln, i, nd[i].demand, nd[i].d, dl->demand, -nd[i].demand);
            pick[n++] = i;
        } else if (nd[nd[i].p].d != i) {
            return slv_errf(err, err_len, IO_EPARSE,
                            "%s:%d: delivery node %d names pickup %lld, which names delivery %lld",
                            path, ln, i, nd[i].p, nd[nd[i].p].d);
        }
    }
    if (n == 0)
        return slv_errf(err, err_len, IO_EPARSE, "%s:%d: no pickup and delivery pairs", path,
                        t->line_no[0]);
    *n_req = n;
    return 0;
}

int io_read_lilim(io_instance *in, io_text *t, char *err, size_t err_len)
{
    const char *path = t->path;
    char *f[8];
    int nf, n_nodes, n_req = 0, rc = 0;
    long long k_veh, cap;
    double speed, *x = NULL, *y = NULL, *mat = NULL, penalty;
    node *nd = NULL;
    int *pick = NULL;

    nf = io_fields(t->line[0], f, 7);
    if (nf != 3) {
        rc = slv_errf(err, err_len, IO_EPARSE,
                      "%s:%d: header: expected 3 fields \"K Q speed\" (Li & Lim), found %d%s", path,
                      t->line_no[0], nf > 7 ? 8 : nf, nf > 7 ? " or more" : "");
        goto out;
    }
    if (io_parse_int(f[0], 1, (long long)t->len, &k_veh) < 0) {
        rc = slv_errf(err, err_len, IO_EPARSE,
                      "%s:%d: header field 1 (vehicles K): \"%s\" is not a count from 1 to %zu",
                      path, t->line_no[0], f[0], t->len);
        goto out;
    }
    if (io_parse_int(f[1], 0, INT_MAX, &cap) < 0) {
        rc = slv_errf(err, err_len, IO_EPARSE,
                      "%s:%d: header field 2 (capacity Q): \"%s\" is not a non-negative integer",
                      path, t->line_no[0], f[1]);
        goto out;
    }
    if (io_parse_double(f[2], &speed) < 0) {
        rc = slv_errf(err, err_len, IO_EPARSE,
                      "%s:%d: header field 3 (speed): \"%s\" is not a number", path, t->line_no[0],
                      f[2]);
        goto out;
    }
    n_nodes = t->n_lines - 1;
    if (n_nodes < 3) {
        rc = slv_errf(err, err_len, IO_EPARSE,
                      "%s:%d: expected a depot line and at least one pickup/delivery pair, found "
                      "%d node line%s",
                      path, t->line_no[t->n_lines - 1], n_nodes, n_nodes == 1 ? "" : "s");
        goto out;
    }
    nd = calloc((size_t)n_nodes, sizeof(*nd));
    x = calloc((size_t)n_nodes, sizeof(*x));
    y = calloc((size_t)n_nodes, sizeof(*y));
    pick = calloc((size_t)n_nodes, sizeof(*pick));
    if (nd == NULL || x == NULL || y == NULL || pick == NULL) {
        rc = slv_errf(err, err_len, IO_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n_nodes; i++) {
        rc = parse_node(t, i, n_nodes, &nd[i], err, err_len);
        if (rc < 0)
            goto out;
        x[i] = nd[i].x;
        y[i] = nd[i].y;
    }
    rc = pair_nodes(t, nd, n_nodes, pick, &n_req, err, err_len);
    if (rc < 0)
        goto out;
    for (int r = 0; r < n_req; r++) {
        if (nd[pick[r]].demand > cap) {
            rc = slv_errf(err, err_len, IO_EPARSE,
                          "%s:%d: pickup node %d: demand %lld exceeds the capacity %lld", path,
                          t->line_no[pick[r] + 1], pick[r], nd[pick[r]].demand, cap);
            goto out;
        }
    }

    rc = io_bench_setup(in, path, n_req, (int)k_veh, n_nodes, x, y, &mat, &penalty, err, err_len);
    if (rc < 0)
        goto out;
    for (int r = 0; r < n_req && rc == 0; r++) {
        int pi = pick[r], di = (int)nd[pick[r]].d;
        slv_request req;

        memset(&req, 0, sizeof(req));
        req.pickup_loc = pi;
        req.drop_loc = di;
        req.pickup_open = nd[pi].e;
        req.pickup_close = nd[pi].l;
        req.drop_open = nd[di].e;
        req.drop_close = nd[di].l;
        req.pickup_service = nd[pi].s;
        req.drop_service = nd[di].s;
        req.max_ride = SLV_INF;
        req.load[0] = (int)nd[pi].demand;
        req.unserved_penalty = penalty;
        req.onboard_vehicle = -1;
        req.ext_id = pi;
        if (slv_instance_add_request(in->inst, &req) < 0)
            rc = IO_ENOMEM;
        if (rc == 0)
            rc = io_id_set_int(&in->request_id[r], pi);
        if (rc == 0)
            rc = io_id_set_int(&in->stop_id[SLV_PICKUP(r)], pi);
        if (rc == 0)
            rc = io_id_set_int(&in->stop_id[SLV_DROP(r)], di);
    }
    if (rc == 0)
        rc = io_bench_fleet(in, (int)k_veh, 0, 0, (int)cap, nd[0].e, nd[0].l, SLV_INF, 1);
    if (rc < 0) {
        rc = slv_errf(err, err_len, rc, "%s: out of memory", path);
        goto out;
    }
out:
    free(nd);
    free(x);
    free(y);
    free(mat);
    free(pick);
    return rc;
}
