/* symtab: interns symbol names ("AAPL") as small integer ids, so the hot path
 * compares ints and indexes arrays instead of hashing strings. One per host. */
#ifndef APEX_MARKET_SYMTAB_H
#define APEX_MARKET_SYMTAB_H

typedef struct symtab symtab;

symtab *symtab_new(void);
void symtab_free(symtab *t);

/* Returns the id for name (len bytes, no terminator needed), adding it if new.
 * Ids are dense, starting at 0. Returns -1 if name is empty, longer than
 * SYMBOL_MAX-1 bytes, or contains characters outside [A-Za-z0-9._/^=-]. */
int symtab_intern(symtab *t, const char *name, int len);
/* Returns the id for name or -1 if unknown. */
int symtab_find(const symtab *t, const char *name);
/* The name for an id; the pointer stays valid until symtab_free. NULL if out of range. */
const char *symtab_name(const symtab *t, int id);
int symtab_count(const symtab *t);

#endif
