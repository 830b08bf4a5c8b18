/*
 * dijkstra.c - shortest paths on the road graph: one-to-all (net_dijkstra),
 * one-to-one with the node list (net_route), and the search both share with
 * the matrices (net_sp_*, dijkstra_int.h).
 *
 * Algorithm: Dijkstra with an indexed binary heap (decrease-key through a
 * position array), on integer labels, so results are exact and the same on
 * every machine.  A label is (time_ms, len_mm); paths are compared by time
 * and, between equally fast paths, by length, which makes the reported
 * length a property of the graph (the shortest of the fastest paths) rather
 * than of the order edges were scanned in.  Heap entries are ordered by
 * (time, len, node), a total order, so ties are broken the same way whatever
 * the heap's internal layout; the predecessor of a node is the first
 * settled neighbour reaching its final label, hence deterministic too.
 *
 * Invariants: a settled node's label is final (edge weights are >= 0);
 * labels only ever decrease while a node is in the heap; sums are computed
 * in 64 bits and a time that would pass UINT32_MAX - 1 is treated as not
 * reachable (49 days of driving: a damaged graph, not a road), a length is
 * capped there.
 *
 * Cost: O((n + m) log n) per search, about 2-5 ms for 30,000 nodes.  Work
 * arrays: 4 arrays of n 32-bit values, the heap (n entries of 16 bytes) and
 * the touched list.
 */
#include "data/net/dijkstra_int.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_MAX (UINT32_MAX - 1)

int net_sp_init(net_sp *sp, int32_t n_nodes, int want_pred)
{
    size_t n = n_nodes > 0 ? (size_t)n_nodes : 1;

    memset(sp, 0, sizeof(*sp));
    sp->n = n_nodes;
    sp->time_ms = malloc(n * sizeof(*sp->time_ms));
    sp->len_mm = malloc(n * sizeof(*sp->len_mm));
    sp->pos = malloc(n * sizeof(*sp->pos));
    sp->heap = malloc(n * sizeof(*sp->heap));
    sp->touched = malloc(n * sizeof(*sp->touched));
    if (want_pred)
        sp->pred = malloc(n * sizeof(*sp->pred));
    if (sp->time_ms == NULL || sp->len_mm == NULL || sp->pos == NULL || sp->heap == NULL ||
        sp->touched == NULL || (want_pred && sp->pred == NULL)) {
        net_sp_cleanup(sp);
        return NET_ENOMEM;
    }
    for (int32_t v = 0; v < n_nodes; v++) {
        sp->time_ms[v] = UINT32_MAX;
        sp->len_mm[v] = UINT32_MAX;
        sp->pos[v] = NET_SP_UNSEEN;
    }
    if (sp->pred != NULL)
        for (int32_t v = 0; v < n_nodes; v++)
            sp->pred[v] = -1;
    return 0;
}

void net_sp_cleanup(net_sp *sp)
{
    free(sp->time_ms);
    free(sp->len_mm);
    free(sp->pred);
    free(sp->pos);
    free(sp->heap);
    free(sp->touched);
    memset(sp, 0, sizeof(*sp));
}

static void reset(net_sp *sp)
{
    for (int32_t k = 0; k < sp->n_touched; k++) {
        int32_t v = sp->touched[k];
        sp->time_ms[v] = UINT32_MAX;
        sp->len_mm[v] = UINT32_MAX;
        sp->pos[v] = NET_SP_UNSEEN;
        if (sp->pred != NULL)
            sp->pred[v] = -1;
    }
    sp->n_touched = 0;
    sp->heap_len = 0;
}

static int entry_less(const net_sp_entry *a, const net_sp_entry *b)
{
    return a->key < b->key || (a->key == b->key && a->node < b->node);
}

static void sift_up(net_sp *sp, int32_t i)
{
    net_sp_entry e = sp->heap[i];

    while (i > 0) {
        int32_t parent = (i - 1) / 2;
        if (!entry_less(&e, &sp->heap[parent]))
            break;
        sp->heap[i] = sp->heap[parent];
        sp->pos[sp->heap[i].node] = i;
        i = parent;
    }
    sp->heap[i] = e;
    sp->pos[e.node] = i;
}

static void sift_down(net_sp *sp, int32_t i)
{
    net_sp_entry e = sp->heap[i];
    int32_t len = sp->heap_len;

    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= len)
            break;
        if (c + 1 < len && entry_less(&sp->heap[c + 1], &sp->heap[c]))
            c++;
        if (!entry_less(&sp->heap[c], &e))
            break;
        sp->heap[i] = sp->heap[c];
        sp->pos[sp->heap[i].node] = i;
        i = c;
    }
    sp->heap[i] = e;
    sp->pos[e.node] = i;
}

