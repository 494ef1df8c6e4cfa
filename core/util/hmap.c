/* hmap: linear probing over a power-of-two slot array.
 *
 * At most half full, so a miss ends within a few slots; the cached hash makes growing
 * a copy of slots rather than a pass over the keys. */
#include "util/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/err.h"

#define HMAP_MIN_SLOTS 16

uint32_t hmap_hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

void hmap_init(hmap *m)
{
    memset(m, 0, sizeof *m);
}

void hmap_free(hmap *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static hmap_entry *lookup(const hmap *m, const char *key, size_t len, uint32_t h)
{
    if (m->nslots == 0)
        return NULL;
    uint32_t mask = m->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        hmap_entry *e = &m->slots[i];
        if (!e->key)
            return NULL;
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
}

hmap_entry *hmap_find(const hmap *m, const char *key, size_t len)
{
    if (!key)
        return NULL;
    return lookup(m, key, len, hmap_hash(key, len));
}

hmap_entry *hmap_find_str(const hmap *m, const char *key)
{
    return key ? hmap_find(m, key, strlen(key)) : NULL;
}

/* Places an entry known to be absent into slots that have room. */
static void place(hmap_entry *slots, uint32_t nslots, const hmap_entry *e)
{
    uint32_t mask = nslots - 1;
    uint32_t i = e->hash & mask;
    while (slots[i].key)
        i = (i + 1) & mask;
    slots[i] = *e;
}

static int grow(hmap *m)
{
    if (m->nslots > UINT32_MAX / 2 || (size_t)m->nslots * 2 > SIZE_MAX / sizeof(hmap_entry))
        return APEX_ENOMEM;
    uint32_t n = m->nslots ? m->nslots * 2 : HMAP_MIN_SLOTS;
    hmap_entry *slots = calloc(n, sizeof *slots);
    if (!slots)
        return APEX_ENOMEM;
    for (uint32_t i = 0; i < m->nslots; i++)
        if (m->slots[i].key)
            place(slots, n, &m->slots[i]);
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
    return APEX_OK;
}

int hmap_insert(hmap *m, const char *key, size_t len, hmap_value value)
{
    if (!key)
        return APEX_EINVAL;
    if (len > UINT32_MAX)
        return APEX_ERANGE;
    uint32_t h = hmap_hash(key, len);
    if (lookup(m, key, len, h))
        return APEX_EDUP;
    if ((uint64_t)(m->count + 1) * 2 > m->nslots) {
        int rc = grow(m);
        if (rc != APEX_OK)
            return rc;
    }
    hmap_entry e = {.key = key, .len = (uint32_t)len, .hash = h, .value = value};
    place(m->slots, m->nslots, &e);
    m->count++;
    return APEX_OK;
}

int hmap_remove(hmap *m, const char *key, size_t len)
{
    hmap_entry *e = hmap_find(m, key, len);
    if (!e)
        return APEX_ENOTFOUND;
    /* Backward shift: pull later entries of the same probe run into the hole, so no
     * lookup can stop early at it. An entry stays put when its home slot lies cyclically
     * in (hole, its slot], because moving it would put it before its home. */
    uint32_t mask = m->nslots - 1;
    uint32_t hole = (uint32_t)(e - m->slots);
    for (uint32_t j = (hole + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        uint32_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) < ((j - hole) & mask))
            continue;
        m->slots[hole] = m->slots[j];
        hole = j;
    }
    memset(&m->slots[hole], 0, sizeof m->slots[hole]);
    m->count--;
    return APEX_OK;
}

hmap_entry *hmap_next(const hmap *m, size_t *pos)
{
    while (*pos < m->nslots) {
        hmap_entry *e = &m->slots[(*pos)++];
        if (e->key)
            return e;
    }
    return NULL;
}
