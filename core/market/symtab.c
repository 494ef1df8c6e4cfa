#include "market/symtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "market/bar.h"
#include "util/err.h"
#include "util/hmap.h"
#include "util/vec.h"

/* Names live in fixed-size chunks that never move, so symtab_name() pointers stay
 * valid while the table grows, and the index can borrow them as its keys; only the
 * small chunk directory is reallocated. */
#define NAMES_PER_CHUNK 256

typedef char symbol_name[SYMBOL_MAX];

struct symtab {
    VEC(symbol_name *) chunks;
    int count;
    hmap index; /* name -> id */
};

static char *name_at(const symtab *t, int id)
{
    return t->chunks.items[id / NAMES_PER_CHUNK][id % NAMES_PER_CHUNK];
}

symtab *symtab_new(void)
{
    symtab *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    hmap_init(&t->index);
    return t;
}

void symtab_free(symtab *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->chunks.count; i++)
        free(t->chunks.items[i]);
    vec_free(&t->chunks);
    hmap_free(&t->index);
    free(t);
}

static int lookup(const symtab *t, const char *name, int len)
{
    const hmap_entry *e = hmap_find(&t->index, name, (size_t)len);
    return e ? (int)e->value.i64 : -1;
}

int symtab_intern(symtab *t, const char *name, int len)
{
    if (!t || len <= 0)
        return -1;
    /* A name already in the table was checked when it was added: only a new one is
     * validated (this runs once per CSV row). */
    int id = lookup(t, name, len);
    if (id >= 0)
        return id;
    if (!symbol_valid(name, (size_t)len))
        return -1;

    id = t->count;
    if (id / NAMES_PER_CHUNK == t->chunks.count) {
        symbol_name *chunk = malloc(NAMES_PER_CHUNK * sizeof(symbol_name));
        if (!chunk || vec_push(&t->chunks, chunk) != APEX_OK) {
            free(chunk);
            return -1;
        }
    }
    char *dst = name_at(t, id);
    memcpy(dst, name, (size_t)len);
    dst[len] = '\0';
    if (hmap_insert(&t->index, dst, (size_t)len, (hmap_value){.i64 = id}) != APEX_OK)
        return -1;
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
    return lookup(t, name, (int)len);
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