static int32_t pop_min(net_sp *sp)
{
    int32_t v = sp->heap[0].node;

    sp->heap_len--;
    if (sp->heap_len > 0) {
        sp->heap[0] = sp->heap[sp->heap_len];
        sp->pos[sp->heap[0].node] = 0;
        sift_down(sp, 0);
    }
    sp->pos[v] = NET_SP_SETTLED;
    return v;
}

/* Lowers v's label to (t, l) and puts it in the heap or moves it up. */
static void decrease(net_sp *sp, int32_t v, uint32_t t, uint32_t l)
{
    int32_t i = sp->pos[v];

    if (i == NET_SP_UNSEEN && sp->time_ms[v] == UINT32_MAX)
        sp->touched[sp->n_touched++] = v;
    sp->time_ms[v] = t;
    sp->len_mm[v] = l;
    if (i == NET_SP_UNSEEN) {
        i = sp->heap_len++;
        sp->heap[i].node = v;
    }
    sp->heap[i].key = (uint64_t)t << 32 | l;
    sift_up(sp, i);
}

void net_sp_run(net_sp *sp, const net_graph *g, int32_t src, const uint8_t *is_target,
                int32_t n_targets, int32_t stop_node)
{
    const int32_t *first = g->first_out, *head = g->head;
    const uint32_t *etime = g->time_ms, *elen = g->len_mm;
    int32_t settled_targets = 0;

    reset(sp);
    decrease(sp, src, 0, 0);
    while (sp->heap_len > 0) {
        int32_t u = pop_min(sp);
        uint64_t tu = sp->time_ms[u], lu = sp->len_mm[u];

        if (u == stop_node)
            break;
        if (is_target != NULL && is_target[u] && ++settled_targets >= n_targets)
            break;
        for (int32_t e = first[u]; e < first[u + 1]; e++) {
            int32_t v = head[e];
            uint64_t t = tu + etime[e], l = lu + elen[e];
            if (sp->pos[v] == NET_SP_SETTLED || t > LABEL_MAX)
                continue;
            if (l > LABEL_MAX)
                l = LABEL_MAX;
            if (t < sp->time_ms[v] || (t == sp->time_ms[v] && l < sp->len_mm[v])) {
                decrease(sp, v, (uint32_t)t, (uint32_t)l);
                if (sp->pred != NULL)
                    sp->pred[v] = u;
            }
        }
    }
}

static int graph_ok(const net_graph *g)
{
    return g != NULL && g->n_nodes > 0 && g->first_out != NULL;
}

int net_dijkstra(const net_graph *g, int32_t src, uint32_t *time_ms, uint32_t *len_mm)
{
    net_sp sp;
    int rc;

    if (!graph_ok(g) || src < 0 || src >= g->n_nodes || time_ms == NULL)
        return NET_EINVAL;
    if ((rc = net_sp_init(&sp, g->n_nodes, 0)) < 0)
        return rc;
    net_sp_run(&sp, g, src, NULL, 0, -1);
    memcpy(time_ms, sp.time_ms, (size_t)g->n_nodes * sizeof(*time_ms));
    if (len_mm != NULL)
        memcpy(len_mm, sp.len_mm, (size_t)g->n_nodes * sizeof(*len_mm));
    net_sp_cleanup(&sp);
    return 0;
}

int net_route(const net_graph *g, int32_t from, int32_t to, uint32_t *time_ms, uint32_t *len_mm,
              int32_t **path, int32_t *path_len)
{
    net_sp sp;
    int32_t count = 0, *p = NULL;
    int rc;

    if (path != NULL)
        *path = NULL;
    if (path_len != NULL)
        *path_len = 0;
    if (!graph_ok(g) || from < 0 || from >= g->n_nodes || to < 0 || to >= g->n_nodes)
        return NET_EINVAL;
    if ((rc = net_sp_init(&sp, g->n_nodes, path != NULL)) < 0)
        return rc;
    net_sp_run(&sp, g, from, NULL, 0, to);
    if (sp.pos[to] != NET_SP_SETTLED) {
        rc = NET_EUNREACHABLE;
        goto out;
    }
    if (time_ms != NULL)
        *time_ms = sp.time_ms[to];
    if (len_mm != NULL)
        *len_mm = sp.len_mm[to];
    if (path != NULL) {
        for (int32_t v = to; v != -1; v = sp.pred[v])
            count++;
        p = malloc((size_t)count * sizeof(*p));
        if (p == NULL) {
            rc = NET_ENOMEM;
            goto out;
        }
        for (int32_t v = to, k = count - 1; v != -1; v = sp.pred[v], k--)
            p[k] = v;
        *path = p;
        if (path_len != NULL)
            *path_len = count;
    }
    rc = 0;
out:
    net_sp_cleanup(&sp);
    return rc;
}
