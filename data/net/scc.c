/*
 * scc.c - keeping the largest strongly connected component of a graph.
 *
 * A road graph straight from OpenStreetMap has pieces a van cannot leave or
 * cannot reach: a one-way stub cut by the extract's border, a private
 * compound whose gate road was left out, a parking aisle drawn against its
 * access road.  A matrix over such a graph has unreachable pairs, so only
 * the largest component in which every node reaches every other is kept.
 *
 * Algorithm: Tarjan's, made iterative with an explicit stack of (node, next
 * out-edge) frames, since a road graph's depth-first paths run to hundreds
 * of thousands of nodes and would overflow the C stack.  Each node gets a
 * discovery index and a low link; a node whose low link equals its index
 * closes a component, which is popped off the node stack.  Ties between
 * equally large components go to the one closed first, so the result is a
 * function of the graph alone.
 *
 * The kept nodes keep their relative order (new index = rank of the old
 * one), and each node its out-edges in their order, so building the same
 * graph twice gives identical files.  max_speed_mps is recomputed over the
 * edges kept.
 *
 * Cost: O(n + m) time; six int32 arrays of n during the search, then a new
 * graph the size of the kept part.
 */
#include "data/net/net.h"

#include <stdlib.h>
#include <string.h>

/* comp[v] for every node; returns the id of the largest component, -2 when out of memory. */
static int32_t tarjan(const net_graph *g, int32_t *comp)
{
    int32_t n = g->n_nodes, next_index = 0, n_comp = 0, best = -1, best_size = 0;
    int32_t *index = malloc(((size_t)n + 1) * sizeof(*index));
    int32_t *low = malloc(((size_t)n + 1) * sizeof(*low));
    int32_t *stack = malloc(((size_t)n + 1) * sizeof(*stack));
    int32_t *frame_v = malloc(((size_t)n + 1) * sizeof(*frame_v));
    int32_t *frame_e = malloc(((size_t)n + 1) * sizeof(*frame_e));
    int32_t sp = 0, fp;

    if (index == NULL || low == NULL || stack == NULL || frame_v == NULL || frame_e == NULL) {
        best = -2;
        goto out;
    }
    for (int32_t v = 0; v < n; v++) {
        index[v] = -1;
        comp[v] = -1;
    }
    for (int32_t root = 0; root < n; root++) {
        if (index[root] >= 0)
            continue;
        fp = 0;
        frame_v[fp] = root;
        frame_e[fp] = g->first_out[root];
        fp++;
        index[root] = low[root] = next_index++;
        stack[sp++] = root;
        while (fp > 0) {
            int32_t v = frame_v[fp - 1];

            if (frame_e[fp - 1] < g->first_out[v + 1]) {
                int32_t w = g->head[frame_e[fp - 1]++];

                if (index[w] < 0) {
                    index[w] = low[w] = next_index++;
                    stack[sp++] = w;
                    frame_v[fp] = w;
                    frame_e[fp] = g->first_out[w];
                    fp++;
                } else if (comp[w] < 0 && index[w] < low[v]) {
                    low[v] = index[w]; /* w is still on the stack */
                }
                continue;
            }
            fp--;
            if (low[v] == index[v]) {
                int32_t size = 0, w;

                do {
                    w = stack[--sp];
                    comp[w] = n_comp;
                    size++;
                } while (w != v);
                if (size > best_size) {
                    best_size = size;
                    best = n_comp;
                }
                n_comp++;
            }
            if (fp > 0 && low[v] < low[frame_v[fp - 1]])
                low[frame_v[fp - 1]] = low[v];
        }
    }
out:
    free(index);
    free(low);
    free(stack);
    free(frame_v);
    free(frame_e);
    return best;
}

int net_graph_keep_largest_scc(net_graph **gp)
{
    net_graph *g, *k = NULL;
    int32_t *comp = NULL, *new_id = NULL, best, n_keep = 0, m_keep = 0, e2 = 0;
    int rc = 0;

    if (gp == NULL || *gp == NULL)
        return NET_EINVAL;
    g = *gp;
    if (g->n_nodes == 0)
        return NET_EEMPTY;
    comp = malloc((size_t)g->n_nodes * sizeof(*comp));
    new_id = malloc((size_t)g->n_nodes * sizeof(*new_id));
    if (comp == NULL || new_id == NULL) {
        rc = NET_ENOMEM;
        goto out;
    }
    best = tarjan(g, comp);
    if (best == -2) {
        rc = NET_ENOMEM;
        goto out;
    }
    for (int32_t v = 0; v < g->n_nodes; v++) {
        new_id[v] = comp[v] == best ? n_keep++ : -1;
        if (comp[v] != best)
            continue;
        for (int32_t e = g->first_out[v]; e < g->first_out[v + 1]; e++)
            m_keep += comp[g->head[e]] == best;
    }
    rc = net_graph_create(n_keep, m_keep, &k);
    if (rc != 0)
        goto out;
    k->epsg = g->epsg;
    for (int32_t v = 0; v < g->n_nodes; v++) {
        int32_t u = new_id[v];

        if (u < 0)
            continue;
        k->lat[u] = g->lat[v];
        k->lon[u] = g->lon[v];
        if (g->x != NULL && g->y != NULL) {
            k->x[u] = g->x[v];
            k->y[u] = g->y[v];
        }
        if (g->osm_id != NULL)
            k->osm_id[u] = g->osm_id[v];
        k->first_out[u] = e2;
        for (int32_t e = g->first_out[v]; e < g->first_out[v + 1]; e++) {
            if (new_id[g->head[e]] < 0)
                continue;
            k->head[e2] = new_id[g->head[e]];
            k->len_mm[e2] = g->len_mm[e];
            k->time_ms[e2] = g->time_ms[e];
            k->cls[e2] = g->cls != NULL ? g->cls[e] : NET_RESIDENTIAL;
            if (k->time_ms[e2] > 0 && (double)k->len_mm[e2] / k->time_ms[e2] > k->max_speed_mps)
                k->max_speed_mps = (double)k->len_mm[e2] / k->time_ms[e2];
            e2++;
        }
    }
    k->first_out[n_keep] = e2;
    net_graph_destroy(g);
    *gp = k;
out:
    free(comp);
    free(new_id);
    return rc;
}
