/*
 * svc_idem.c - idempotency records: a POST carrying an Idempotency-Key is
 * answered once; a retry with the same key and the same request gets the
 * stored answer, with another request under the same key a refusal.
 *
 * A record is keyed by the caller's token id and the key ("id\nkey").  The
 * key is checked before anything else: UTF-8 text without control
 * characters, 1..SVC_IDEM_KEY_MAX_CHARS characters, kept whole (a key cut
 * to fit a buffer could collide with another, or end inside a character
 * the store then refuses).  A new record is "busy" until its answer is
 * stored: it rides in the commit queue with the change it answers
 * (svc_idem_queue) and is marked done by that commit; a request that
 * changed nothing drops it (svc_idem_drop), freeing the key.  Records live
 * 24 hours (svc_idem_sweep from the tick).
 */
#include "dispatcher/svc_int.h"

#include "data/json/jsonin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void map_key(const char *token_id, const char *key, char *out, size_t len)
{
    snprintf(out, len, "%s\n%s", token_id, key);
}

svc_idem_state svc_idem_begin(svc *s, const char *token_id, const char *key, const char *req_sha,
                              svc_idem **out)
{
    char mk[40 + 1 + SVC_IDEM_KEY_MAX_BYTES + 1];
    long chars = jin_utf8_chars(key, strlen(key));
    svc_idem *e;

    *out = NULL;
    if (chars < 1 || chars > SVC_IDEM_KEY_MAX_CHARS || strlen(token_id) >= 40)
        return SVC_IDEM_INVALID;
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return SVC_IDEM_INVALID;
    map_key(token_id, key, mk, sizeof(mk));
    if ((e = svc_map_get(&s->idem, mk)) != NULL) {
        *out = e;
        if (strcmp(e->req_sha, req_sha) != 0)
            return SVC_IDEM_MISMATCH;
        return e->done ? SVC_IDEM_REPLAY : SVC_IDEM_BUSY;
    }
    if ((e = calloc(1, sizeof(*e))) == NULL)
        return SVC_IDEM_NOMEM;
    snprintf(e->req_sha, sizeof(e->req_sha), "%s", req_sha);
    snprintf(e->token_id, sizeof(e->token_id), "%s", token_id);
    snprintf(e->key, sizeof(e->key), "%s", key);
    e->created = svc_unix_now(s);
    if (svc_map_put(&s->idem, mk, e) < 0) {
        free(e);
        return SVC_IDEM_NOMEM;
    }
    *out = e;
    return SVC_IDEM_NEW;
}

void svc_idem_drop(svc *s, svc_idem *e)
{
    char mk[40 + 1 + SVC_IDEM_KEY_MAX_BYTES + 1];

    if (e == NULL)
        return;
    map_key(e->token_id, e->key, mk, sizeof(mk));
    if (svc_map_get(&s->idem, mk) == e)
        svc_map_del(&s->idem, mk);
    free(e->body);
    free(e);
}

int svc_idem_queue_record(svc *s, svc_idem *e)
{
    if (s->n_pending_idem == s->cap_pending_idem) {
        int cap = s->cap_pending_idem ? 2 * s->cap_pending_idem : 64;
        svc_idem **n = realloc(s->pending_idem, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return -1;
        s->pending_idem = n;
        s->cap_pending_idem = cap;
    }
    s->pending_idem[s->n_pending_idem++] = e;
    return 0;
}

int svc_idem_queue(svc *s, svc_idem *e, int status, const char *body, const char *method,
                   const char *path)
{
    free(e->body);
    if ((e->body = strdup(body)) == NULL)
        return -1;
    e->status = status;
    snprintf(e->method, sizeof(e->method), "%s", method);
    svc_text_copy(e->path, sizeof(e->path), path);
    return svc_idem_queue_record(s, e);
}

void svc_idem_row(const svc_idem *e, store_idem_row *out)
{
    memset(out, 0, sizeof(*out));
    out->token_id = e->token_id;
    out->key = e->key;
    out->method = e->method;
    out->path = e->path;
    out->request_sha256 = e->req_sha;
    out->status = e->status;
    out->response = e->body;
    out->created_unix = e->created;
}

void svc_idem_sweep(svc *s, int64_t older_than_unix)
{
    for (size_t i = 0; i < s->idem.cap; i++) {
        if (!svc_map_live(&s->idem, i))
            continue;
        svc_idem *e = s->idem.slots[i].val;
        if (e->done && e->created < older_than_unix) {
            svc_map_del(&s->idem, s->idem.slots[i].key);
            free(e->body);
            free(e);
        }
    }
}
