/* lua_fixture: what the script tests share: a Lua file precompiled as `luac` would
 * write it, to check that every loader refuses bytecode by name. */
#ifndef APEX_TEST_LUA_FIXTURE_H
#define APEX_TEST_LUA_FIXTURE_H

#include <stddef.h>

/* Compiles source in a plain Lua state and writes the bytecode to a new temporary file
 * whose name goes to path (len bytes); the caller unlinks it. Fails the test on error. */
void lua_fixture_bytecode_file(const char *source, char *path, size_t len);

#endif
