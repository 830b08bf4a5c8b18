/*
 * svc_map.c - a string-keyed hash map for the service's indexes (booking ids,
 * token hashes, rider ids, idempotency keys, stop ids).
 *
 * Open addressing with linear probing over a power-of-two table, FNV-1a
 * hashes; deletions leave tombstones that later inserts reuse, and the table
 * is rebuilt when live entries plus tombstones pass 70 %.  Keys are copied;
 * values belong to the caller.  Lookups are O(1) expected.
 */
#include "dispatcher/svc.h"

#include <stdlib.h>
#include <string.h>

static char tombstone_key;
#define TOMB (&tombstone_key)

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int rebuild(svc_map *m, size_t cap)
{
    svc_map_slot *old = m->slots, *ns = calloc(cap, sizeof(*ns));
    size_t old_cap = m->cap;

    if (ns == NULL)
        return -1;
    m->slots = ns;
    m->cap = cap;
    m->n = m->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key == NULL || old[i].key == TOMB)
            continue;
        size_t j = fnv(old[i].key) & (cap - 1);
        while (ns[j].key != NULL)
            j = (j + 1) & (cap - 1);
        ns[j] = old[i];
        m->n++;
        m->used++;
    }
    free(old);
    return 0;
}

static svc_map_slot *find(const svc_map *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t j = fnv(key) & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
        svc_map_slot *s = &m->slots[j];
        if (s->key == NULL)
            return NULL;
        if (s->key != TOMB && strcmp(s->key, key) == 0)
            return s;
    }
}

int svc_map_put(svc_map *m, const char *key, void *val)
{
    svc_map_slot *s = find(m, key);
    size_t len;

    if (s != NULL) {
        s->val = val;
        return 0;
    }
    if ((m->used + 1) * 10 >= m->cap * 7 &&
        rebuild(m, m->cap == 0 ? 64 : (m->n + 1) * 10 >= m->cap * 5 ? m->cap * 2 : m->cap) < 0)
        return -1;
    len = strlen(key) + 1;
    char *k = malloc(len);
    if (k == NULL)
        return -1;
    memcpy(k, key, len);
    size_t j = fnv(key) & (m->cap - 1);
    while (m->slots[j].key != NULL && m->slots[j].key != TOMB)
        j = (j + 1) & (m->cap - 1);
    if (m->slots[j].key == NULL)
        m->used++;
    m->slots[j].key = k;
    m->slots[j].val = val;
    m->n++;
    return 0;
}

void *svc_map_get(const svc_map *m, const char *key)
{
    svc_map_slot *s = find(m, key);
    return s != NULL ? s->val : NULL;
}

void *svc_map_del(svc_map *m, const char *key)
{
    svc_map_slot *s = find(m, key);
    void *v;

    if (s == NULL)
        return NULL;
    v = s->val;
    free(s->key);
    s->key = TOMB;
    s->val = NULL;
    m->n--;
    return v;
}

void svc_map_cleanup(svc_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key != NULL && m->slots[i].key != TOMB)
            free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

int svc_map_live(const svc_map *m, size_t i)
{
    return i < m->cap && m->slots[i].key != NULL && m->slots[i].key != TOMB;
}
