#include "lua_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

static int write_chunk(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    return fwrite(p, 1, sz, ud) == sz ? 0 : 1;
}

void lua_fixture_bytecode_file(const char *source, char *path, size_t len)
{
    snprintf(path, len, "/tmp/apex-bytecode-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    lua_State *plain = luaL_newstate();
    assert_non_null(plain);
    assert_int_equal(luaL_loadstring(plain, source), 0);
    assert_int_equal(lua_dump(plain, write_chunk, f, 0), 0);
    lua_close(plain);
    assert_int_equal(fclose(f), 0);
}
