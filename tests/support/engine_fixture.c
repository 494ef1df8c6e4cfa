#include "engine_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int host(const char *pipeline, const char *db, bool backtest)
{
    char path[768], dbpath[768];
    snprintf(path, sizeof path, "%s/%s", dir, pipeline);
    snprintf(dbpath, sizeof dbpath, "%s/%s", dir, db);
    const char *paths[] = {path};
    host_options opt = {.backtest = backtest,
                        .db_path = dbpath,
                        .fresh = backtest,
                        .quiet = true,
                        .speed = 3000}; /* a minute bar in 20 ms */
    return host_main(paths, 1, &opt);
}

int fx_backtest(const char *pipeline, const char *db)
{
    return host(pipeline, db, true);
}

int fx_run(const char *pipeline, const char *db)
{
    return host(pipeline, db, false);
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
