/*
 * matrix.c - travel-time and distance matrices between n nodes of the road
 * graph, computed in parallel.
 *
 * One Dijkstra per source (net_sp_run), each stopping as soon as every
 * distinct target node is settled.  Sources are handed out one at a time
 * from a counter under a mutex, so threads that get short searches take
 * more of them; each thread owns its work arrays (net_sp) and writes only
 * the rows it computes, so the result does not depend on the number of
 * threads or on scheduling: row i is a function of the graph and nodes[i].
 *
 * Rounding: times to whole seconds and lengths to whole metres, half up;
 * unreachable pairs get NET_UNREACHABLE_S / NET_UNREACHABLE_M.
 *
 * Progress is reported on the caller's thread: workers bump a counter and
 * signal a condition variable; the caller waits on it and calls the progress
 * function with the lock released, so a slow callback never holds up a
 * worker.
 *
 * Cost: n searches of O((m + n_nodes) log n_nodes) each, split over the
 * threads; memory per thread is one net_sp (about 40 bytes per graph node).
 */
#include "data/net/dijkstra_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 256

typedef struct matrix_job {
    const net_graph *g;
    const int32_t *nodes;
    int n;
    const uint8_t *is_target;
    int32_t n_targets;
    int32_t *time_s, *dist_m;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int next;    /* next source to hand out */
    int done;    /* rows finished */
    int running; /* workers still running */
    int failed;  /* a worker could not allocate its arrays */
} matrix_job;

static int32_t round_ms(uint32_t ms)
{
    return ms == UINT32_MAX ? NET_UNREACHABLE_S : (int32_t)((ms + 500u) / 1000u);
}

static int32_t round_mm(uint32_t mm)
{
    return mm == UINT32_MAX ? NET_UNREACHABLE_M : (int32_t)((mm + 500u) / 1000u);
}

static void fill_row(matrix_job *j, const net_sp *sp, int i)
{
    int32_t *trow = j->time_s + (size_t)i * (size_t)j->n;
    int32_t *drow = j->dist_m != NULL ? j->dist_m + (size_t)i * (size_t)j->n : NULL;

    for (int k = 0; k < j->n; k++) {
        int32_t v = j->nodes[k];
        int reached = sp->pos[v] == NET_SP_SETTLED;
        trow[k] = reached ? round_ms(sp->time_ms[v]) : NET_UNREACHABLE_S;
        if (drow != NULL)
            drow[k] = reached ? round_mm(sp->len_mm[v]) : NET_UNREACHABLE_M;
    }
}

static void *worker(void *arg)
{
    matrix_job *j = arg;
    net_sp sp;
    int have_sp = net_sp_init(&sp, j->g->n_nodes, 0) == 0;

    pthread_mutex_lock(&j->lock);
    if (!have_sp)
        j->failed = 1;
    while (have_sp && !j->failed && j->next < j->n) {
        int i = j->next++;
        pthread_mutex_unlock(&j->lock);
        net_sp_run(&sp, j->g, j->nodes[i], j->is_target, j->n_targets, -1);
        fill_row(j, &sp, i);
        pthread_mutex_lock(&j->lock);
        j->done++;
        pthread_cond_signal(&j->changed);
    }
    j->running--;
    pthread_cond_signal(&j->changed);
    pthread_mutex_unlock(&j->lock);
    if (have_sp)
        net_sp_cleanup(&sp);
    return NULL;
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int net_matrix(const net_graph *g, const int32_t *nodes, int n, int threads, int32_t *time_s,
               int32_t *dist_m, net_progress_fn progress, void *progress_ud)
{
    pthread_t tid[MAX_THREADS];
    uint8_t *is_target = NULL;
    matrix_job j;
    int started = 0, rc = 0, reported = -1;

    if (g == NULL || g->n_nodes <= 0 || n < 0 || (n > 0 && (nodes == NULL || time_s == NULL)))
        return NET_EINVAL;
    for (int k = 0; k < n; k++)
        if (nodes[k] < 0 || nodes[k] >= g->n_nodes)
            return NET_EINVAL;
    if (n == 0)
        return 0;
    is_target = calloc((size_t)g->n_nodes, 1);
    if (is_target == NULL)
        return NET_ENOMEM;
    memset(&j, 0, sizeof(j));
    j.g = g;
    j.nodes = nodes;
    j.n = n;
    j.is_target = is_target;
    j.time_s = time_s;
    j.dist_m = dist_m;
    for (int k = 0; k < n; k++)
        if (!is_target[nodes[k]]) {
            is_target[nodes[k]] = 1;
            j.n_targets++;
        }
    if (threads <= 0)
        threads = default_threads();
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if (threads > n)
        threads = n;
    pthread_mutex_init(&j.lock, NULL);
    pthread_cond_init(&j.changed, NULL);
    pthread_mutex_lock(&j.lock);
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&tid[t], NULL, worker, &j) != 0)
            break;
        started++;
        j.running++;
    }
    if (started == 0) {
        /* No thread at all: do the work here. */
        pthread_mutex_unlock(&j.lock);
        j.running = 1;
        worker(&j);
        pthread_mutex_lock(&j.lock);
    }
    while (j.running > 0) {
        if (progress != NULL && j.done != reported) {
            int done = reported = j.done;
            pthread_mutex_unlock(&j.lock);
            progress(progress_ud, done, n);
            pthread_mutex_lock(&j.lock);
            continue;
        }
        pthread_cond_wait(&j.changed, &j.lock);
    }
    if (j.failed)
        rc = NET_ENOMEM;
    pthread_mutex_unlock(&j.lock);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (rc == 0 && progress != NULL && reported != n)
        progress(progress_ud, n, n);
    pthread_cond_destroy(&j.changed);
    pthread_mutex_destroy(&j.lock);
    free(is_target);
    return rc;
}
