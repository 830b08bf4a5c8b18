/*
 * index.c - nearest road node to a point: a uniform grid over the graph's
 * metric coordinates.
 *
 * The bounding box of the nodes is cut into square cells of side cell_m;
 * node indices are bucketed by cell with a counting sort (cell_start[c] ..
 * cell_start[c+1]-1 in cell_node, nodes ascending inside a cell).  With cell_m
 * 0 the side is chosen for about two nodes per cell on average.  Whatever the
 * side asked for, the grid never has more than 4 n + 64 cells: a side too
 * small for the extent is enlarged, so memory stays O(n).
 *
 * Query: start at the cell holding the point (clamped into the grid when the
 * point lies outside it) and visit square rings of cells outward.  After ring
 * r, every unvisited node lies outside the (2r+1)^2 block of cells around the
 * start, so its distance is at least the distance from the point to that
 * block's nearest side that still has cells beyond it.  The search stops when
 * the best squared distance found is strictly below that bound squared, which
 * makes the answer exact; ties go to the lowest node index, the same answer a
 * brute-force scan in index order gives.
 *
 * Cost: O(n) to build; a query looks at the O(1) cells around the point for
 * evenly spread nodes, more in empty regions (bounded by the grid's size).
 * The index only reads the graph's x, y arrays, which must outlive it.
 */
#include "data/net/net.h"

#include <math.h>
#include <stdlib.h>

/* Cell edges computed two ways may differ by rounding; a micrometre covers it. */
#define BOUND_SLACK_M 1e-6

struct net_index {
    const double *x, *y;
    int32_t n;
    double min_x, min_y, cell;
    int32_t nx, ny;
    int32_t *cell_start; /* nx * ny + 1 */
    int32_t *cell_node;  /* n */
};

static int64_t cells_for(double w, double h, double cell, int32_t *nx, int32_t *ny)
{
    double fx = floor(w / cell) + 1.0, fy = floor(h / cell) + 1.0;

    if (fx * fy > 4e18 || fx > 2e9 || fy > 2e9)
        return INT64_MAX;
    *nx = (int32_t)fx;
    *ny = (int32_t)fy;
    return (int64_t)*nx * *ny;
}

int net_index_create(const net_graph *g, double cell_m, net_index **out)
{
    net_index *ix = NULL;
    double max_x, max_y, w, h, cell;
    int64_t max_cells, n_cells;
    int32_t *fill = NULL;
    int rc = 0;

    if (out == NULL)
        return NET_EINVAL;
    *out = NULL;
    if (g == NULL || g->n_nodes < 0 || !(cell_m >= 0.0) || !isfinite(cell_m) ||
        (g->n_nodes > 0 && (g->x == NULL || g->y == NULL)))
        return NET_EINVAL;
    ix = calloc(1, sizeof(*ix));
    if (ix == NULL)
        return NET_ENOMEM;
    ix->x = g->x;
    ix->y = g->y;
    ix->n = g->n_nodes;
    if (ix->n == 0) {
        *out = ix;
        return 0;
    }
    ix->min_x = max_x = g->x[0];
    ix->min_y = max_y = g->y[0];
    for (int32_t i = 0; i < ix->n; i++) {
        if (!isfinite(g->x[i]) || !isfinite(g->y[i])) {
            rc = NET_EINVAL;
            goto out;
        }
        ix->min_x = fmin(ix->min_x, g->x[i]);
        ix->min_y = fmin(ix->min_y, g->y[i]);
        max_x = fmax(max_x, g->x[i]);
        max_y = fmax(max_y, g->y[i]);
    }
    w = max_x - ix->min_x;
    h = max_y - ix->min_y;
    cell = cell_m;
    if (cell == 0.0) {
        if (w > 0.0 && h > 0.0)
            cell = sqrt(w * h * 2.0 / ix->n);
        else
            cell = fmax(w, h) * 2.0 / ix->n; /* all nodes on one line */
    }
    if (!(cell >= 1e-3))
        cell = fmax(1e-3, fmax(w, h) * 1e-9);
    max_cells = 4 * (int64_t)ix->n + 64;
    while ((n_cells = cells_for(w, h, cell, &ix->nx, &ix->ny)) > max_cells)
        cell *= 1.5;
    ix->cell = cell;
    ix->cell_start = calloc((size_t)n_cells + 1, sizeof(*ix->cell_start));
    ix->cell_node = malloc((size_t)ix->n * sizeof(*ix->cell_node));
    fill = malloc((size_t)n_cells * sizeof(*fill));
    if (ix->cell_start == NULL || ix->cell_node == NULL || fill == NULL) {
        rc = NET_ENOMEM;
        goto out;
    }
    /* Counting sort of nodes by cell: counts, prefix sums, placement. */
    for (int32_t i = 0; i < ix->n; i++) {
        int32_t cx = (int32_t)((g->x[i] - ix->min_x) / cell);
        int32_t cy = (int32_t)((g->y[i] - ix->min_y) / cell);
        if (cx >= ix->nx)
            cx = ix->nx - 1;
        if (cy >= ix->ny)
            cy = ix->ny - 1;
        ix->cell_start[(int64_t)cy * ix->nx + cx + 1]++;
    }
    for (int64_t c = 0; c < n_cells; c++) {
        ix->cell_start[c + 1] += ix->cell_start[c];
        fill[c] = ix->cell_start[c];
    }
    for (int32_t i = 0; i < ix->n; i++) {
        int32_t cx = (int32_t)((g->x[i] - ix->min_x) / cell);
        int32_t cy = (int32_t)((g->y[i] - ix->min_y) / cell);
        if (cx >= ix->nx)
            cx = ix->nx - 1;
        if (cy >= ix->ny)
            cy = ix->ny - 1;
        ix->cell_node[fill[(int64_t)cy * ix->nx + cx]++] = i;
    }
    *out = ix;
    ix = NULL;
out:
    free(fill);
    net_index_destroy(ix);
    return rc;
}

