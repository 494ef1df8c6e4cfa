#include "engine_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "pipeline/coordinator.h"
#include "pipeline/pipeline.h"
#include "pipeline/run_files.h"
#include "util/log.h"

static char dir[256];

void fx_make_dir(const char *name)
{
    snprintf(dir, sizeof dir, "/tmp/apex-%s-XXXXXX", name);
    assert_non_null(mkdtemp(dir));
}

void fx_remove_dir(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

const char *fx_dir(void)
{
    return dir;
}

const char *fx_path(const char *name)
{
    static char path[768];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

void fx_write(const char *name, const char *text)
{
    FILE *f = fopen(fx_path(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int saved_out = -1, saved_err = -1;

void fx_capture_begin(const char *name)
{
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    int fd = open(fx_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

void fx_capture_end(void)
{
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
}

int fx_count_lines(const char *name, const char *needle)
{
    FILE *f = fopen(fx_path(name), "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) >= 0)
        if (strstr(line, needle))
            n++;
    free(line);
    fclose(f);
    return n;
}

int fx_backtest(const char *file, const char *db)
{
    char path[768], dbpath[768];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(dbpath, sizeof dbpath, "%s/%s", dir, db);
    const char *paths[] = {path};
    host_options opt = {.backtest = true, .db_path = dbpath, .fresh = true, .quiet = true};
    return host_main(paths, 1, &opt);
}

static int64_t sim_now(void *ud)
{
    return clock_now(ud);
}

/* The time of the pipeline's first bar, from a throwaway open on an in-memory store (as
 * `apex-host check` opens pipelines). */
static apex_time first_bar_time(const char *path)
{
    char err[512];
    price_table prices;
    price_table_init(&prices);
    host_services hs = {.clock = clock_new_simulated(0),
                        .db = store_open(":memory:", STORE_FAST, err, sizeof err),
                        .symbols = symtab_new(),
                        .prices = &prices,
                        .backtest = true,
                        .db_path = ":memory:"};
    assert_non_null(hs.db);
    diag_list diags;
    diag_init(&diags);
    pipeline *p = pipeline_open(&hs, path, &diags);
    diag_free(&diags);
    apex_time first = 0;
    if (!p || pipeline_peek(p, &first) <= 0)
        first = 0; /* no data, or a data error the real run reports */
    pipeline_free(p);
    clock_free(hs.clock);
    symtab_free(hs.symbols);
    price_table_free(&prices);
    store_close(hs.db);
    return first;
}

/* What host_main's run path does around the pipeline (pipeline/host.c), with a simulated
 * clock in place of the libuv loop: it was the live clock at a high replay speed that made
 * restart tests depend on the machine's load. run loads the pipelines, then jumps its clock
 * to the first bar, so whatever the load started (a resumed execution's first check, the
 * reconciliation's replies) happens at that time: here the clock starts there. */
int fx_run(const char *file, const char *db)
{
    char path[768], dbpath[768], err[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(dbpath, sizeof dbpath, "%s/%s", dir, db);
    log_level level = log_get_level();
    log_set_level(LOG_WARN);
    apex_time first = first_bar_time(path);
    int lock_fd = -1;
    if (run_files_lock(dbpath, &lock_fd, err, sizeof err) != 0) {
        fprintf(stderr, "fx_run: %s\n", err);
        log_set_level(level);
        return EXIT_STORE;
    }
    store *s = store_open(dbpath, STORE_DURABLE, err, sizeof err);
    if (!s) {
        fprintf(stderr, "fx_run: %s\n", err);
        run_files_unlock(lock_fd);
        log_set_level(level);
        return EXIT_STORE;
    }
    store_meta_set(s, "run_kind", "run", NULL);
    store_meta_set(s, "run_state", "running", NULL);
    price_table prices;
    price_table_init(&prices);
    host_services hs = {.clock = clock_new_simulated(first),
                        .db = s,
                        .symbols = symtab_new(),
                        .prices = &prices,
                        .loop = NULL, /* no hot reload: nothing edits the scripts */
                        .backtest = false,
                        .db_path = dbpath,
                        .coord = coordinator_new()};
    assert_non_null(hs.clock);
    assert_non_null(hs.symbols);
    log_set_clock(sim_now, hs.clock);

    int code = EXIT_OK;
    diag_list diags;
    diag_init(&diags);
    pipeline *p = pipeline_open(&hs, path, &diags);
    for (int i = 0; i < diags.count; i++)
        fprintf(stderr, "%s\n", diags.items[i]);
    diag_free(&diags);
    if (!p) {
        code = EXIT_INVALID;
    } else {
        for (;;) {
            apex_time ts;
            int more = pipeline_peek(p, &ts);
            if (more == 0)
                break;
            if (more > 0 && ts > clock_now(hs.clock)) { /* else a read error, which step reports */
                coordinator_flush(hs.coord); /* the host's order: rank, then move the clock */
                clock_advance_to(hs.clock, ts);
            }
            int rc = pipeline_step(p, err, sizeof err);
            if (rc < 0) {
                fprintf(stderr, "fx_run: stopped on a data error: %s\n", err);
                code = EXIT_RUNTIME;
                break;
            }
            if (rc == 0)
                break;
        }
        /* End of data: orders, fills and checks settle for a minute of data time. */
        if (code == EXIT_OK)
            coordinator_flush(hs.coord);
        if (code == EXIT_OK)
            clock_advance_to(hs.clock, clock_now(hs.clock) + APEX_MINUTE);
        pipeline_summary sum;
        pipeline_finish(p, &sum);
        if (sum.write_error) {
            fprintf(stderr, "fx_run: durable write failed: %s\n", sum.write_error);
            code = EXIT_RUNTIME;
        }
    }
    store_meta_set(s, "run_state", code != EXIT_OK ? "failed" : "stopped", NULL);
    pipeline_free(p);
    coordinator_free(hs.coord);
    log_set_clock(NULL, NULL);
    clock_free(hs.clock);
    price_table_free(&prices);
    symtab_free(hs.symbols);
    store_close(s);
    run_files_unlock(lock_fd);
    log_set_level(level);
    return code;
}

sqlite3 *fx_open_db(const char *db)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(fx_path(db), &h), SQLITE_OK);
    return h;
}

void fx_query_text(sqlite3 *h, const char *sql, char *out, size_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("bad query %s: %s", sql, sqlite3_errmsg(h));
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

long long fx_query_int(sqlite3 *h, const char *sql)
{
    char buf[64];
    fx_query_text(h, sql, buf, sizeof buf);
    return atoll(buf);
}

void fx_csv_open(fx_csv *c, const char *name)
{
    snprintf(c->path, sizeof c->path, "%s", fx_path(name));
    c->f = fopen(c->path, "w");
    assert_non_null(c->f);
    fprintf(c->f, "timestamp,symbol,open,high,low,close,volume\n");
}

void fx_csv_bar(fx_csv *c, long ts, const char *symbol, double o, double h, double l, double cl,
                double volume)
{
    fprintf(c->f, "%ld,%s,%.2f,%.2f,%.2f,%.2f,%.0f\n", ts, symbol, o, h, l, cl, volume);
}

void fx_csv_close(fx_csv *c)
{
    fclose(c->f);
    c->f = NULL;
}
