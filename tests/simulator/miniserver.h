/*
 * miniserver.h - a tiny TCP server in threads of a test program, for the
 * tests of the project's clients (test_httpc, test_loadgen, test_wsc):
 * plain sockets on a loopback port the kernel picks.
 *
 *   msv m;
 *   msv_start(&m, 1, serve_conn, ud);   1: a thread per connection; 0: one
 *                                       connection after another, in the
 *                                       accepting thread
 *   ... the client talks to 127.0.0.1:m.port ...
 *   msv_stop(&m);                       stops accepting and reading, joins
 *
 * serve_conn(m, fd, conn) serves one connection (conn counts from 1) and
 * closes fd.  msv_next_request (after msv_req_init) reads HTTP requests (the head up to the
 * blank line, then Content-Length bytes) one after another from it; every
 * wait polls in 20 ms steps and gives up once msv_stop was called, so a
 * test never hangs on a client that went quiet.
 */
#ifndef NORIAI_TEST_MINISERVER_H
#define NORIAI_TEST_MINISERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSV_MAX_CONNS 64

typedef struct msv msv;
typedef void (*msv_conn_fn)(msv *m, int fd, int conn);

struct msv {
    int lfd, port;
    int threaded;
    msv_conn_fn on_conn;
    void *ud; /* the test's */
    pthread_t acceptor;
    pthread_t th[MSV_MAX_CONNS];
    atomic_int conns; /* accepted so far */
    atomic_int n_th;  /* connection threads started */
    atomic_int stop;
};

typedef struct msv_conn_arg {
    msv *m;
    int fd, conn;
} msv_conn_arg;

/* Case-insensitive strstr (strcasestr is a GNU extension). */
static inline const char *msv_find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

static inline void msv_send(int fd, const void *data, size_t n)
{
    const char *p = data;

    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static inline void msv_send_str(int fd, const char *s)
{
    msv_send(fd, s, strlen(s));
}

static inline void msv_pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Waits until fd is readable or the server is told to stop: 1 readable. */
static inline int msv_wait_readable(msv *m, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (!atomic_load(&m->stop)) {
        int r = poll(&p, 1, 20);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
    }
    return 0;
}

/* Requests read from a connection: the current one at the front of buf. */
typedef struct msv_req {
    char buf[65536];
    size_t n;                  /* bytes in buf */
    size_t head_len, body_len; /* of the current request (head with its blank line) */
} msv_req;

static inline void msv_req_init(msv_req *q)
{
    q->n = q->head_len = q->body_len = 0;
}

/* The next whole request at the front of q->buf (the previous one
 * dropped): 1, or 0 at the end of the stream, when one does not fit, or
 * when the server stops. */
static inline int msv_next_request(msv *m, int fd, msv_req *q)
{
    size_t used = q->head_len + q->body_len;

    memmove(q->buf, q->buf + used, q->n - used);
    q->n -= used;
    q->head_len = q->body_len = 0;
    for (;;) {
        char *eoh;
        q->buf[q->n] = '\0';
        if ((eoh = strstr(q->buf, "\r\n\r\n")) != NULL) {
            const char *cl = msv_find_nocase(q->buf, "\r\nContent-Length:");
            size_t hl = (size_t)(eoh + 4 - q->buf);
            size_t bl = cl != NULL && cl < eoh ? strtoul(cl + 17, NULL, 10) : 0;
            if (q->n >= hl + bl) {
                q->head_len = hl;
                q->body_len = bl;
                return 1;
            }
        }
        if (q->n + 1 >= sizeof(q->buf) || !msv_wait_readable(m, fd))
            return 0;
        ssize_t r = recv(fd, q->buf + q->n, sizeof(q->buf) - 1 - q->n, 0);
        if (r <= 0)
            return 0;
        q->n += (size_t)r;
    }
}

static inline void *msv_conn_main(void *arg)
{
    msv_conn_arg a = *(msv_conn_arg *)arg;

    free(arg);
    a.m->on_conn(a.m, a.fd, a.conn);
    return NULL;
}

static inline void *msv_accept_main(void *arg)
{
    msv *m = arg;

    while (msv_wait_readable(m, m->lfd)) {
        int fd = accept(m->lfd, NULL, NULL), conn;
        msv_conn_arg *a;
        if (fd < 0)
            continue;
        conn = atomic_fetch_add(&m->conns, 1) + 1;
        if (!m->threaded) {
            m->on_conn(m, fd, conn);
            continue;
        }
        int k = atomic_load(&m->n_th);
        if (k >= MSV_MAX_CONNS || (a = malloc(sizeof(*a))) == NULL) {
            close(fd);
            continue;
        }
        a->m = m;
        a->fd = fd;
        a->conn = conn;
        if (pthread_create(&m->th[k], NULL, msv_conn_main, a) != 0) {
            free(a);
            close(fd);
            continue;
        }
        atomic_store(&m->n_th, k + 1);
    }
    return NULL;
}

/* Listens on 127.0.0.1 (m->port) and starts accepting; 0 or -1. */
static inline int msv_start(msv *m, int threaded, msv_conn_fn on_conn, void *ud)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    int one = 1;

    memset(m, 0, sizeof(*m));
    m->threaded = threaded;
    m->on_conn = on_conn;
    m->ud = ud;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((m->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(m->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(m->lfd, 64) < 0 ||
        getsockname(m->lfd, (struct sockaddr *)&a, &al) < 0 ||
        pthread_create(&m->acceptor, NULL, msv_accept_main, m) != 0) {
        close(m->lfd);
        return -1;
    }
    m->port = ntohs(a.sin_port);
    return 0;
}

static inline void msv_stop(msv *m)
{
    atomic_store(&m->stop, 1);
    pthread_join(m->acceptor, NULL);
    for (int k = 0; k < atomic_load(&m->n_th); k++)
        pthread_join(m->th[k], NULL);
    close(m->lfd);
}

#endif