void net_index_destroy(net_index *ix)
{
    if (ix == NULL)
        return;
    free(ix->cell_start);
    free(ix->cell_node);
    free(ix);
}

/* Cell coordinate of v along one axis, clamped into 0..n-1. */
static int32_t clamp_cell(double v, double min, double cell, int32_t n)
{
    double f = floor((v - min) / cell);

    if (!(f >= 0.0))
        return 0;
    if (f >= (double)n - 1.0)
        return n - 1;
    return (int32_t)f;
}

static void scan_cell(const net_index *ix, int32_t cx, int32_t cy, double x, double y,
                      int32_t *best, double *best_d2)
{
    int64_t c = (int64_t)cy * ix->nx + cx;

    for (int32_t k = ix->cell_start[c]; k < ix->cell_start[c + 1]; k++) {
        int32_t v = ix->cell_node[k];
        double dx = ix->x[v] - x, dy = ix->y[v] - y;
        double d2 = dx * dx + dy * dy;

        if (*best < 0 || d2 < *best_d2 || (d2 == *best_d2 && v < *best)) {
            *best_d2 = d2;
            *best = v;
        }
    }
}

int32_t net_index_nearest(const net_index *ix, double x, double y, double *dist_m)
{
    int32_t best = -1, cx, cy;
    double best_d2 = INFINITY;

    if (dist_m != NULL)
        *dist_m = INFINITY;
    if (ix == NULL || ix->n == 0 || !isfinite(x) || !isfinite(y))
        return -1;
    cx = clamp_cell(x, ix->min_x, ix->cell, ix->nx);
    cy = clamp_cell(y, ix->min_y, ix->cell, ix->ny);
    for (int32_t r = 0;; r++) {
        double bound = INFINITY;
        int more = 0;

        if (r == 0) {
            scan_cell(ix, cx, cy, x, y, &best, &best_d2);
        } else {
            int32_t x0 = cx - r, x1 = cx + r, y0 = cy - r, y1 = cy + r;
            int32_t ya = y0 < 0 ? 0 : y0, yb = y1 >= ix->ny ? ix->ny - 1 : y1;
            int32_t xa = x0 < 0 ? 0 : x0, xb = x1 >= ix->nx ? ix->nx - 1 : x1;

            if (y0 >= 0)
                for (int32_t i = xa; i <= xb; i++)
                    scan_cell(ix, i, y0, x, y, &best, &best_d2);
            if (y1 < ix->ny)
                for (int32_t i = xa; i <= xb; i++)
                    scan_cell(ix, i, y1, x, y, &best, &best_d2);
            for (int32_t j = ya; j <= yb; j++) {
                if (j == y0 || j == y1)
                    continue;
                if (x0 >= 0)
                    scan_cell(ix, x0, j, x, y, &best, &best_d2);
                if (x1 < ix->nx)
                    scan_cell(ix, x1, j, x, y, &best, &best_d2);
            }
        }
        /* Distance to the nearest side of the block with cells beyond it. */
        if (cx - r > 0) {
            bound = fmin(bound, x - (ix->min_x + (double)(cx - r) * ix->cell));
            more = 1;
        }
        if (cx + r < ix->nx - 1) {
            bound = fmin(bound, ix->min_x + (double)(cx + r + 1) * ix->cell - x);
            more = 1;
        }
        if (cy - r > 0) {
            bound = fmin(bound, y - (ix->min_y + (double)(cy - r) * ix->cell));
            more = 1;
        }
        if (cy + r < ix->ny - 1) {
            bound = fmin(bound, ix->min_y + (double)(cy + r + 1) * ix->cell - y);
            more = 1;
        }
        if (!more)
            break;
        bound -= BOUND_SLACK_M;
        if (bound > 0.0 && best_d2 < bound * bound)
            break;
    }
    if (dist_m != NULL)
        *dist_m = sqrt(best_d2);
    return best;
}
