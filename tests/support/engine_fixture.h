/* engine_fixture: helpers for engine tests (tests/engine/), which run whole pipelines
 * through the host and read the outcome back from the store. Every run is on a simulated
 * clock, so outcomes never depend on timing. Each test program gets its own temporary
 * directory. */
#ifndef APEX_TEST_ENGINE_FIXTURE_H
#define APEX_TEST_ENGINE_FIXTURE_H

#include <sqlite3.h>
#include <stddef.h>

#include "pipeline/host.h"

/* Creates a fresh temporary directory (fx_dir) for this program. */
void fx_make_dir(const char *name);
void fx_remove_dir(void);
const char *fx_dir(void);

/* Writes text to <dir>/name. */
void fx_write(const char *name, const char *text);
/* Full path of <dir>/name in a static buffer (valid until the next call). */
const char *fx_path(const char *name);

/* `apex-host backtest` on <dir>/pipeline with a fresh store <dir>/db: host_main itself,
 * on its simulated clock. Returns the exit code. */
int fx_backtest(const char *pipeline, const char *db);
/* `apex-host run` on <dir>/pipeline with the store <dir>/db, kept between calls (so a
 * second call is a restart), but on a simulated clock: the durable store, the paper account
 * beside it, the restart cursor and resumption are run's; time is the data's, advanced bar
 * by bar as a backtest does, then one more minute of data time at the end of the data, as
 * run waits before stopping. Nothing depends on the wall clock or the machine's load. */
int fx_run(const char *pipeline, const char *db);

/* Sends stdout and stderr (the lines a run prints) to <dir>/name until fx_capture_end. */
void fx_capture_begin(const char *name);
void fx_capture_end(void);
/* How many lines of <dir>/name contain needle. */
int fx_count_lines(const char *name, const char *needle);

sqlite3 *fx_open_db(const char *db);
void fx_query_text(sqlite3 *h, const char *sql, char *out, size_t n);
long long fx_query_int(sqlite3 *h, const char *sql);

/* Appends one bar line: epoch seconds, symbol, OHLC, volume to the open file. */
typedef struct {
    char path[512];
    void *f;
} fx_csv;
void fx_csv_open(fx_csv *c, const char *name);
void fx_csv_bar(fx_csv *c, long ts, const char *symbol, double o, double h, double l, double cl,
                double volume);
void fx_csv_close(fx_csv *c);

#endif
