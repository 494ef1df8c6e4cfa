/* config_doc: docs/configuration.md's field tables and types/apex.lua's pipeline
 * classes, rendered from the schema table (core/config/schema.h).
 *
 * The committed files hold each generated block between marker lines:
 *
 *     <!-- BEGIN GENERATED config-doc risk: ... -->        (markdown)
 *     -- BEGIN GENERATED config-doc pipeline: ...          (Lua)
 *     ...
 *     <!-- END GENERATED config-doc risk -->
 *
 * and everything outside the markers is written by hand. Used by the apex-config-doc
 * tool (`make config-docs`) and by test_config, which fails when the files drift. */
#ifndef APEX_TOOLS_CONFIG_DOC_H
#define APEX_TOOLS_CONFIG_DOC_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CONFIG_DOC_MARKDOWN, CONFIG_DOC_LUA } config_doc_kind;

/* The body of one generated block ("pipeline", "risk", "exits.execution", ...), or NULL
 * when no block has that name. Returns a malloc'd string; the caller frees it. */
char *config_doc_block(config_doc_kind kind, const char *name);

/* The names of every block a file of this kind must hold, NULL-terminated. */
const char *const *config_doc_block_names(config_doc_kind kind);

/* Returns text with every generated block replaced by its current body (malloc'd), or
 * NULL with a message in err naming `file` and the block when a marker is unknown,
 * unpaired or missing. */
char *config_doc_update(config_doc_kind kind, const char *file, const char *text, char *err,
                        size_t errlen);

/* The kind of file by its name: *.lua is Lua, anything else markdown. */
config_doc_kind config_doc_kind_of(const char *path);

#endif
