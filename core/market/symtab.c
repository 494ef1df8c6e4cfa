#include "market/symtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "market/bar.h"

/* Names live in fixed-size chunks that never move, so symtab_name() pointers stay
 * valid while the table grows; only the small chunk directory is reallocated. */
#define NAMES_PER_CHUNK 256

typedef char symbol_name[SYMBOL_MAX];

struct symtab {
    symbol_name **chunks;
    int nchunks;
    int count;
    /* Open addressing with linear probing; slots hold id + 1 (0 = empty). */
    int *slots;
    uint32_t *hashes; /* per id, so growing the table needs no rehashing of strings */
    int nslots;       /* power of two, kept at most half full */
};

static uint32_t hash_name(const char *s, int len)
{
    uint32_t h = 2166136261u; /* FNV-1a: short keys, good spread, no tables */
    for (int i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static bool valid_symbol_char(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '/' || ch == '^' || ch == '=' || ch == '-';
}

static char *name_at(const symtab *t, int id)
{
    return t->chunks[id / NAMES_PER_CHUNK][id % NAMES_PER_CHUNK];
}

symtab *symtab_new(void)
{
    symtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nslots = 64;
    t->slots = calloc((size_t)t->nslots, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    return t;
}

void symtab_free(symtab *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->slots);
    free(t->hashes);
    free(t);
}

static int lookup(const symtab *t, const char *name, int len, uint32_t h)
{
    uint32_t mask = (uint32_t)t->nslots - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        int slot = t->slots[i];
        if (slot == 0)
            return -1;
        int id = slot - 1;
        if (t->hashes[id] == h) {
            const char *n = name_at(t, id);
            if (memcmp(n, name, (size_t)len) == 0 && n[len] == '\0')
                return id;
        }
    }
}

static void insert_slot(int *slots, int nslots, uint32_t h, int id)
{
    uint32_t mask = (uint32_t)nslots - 1;
    uint32_t i = h & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = id + 1;
}

static bool grow_slots(symtab *t)
{
    int n = t->nslots * 2;
    int *slots = calloc((size_t)n, sizeof *slots);
    if (!slots)
        return false;
    for (int id = 0; id < t->count; id++)
        insert_slot(slots, n, t->hashes[id], id);
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return true;
}

int symtab_intern(symtab *t, const char *name, int len)
{
    if (!t || !name || len <= 0 || len > SYMBOL_MAX - 1)
        return -1;
    for (int i = 0; i < len; i++)
        if (!valid_symbol_char((unsigned char)name[i]))
            return -1;
    uint32_t h = hash_name(name, len);
    int id = lookup(t, name, len, h);
    if (id >= 0)
        return id;

    if ((t->count + 1) * 2 > t->nslots && !grow_slots(t))
        return -1;
    id = t->count;
    if (id % NAMES_PER_CHUNK == 0) {
        if (id / NAMES_PER_CHUNK == t->nchunks) {
            symbol_name **nc = realloc(t->chunks, (size_t)(t->nchunks + 1) * sizeof *nc);
            if (!nc)
                return -1;
            t->chunks = nc;
            nc[t->nchunks] = malloc(NAMES_PER_CHUNK * sizeof(symbol_name));
            if (!nc[t->nchunks])
                return -1;
            t->nchunks++;
        }
        uint32_t *nh = realloc(t->hashes, (size_t)(id + NAMES_PER_CHUNK) * sizeof *nh);
        if (!nh)
            return -1;
        t->hashes = nh;
    }
    char *dst = name_at(t, id);
    memcpy(dst, name, (size_t)len);
    dst[len] = '\0';
    t->hashes[id] = h;
    insert_slot(t->slots, t->nslots, h, id);
    t->count++;
    return id;
}

int symtab_find(const symtab *t, const char *name)
{
    if (!t || !name)
        return -1;
    size_t len = strlen(name);
    if (len == 0 || len > SYMBOL_MAX - 1)
        return -1;
    return lookup(t, name, (int)len, hash_name(name, (int)len));
}

const char *symtab_name(const symtab *t, int id)
{
    if (!t || id < 0 || id >= t->count)
        return NULL;
    return name_at(t, id);
}

int symtab_count(const symtab *t)
{
    return t ? t->count : 0;
}
