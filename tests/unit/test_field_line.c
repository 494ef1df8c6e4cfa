/* test_field_line: the line a pipeline file writes strategy.params.NAME on, exactly, when
 * the bias and the strategy share parameter names and comments and strings mention them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "script/field_line.h"

static const char PIPELINE[] =
    "-- period = 5 was too short (line 1, a comment)\n"
    "local shared = { period = 9 }\n"
    "--[[ strategy = { params = { period = 1 } } (a long comment)\n"
    "]]\n"
    "return apex.pipeline {\n"
    "    name = \"period = 3\",\n"
    "    bias = { file = \"b.lua\", params = { period = 50, slope = 10 } },\n"
    "    strategy = {\n"
    "        file = [[s.lua]],\n"
    "        params = {\n"
    "            slope = tostring(1, 2),\n"
    "            [\"period\"] = 20,\n"
    "            levels = { 1, 2, { period = 4 } },\n"
    "            kind = x == 1 and \"a\" or \"b\",\n"
    "        },\n"
    "    },\n"
    "    exits = { stages = { { at = 1 }, { at = 2 } } },\n"
    "    risk = { max_positions = 2, max_positions = 3 },\n"
    "}\n";

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/apex-field-line-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, PIPELINE, sizeof PIPELINE - 1), (ssize_t)(sizeof PIPELINE - 1));
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void test_each_table_its_own_line(void **state)
{
    (void)state;
    assert_int_equal(script_field_line(path, "bias.params.period"), 7);
    assert_int_equal(script_field_line(path, "strategy.params.period"), 12); /* ["period"] */
    assert_int_equal(script_field_line(path, "bias.params.slope"), 7);
    assert_int_equal(script_field_line(path, "strategy.params.slope"), 11);
    assert_int_equal(script_field_line(path, "strategy.params.levels"), 13);
    assert_int_equal(script_field_line(path, "strategy.params.kind"), 14); /* after a == */
    assert_int_equal(script_field_line(path, "strategy.file"), 9);
    assert_int_equal(script_field_line(path, "name"), 6);
    /* the first level is any outermost table's: the local one on line 2 here */
    assert_int_equal(script_field_line(path, "period"), 2);
}

static void test_what_no_constructor_writes_there(void **state)
{
    (void)state;
    /* a comment, a string, a list's table and a local table are not those fields */
    assert_int_equal(script_field_line(path, "strategy.params.fast"), 0);
    assert_int_equal(script_field_line(path, "strategy.params.levels.period"), 0);
    assert_int_equal(script_field_line(path, "exits.stages.at"), 0);
    assert_int_equal(script_field_line("/nonexistent/pipeline.lua", "name"), 0);
}

static void test_a_key_written_twice_is_the_last(void **state)
{
    (void)state;
    assert_int_equal(script_field_line(path, "risk.max_positions"), 18);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_table_its_own_line),
        cmocka_unit_test(test_what_no_constructor_writes_there),
        cmocka_unit_test(test_a_key_written_twice_is_the_last),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
