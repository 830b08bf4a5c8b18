/*
 * wsc.h - a small blocking WebSocket client (RFC 6455, client side) for the
 * simulated tablets of `noriai loadgen` and the driver channel's tests.
 * Written by hand, so the daemon (wslay) is checked against something
 * that is not wslay.
 *
 *   sim_wsc w;
 *   const char *hdr[] = {"Authorization: Bearer nt_...", NULL};
 *   if (sim_wsc_open(&w, "127.0.0.1", port, "/v1/driver/ws", hdr, 0, 2000, err, len) == 0) {
 *       sim_wsc_send(&w, SIM_WSC_BINARY, bytes, n);
 *       int op = sim_wsc_recv(&w, 1000, &payload, &len);   opcode, 0 timeout, < 0 error
 *       ...
 *   }
 *   sim_wsc_cleanup(&w);
 *
 * The struct is embedded (init/cleanup); fields above "private" may be
 * read.  One thread uses a client at a time.  Frames sent are masked (as a
 * client must) with FIN set, unless sim_wsc_send_frame is told otherwise;
 * messages received may come in fragments (reassembled here) with control
 * frames between them; pings are answered inside sim_wsc_recv.  A message
 * is at most SIM_WSC_MAX_PAYLOAD bytes; a longer one, a masked server
 * frame, reserved bits, a bad opcode or a broken fragment sequence is a
 * protocol error (the connection is then unusable; clean it up).
 */
#ifndef NORIAI_SIM_WSC_H
#define NORIAI_SIM_WSC_H

#include <stddef.h>
#include <stdint.h>

#define SIM_WSC_ERRNO_MAP(X)                                                                       \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(CONNECT, -3, "cannot connect")                                                               \
    X(TIMEOUT, -4, "timed out")                                                                    \
    X(REFUSED, -5, "the server answered the upgrade with something else than 101")                 \
    X(HANDSHAKE, -6, "malformed or wrong upgrade answer")                                          \
    X(IO, -7, "connection failed")                                                                 \
    X(CLOSED, -8, "connection closed by the server")                                               \
    X(PROTO, -9, "WebSocket protocol error from the server")

enum {
#define SIM_WSC_ERR_ENUM(name, code, msg) SIM_WSC_E##name = (code),
    SIM_WSC_ERRNO_MAP(SIM_WSC_ERR_ENUM)
#undef SIM_WSC_ERR_ENUM
};

const char *sim_wsc_strerror(int err);

/* Opcodes (RFC 6455 section 5.2). */
#define SIM_WSC_CONT 0
#define SIM_WSC_TEXT 1
#define SIM_WSC_BINARY 2
#define SIM_WSC_CLOSE 8
#define SIM_WSC_PING 9
#define SIM_WSC_PONG 10

#define SIM_WSC_MAX_PAYLOAD (1u << 20)

/* The key sent in every upgrade: the sample nonce of RFC 6455 section
 * 1.3, whose accept value the RFC gives.  A fixed key lets this client
 * check the server's SHA-1 and base64 without computing them; the key's
 * randomness only guards against intermediaries replaying answers, which
 * a load generator and tests talking to the daemon directly do not meet. */
#define SIM_WSC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SIM_WSC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* sim_wsc_open flags */
#define SIM_WSC_NO_WS_HEADERS 1 /* a plain GET: no Upgrade, Connection, Sec-WebSocket-* */

typedef struct sim_wsc {
    int fd;          /* -1 when not connected */
    int status;      /* HTTP status of the upgrade's answer, 0 none yet */
    int close_code;  /* of the close frame received: 1005 when it gave none; 0 none yet */
    char head[4096]; /* the upgrade answer's head (and body when not 101), NUL-terminated */
    /* private */
    uint8_t *buf; /* received, not yet parsed */
    size_t len, cap;
    uint8_t *msg; /* a fragmented message being put together */
    size_t msg_len, msg_cap;
    int msg_op; /* its opcode, -1 none */
    uint32_t mask_state;
} sim_wsc;

void sim_wsc_init(sim_wsc *w);
/* Closes the socket (no close frame) and frees the buffers; w may be
 * opened again. */
void sim_wsc_cleanup(sim_wsc *w);

/*
 * Connects to host:port and sends the upgrade GET for path with the extra
 * header lines (NULL-terminated list of "Name: value" without CRLF, may be
 * NULL).  Returns 0 on 101 with the right Sec-WebSocket-Accept;
 * SIM_WSC_EREFUSED on another answer (w->status and w->head hold it, the
 * socket is closed); another negative code with a message in err.  Bytes
 * after the 101 head stay buffered as the first frames.  timeout_ms bounds
 * the connect and the handshake; later sends block at most that long too.
 * w is initialized here: it must not hold an open connection (clean it up
 * first); after any return, sim_wsc_cleanup is safe and needed.
 */
int sim_wsc_open(sim_wsc *w, const char *host, int port, const char *path,
                 const char *const *headers, int flags, int timeout_ms, char *err, size_t err_len);

/* One whole message in one frame (masked, FIN). */
int sim_wsc_send(sim_wsc *w, int opcode, const void *data, size_t len);
/* One frame with FIN as given (fragments: opcode, then SIM_WSC_CONT). */
int sim_wsc_send_frame(sim_wsc *w, int fin, int opcode, const void *data, size_t len);
/* A close frame with code (0: none) and a reason (NULL: none, at most 123 bytes). */
int sim_wsc_send_close(sim_wsc *w, int code, const char *reason);

/*
 * The next message within timeout_ms: its opcode (SIM_WSC_TEXT,
 * SIM_WSC_BINARY, SIM_WSC_CLOSE with w->close_code set, SIM_WSC_PONG), 0
 * on timeout, SIM_WSC_ECLOSED at the end of the stream, or another negative
 * code.  *out (malloc'd, NUL-terminated after out_len bytes; the caller
 * frees) gets the payload; NULL unless a message is returned.
 */
int sim_wsc_recv(sim_wsc *w, int timeout_ms, uint8_t **out, size_t *out_len);

/* Bytes received and not yet returned as messages (for callers that poll
 * w->fd themselves: a non-zero count means a message may be ready). */
size_t sim_wsc_buffered(const sim_wsc *w);

/* Waits for the server to end the TCP connection, skipping frames: 1
 * ended, 0 still open after timeout_ms. */
int sim_wsc_wait_eof(sim_wsc *w, int timeout_ms);

/* Drops the connection at once, with no close frame and a TCP reset (a
 * tablet losing its network); then like sim_wsc_cleanup. */
void sim_wsc_abort(sim_wsc *w);

/* The value of a header of the upgrade answer (case-insensitive name,
 * blanks trimmed) into buf; 1 found, 0 not. */
int sim_wsc_header(const sim_wsc *w, const char *name, char *buf, size_t len);

#endif
