/* embedded: the host's own Lua modules, compiled into the binary from lua/
 * by cmake/embed_lua.cmake. The table ends with a NULL name. */
#ifndef APEX_SCRIPT_EMBEDDED_H
#define APEX_SCRIPT_EMBEDDED_H

#include <stddef.h>

struct embedded_lua_module {
    const char *name; /* "apex.instructions" */
    const char *path; /* "lua/apex/instructions.lua", used as the chunk name */
    const char *source;
    size_t len;
};

extern const struct embedded_lua_module embedded_lua_modules[];

#endif
