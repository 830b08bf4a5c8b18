/*
 * dijkstra_int.h - the reusable shortest-path search behind net_dijkstra,
 * net_route and net_matrix (private to data/net).
 *
 * A net_sp holds the work arrays of one search over a graph of n nodes; one
 * thread owns one net_sp and runs many searches with it.  Between searches
 * only the nodes the last search touched are reset, so a search that stops
 * early costs what it visited, not n.
 *
 * Labels are (time_ms, len_mm) compared lexicographically: the fastest path,
 * and among the fastest the shortest.  The heap orders by (time, len, node),
 * a total order, so which node is settled next never depends on the heap's
 * layout: every result, predecessors included, is a function of the graph
 * and the source alone.
 */
#ifndef NORIAI_NET_DIJKSTRA_INT_H
#define NORIAI_NET_DIJKSTRA_INT_H

#include "data/net/net.h"

#define NET_SP_SETTLED (-2)
#define NET_SP_UNSEEN (-1)

typedef struct net_sp_entry {
    uint64_t key; /* time_ms << 32 | len_mm */
    int32_t node;
} net_sp_entry;

typedef struct net_sp {
    int32_t n;
    uint32_t *time_ms, *len_mm; /* UINT32_MAX where not reached */
    int32_t *pred;              /* previous node on the path, -1; NULL if not wanted */
    int32_t *pos;               /* heap index, NET_SP_UNSEEN or NET_SP_SETTLED */
    net_sp_entry *heap;
    int32_t heap_len;
    int32_t *touched; /* nodes whose labels the last search changed */
    int32_t n_touched;
} net_sp;

/* 0 or NET_ENOMEM.  want_pred: keep predecessors (for paths). */
int net_sp_init(net_sp *sp, int32_t n_nodes, int want_pred);
void net_sp_cleanup(net_sp *sp);

/*
 * Search from src.  Stops when the heap is empty, when node `stop_node`
 * (>= 0) is settled, or when n_targets nodes with is_target[v] != 0 are
 * settled (is_target may be NULL).  Labels of settled nodes are final; the
 * labels a search leaves stay until the next net_sp_run.
 */
void net_sp_run(net_sp *sp, const net_graph *g, int32_t src, const uint8_t *is_target,
                int32_t n_targets, int32_t stop_node);

#endif
