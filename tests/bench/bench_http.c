/*
 * bench_http.c - requests per second through api/http with a trivial handler.
 *
 *   bench_http [threads] [seconds] [depth]
 *
 * The server runs on a libuv loop in the main thread; each client thread
 * holds one keep-alive connection on 127.0.0.1 and sends `depth` small GET
 * requests at a time (1 = one request, wait, the next; more = pipelined),
 * reading the answers with the plain blocking client of the tests.  At the
 * end it prints the answered requests per second, and the CPU seconds the
 * whole process used (server and clients share the machine's cores, so the
 * figure is a floor for the server alone).  Not part of `make test`.
 *
 * Build (after `make BUILD=build`):
 *   gcc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -I. -Itests -o build/bench/bench_http \
 *       tests/bench/bench_http.c build/libnoriai.a -luv -lhttp_parser -lpthread
 */
#include "api/http/http.h"
#include "api/httpclient.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#define MAX_THREADS 64

static atomic_int stop_flag;
static atomic_long answered;
static atomic_int errors;
static atomic_int running;
static int port, depth;
static uv_async_t all_done;

static void handler(void *ud, api_http_req *req)
{
    static const char body[] = "{\"ok\":true}";

    (void)ud;
    api_http_respond(req, 200, "application/json", body, sizeof(body) - 1, NULL);
}

static void *client(void *arg)
{
    hc_conn *k = malloc(sizeof(*k));
    char reqs[64 * 40];
    size_t n = 0;
    long mine = 0;

    (void)arg;
    for (int i = 0; i < depth; i++)
        n += (size_t)snprintf(reqs + n, sizeof(reqs) - n, "GET /v1/health HTTP/1.1\r\n\r\n");
    if (k == NULL || hc_open(k, port, 5000) != 0) {
        atomic_fetch_add(&errors, 1);
        goto out;
    }
    while (!atomic_load(&stop_flag)) {
        if (hc_send(k, reqs, n) != 0) {
            atomic_fetch_add(&errors, 1);
            break;
        }
        for (int i = 0; i < depth; i++) {
            hc_resp r;

            if (hc_read_resp(k, &r, 0) != 0 || r.status != 200) {
                atomic_fetch_add(&errors, 1);
                goto out;
            }
            hc_resp_free(&r);
            mine++;
        }
    }
out:
    atomic_fetch_add(&answered, mine);
    if (k != NULL)
        hc_close(k);
    free(k);
    if (atomic_fetch_sub(&running, 1) == 1)
        uv_async_send(&all_done);
    return NULL;
}

static void on_timer(uv_timer_t *t)
{
    (void)t;
    atomic_store(&stop_flag, 1);
}

static void on_all_done(uv_async_t *a)
{
    api_http_server_close(a->data, NULL, NULL);
    uv_close((uv_handle_t *)a, NULL);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int seconds = argc > 2 ? atoi(argv[2]) : 3;
    uv_loop_t loop;
    uv_timer_t timer;
    api_http_server *s;
    pthread_t th[MAX_THREADS];
    struct rusage ru;
    double t0, dt, cpu;
    int rc;

    depth = argc > 3 ? atoi(argv[3]) : 1;
    if (threads < 1 || threads > MAX_THREADS || seconds < 1 || depth < 1 || depth > 64) {
        fprintf(stderr, "usage: bench_http [threads 1-64] [seconds] [depth 1-64]\n");
        return 2;
    }
    uv_loop_init(&loop);
    rc = api_http_server_create(&loop, NULL, handler, NULL, &s);
    if (rc == 0)
        rc = api_http_listen(s, "127.0.0.1", 0, &port);
    if (rc < 0) {
        fprintf(stderr, "bench_http: %s\n", api_http_strerror(rc));
        return 1;
    }
    uv_async_init(&loop, &all_done, on_all_done);
    all_done.data = s;
    uv_timer_init(&loop, &timer);
    uv_timer_start(&timer, on_timer, (uint64_t)seconds * 1000, 0);
    uv_unref((uv_handle_t *)&timer);
    atomic_store(&running, threads);
    t0 = hc_now_ms();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, client, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    dt = (hc_now_ms() - t0) / 1e3;
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    getrusage(RUSAGE_SELF, &ru);
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
          (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("threads %d, depth %d: %ld requests in %.2f s = %.0f requests/s "
           "(process CPU %.2f s, errors %d, loop closed %s)\n",
           threads, depth, atomic_load(&answered), dt, (double)atomic_load(&answered) / dt, cpu,
           atomic_load(&errors), rc == 0 ? "cleanly" : "with handles open");
    return atomic_load(&errors) == 0 && rc == 0 ? 0 : 1;
}
