/* hmap: a hash table from string keys to a pointer or an integer.
 *
 * Open addressing with linear probing, kept at most half full, FNV-1a hashes (short keys
 * such as symbols and order ids, good spread, no tables). Each slot caches its key's
 * hash and length, so a probe compares strings only on a full hash match and growing
 * never hashes a key again. Removal shifts the following entries back, so there are no
 * tombstones and lookups never slow down with churn.
 *
 * Keys are borrowed, not copied: a key's bytes must stay where they are, unchanged,
 * while it is in the table. Usually the key lives in the value's own struct (a symbol
 * name, an order's client id). Keys are byte strings with a length, so a key need not
 * be NUL-terminated (a field inside a CSV line). Values are a union, as Redis's dict
 * entries are, so an id needs no cast through a pointer.
 *
 *     hmap m;  hmap_init(&m);
 *     hmap_insert(&m, o->id, strlen(o->id), (hmap_value){.ptr = o});   // 0, APEX_EDUP, APEX_ENOMEM
 *     hmap_entry *e = hmap_find_str(&m, "abc-1");
 *     order *found = e ? e->value.ptr : NULL;
 *     hmap_free(&m);
 *
 * Entry pointers are invalidated by any insert or remove. */
#ifndef APEX_UTIL_HMAP_H
#define APEX_UTIL_HMAP_H

#include <stddef.h>
#include <stdint.h>

typedef union {
    void *ptr;
    int64_t i64;
} hmap_value;

typedef struct {
    const char *key; /* NULL = empty slot */
    uint32_t len;
    uint32_t hash;
    hmap_value value;
} hmap_entry;

typedef struct {
    hmap_entry *slots;
    uint32_t nslots; /* 0 or a power of two */
    int count;
} hmap;

/* 32-bit FNV-1a of len bytes. */
uint32_t hmap_hash(const char *key, size_t len);

void hmap_init(hmap *m);
/* Frees the table; keys and values are the caller's. */
void hmap_free(hmap *m);

static inline int hmap_count(const hmap *m)
{
    return m->count;
}

/* The entry for key, or NULL. The value may be changed in place; the key may not. */
hmap_entry *hmap_find(const hmap *m, const char *key, size_t len);
/* hmap_find for a NUL-terminated key. */
hmap_entry *hmap_find_str(const hmap *m, const char *key);

/* Adds key -> value. 0; APEX_EDUP when the key is present (its value is unchanged);
 * APEX_ENOMEM when the table could not grow; APEX_ERANGE for a key over 4 GiB. */
int hmap_insert(hmap *m, const char *key, size_t len, hmap_value value);

/* Removes key. 0, or APEX_ENOTFOUND. */
int hmap_remove(hmap *m, const char *key, size_t len);

/* Iteration in slot order (unspecified, changes on growth):
 *     size_t pos = 0;
 *     for (hmap_entry *e; (e = hmap_next(&m, &pos));) ...
 * The table must not change during the walk. */
hmap_entry *hmap_next(const hmap *m, size_t *pos);

#endif
