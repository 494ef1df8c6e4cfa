/* store_testing: hooks for tests of the durable-write failure policy. The product never
 * calls them.
 *
 * They are compiled into the one library that tests and the product share, rather than
 * behind a build flag, so engine tests exercise the very code that ships; when unused
 * they cost one comparison per write. */
#ifndef APEX_STORE_TESTING_H
#define APEX_STORE_TESTING_H

#include "store/store.h"

/* Makes writes fail as a full or broken disk would, without touching the database: after
 * `skip` more writes to `table` succeed, the next `count` fail with APEX_EIO and a message
 * that names this hook. table is a table name ("executions", "orders", "fills",
 * "positions", "events", "equity", "cursors", "position_exits", "exit_attempts"),
 * "commit" for store_commit or "unit" for store_unit_commit; NULL matches every write. A failure
 * injected here feeds the write-failure latch like a real one. A new call replaces the previous
 * setting; count 0 turns the hook off. */
void store_test_fail_writes(store *s, const char *table, int skip, int count);

/* The same setting, applied to the next store that store_open opens in this process (and
 * only that one), for tests that run a whole host (host_main) and never hold its store. */
void store_test_fail_writes_on_next_open(const char *table, int skip, int count);

#endif
