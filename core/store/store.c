/* store: opening, closing, batches, the instance id and the execution status names. */
#include "store/store_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/log.h"

/* Runs a pragma and returns its first result column in buf (may be NULL). */
static int pragma(sqlite3 *db, const char *sql, char *buf, size_t buflen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && buf) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(buf, buflen, "%s", t ? (const char *)t : "");
        }
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    if (rc != SQLITE_OK)
        rc = sqlite3_errcode(db) ? sqlite3_extended_errcode(db) : rc;
    sqlite3_finalize(st);
    return rc;
}

static int configure(store *s, char *err, size_t errlen)
{
    char mode[32] = "";
    int rc = pragma(s->db, "PRAGMA journal_mode = WAL", mode, sizeof mode);
    if (rc != SQLITE_OK)
        return store_db_error(s->db, rc, s->path, "switching to WAL mode", err, errlen);
    /* :memory: databases cannot use WAL and report "memory"; anything else means the
     * file system refused WAL, and durability would silently differ from what we promise. */
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
        return err_set(err, errlen, APEX_EIO,
                       "store %s: the database refused WAL mode (got '%s'); put it on a local "
                       "disk",
                       s->path, mode);
    const char *sync =
        s->mode == STORE_DURABLE ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF";
    rc = pragma(s->db, sync, NULL, 0);
    if (rc == SQLITE_OK)
        rc = pragma(s->db, "PRAGMA foreign_keys = ON", NULL, 0);
    /* Statement journals and savepoint sub-journals in memory. They exist only to undo a
     * statement or a unit (store_unit_begin) inside a batch, never for crash recovery (the
     * WAL is that), and on disk they cost four pwrite calls per bar in a batched backtest:
     * 800,000 system calls, 40% of a 200,000-bar run. */
    if (rc == SQLITE_OK)
        rc = pragma(s->db, "PRAGMA temp_store = MEMORY", NULL, 0);
    if (rc != SQLITE_OK)
        return store_db_error(s->db, rc, s->path, "configuring the connection", err, errlen);
    return 0;
}

static void random_hex(char out[9])
{
    unsigned char bytes[4];
    bool ok = false;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ok = read(fd, bytes, sizeof bytes) == (ssize_t)sizeof bytes;
        close(fd);
    }
    if (!ok)
        sqlite3_randomness(sizeof bytes, bytes); /* still unpredictable enough for an id */
    snprintf(out, 9, "%02x%02x%02x%02x", bytes[0], bytes[1], bytes[2], bytes[3]);
}

static int meta_get(store *s, const char *key, char *buf, size_t buflen, bool *found)
{
    sqlite3_stmt *st = store_stmt(s, STMT_META_GET, "SELECT value FROM meta WHERE key = ?1");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found)
        store_col_text(st, 0, buf, buflen);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(s, rc, "reading meta");
}

int store_meta_get(store *s, const char *key, char *buf, size_t buflen)
{
    bool found = false;
    int rc = meta_get(s, key, buf, buflen, &found);
    return rc ? rc : (found ? 0 : APEX_ENOTFOUND);
}

int store_meta_set(store *s, const char *key, const char *value, apex_error *err)
{
    /* Rare (a few per run): prepared each time rather than cached. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        if (err)
            err->code = 0, err->msg[0] = '\0';
        return 0;
    }
    int code = store_fail(s, rc, "writing meta");
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", store_errmsg(s));
    }
    return code;
}

static int load_instance_id(store *s)
{
    bool found = false;
    int rc = meta_get(s, "instance_id", s->instance_id, sizeof s->instance_id, &found);
    if (rc || found)
        return rc;
    char id[9];
    random_hex(id);
    /* OR IGNORE + re-read: if another process created the database at the same moment,
     * both end up with the id that was written first. */
    sqlite3_stmt *st =
        store_stmt(s, STMT_META_SET, "INSERT OR IGNORE INTO meta(key, value) VALUES (?1, ?2)");
    if (!st)
        return APEX_EIO;
    sqlite3_bind_text(st, 1, "instance_id", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    rc = store_step_done(s, st, "saving the instance id");
    if (rc)
        return rc;
    rc = meta_get(s, "instance_id", s->instance_id, sizeof s->instance_id, &found);
    if (!rc && (!found || strlen(s->instance_id) != 8))
        return store_failf(s, APEX_EIO, "meta.instance_id is missing or malformed");
    return rc;
}

store *store_open(const char *path, store_mode mode, char *err, size_t errlen)
{
    if (!path || !*path) {
        err_set(err, errlen, APEX_EINVAL, "store: no database path given; pass --db FILE");
        return NULL;
    }
    store *s = calloc(1, sizeof *s);
    if (s)
        s->path = strdup(path);
    if (!s || !s->path) {
        free(s);
        err_set(err, errlen, APEX_ENOMEM, "store %s: out of memory", path);
        return NULL;
    }
    s->mode = mode;
    /* Memory statistics take a global mutex on every allocation SQLite makes and nothing
     * here reads them. sqlite3_config only works before SQLite initializes: once per
     * process, and a refusal (a caller initialized it first) changes nothing. */
    static bool sqlite_configured;
    if (!sqlite_configured) {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
        sqlite_configured = true;
    }
    /* NOMUTEX: a connection belongs to the one thread of the host's loop, so SQLite's
     * per-call connection mutex only costs time. */
    int flags =
        mode == STORE_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err_set(err, errlen, APEX_EIO,
                "store %s: cannot open the database: %s; check that the directory exists and "
                "is writable",
                path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        store_close(s);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* Another process (the dashboard, `apex-host status`) may hold a lock briefly. */
    sqlite3_busy_timeout(s->db, 5000);
    if (mode == STORE_READONLY) {
        if (store_schema_check(s->db, path, &s->schema_version, err, errlen)) {
            store_close(s);
            return NULL;
        }
        bool found = false;
        meta_get(s, "instance_id", s->instance_id, sizeof s->instance_id, &found);
        return s;
    }
    if (configure(s, err, errlen) ||
        store_schema_migrate(s->db, path, &s->schema_version, err, errlen)) {
        store_close(s);
        return NULL;
    }
    if (load_instance_id(s)) {
        err_set(err, errlen, APEX_EIO, "%s", s->err);
        store_close(s);
        return NULL;
    }
    store_test_apply_next_open(s);
    return s;
}

int store_close(store *s)
{
    if (!s)
        return 0;
    int rc = 0;
    if (s->in_batch) {
        /* Closing is also the error path's cleanup, so it still frees everything; the
         * code tells a caller that checks it that the batch's writes are gone. */
        log_warn("store %s: closing with an open batch; its writes are rolled back", s->path);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        rc = APEX_ESTATE;
    }
    for (int i = 0; i < STMT_COUNT_; i++)
        sqlite3_finalize(s->stmts[i]);
    if (sqlite3_close_v2(s->db) != SQLITE_OK && !rc)
        rc = APEX_EIO;
    store_order_cache_free(s);
    free(s->path);
    free(s);
    return rc;
}

const char *store_errmsg(const store *s)
{
    return s->err;
}

const char *store_path(const store *s)
{
    return s->path;
}

const char *store_instance_id(const store *s)
{
    return s->instance_id;
}

int store_schema_version(const store *s)
{
    return s->schema_version;
}

int store_begin(store *s, apex_error *err)
{
    int rc;
    if (s->in_batch) {
        rc = store_failf(s, APEX_ESTATE, "a batch is already open; commit it first");
    } else {
        /* IMMEDIATE takes the write lock now, so a batch never fails half-way on a lock. */
        sqlite3_stmt *st = store_stmt(s, STMT_BEGIN, "BEGIN IMMEDIATE");
        rc = st ? store_step_done(s, st, "starting a batch") : APEX_EIO;
        if (!rc)
            s->in_batch = true;
    }
    /* Not through store_write_result: a batch that did not start lost nothing. */
    if (rc)
        return apex_error_set(err, rc, "%s", s->err);
    apex_error_clear(err);
    return 0;
}

int store_commit(store *s, apex_error *err)
{
    if (!s->in_batch) /* nothing was lost, so the latch stays as it is */
        return apex_error_set(err, store_failf(s, APEX_ESTATE, "commit without an open batch"),
                              "%s", s->err);
    int rc = store_write_injected(s, "commit", "committing a batch");
    if (!rc) {
        sqlite3_stmt *st = store_stmt(s, STMT_COMMIT, "COMMIT");
        rc = st ? store_step_done(s, st, "committing a batch") : APEX_EIO;
        /* A failed COMMIT (e.g. busy) leaves the transaction open; the caller may retry. */
        if (!rc || sqlite3_get_autocommit(s->db))
            s->in_batch = false;
    }
    return store_write_result(s, rc, err);
}

int store_rollback(store *s, apex_error *err)
{
    int rc;
    if (!s->in_batch) {
        rc = store_failf(s, APEX_ESTATE, "rollback without an open batch");
    } else {
        store_order_cache_clear(s); /* it may hold rows the rollback takes back */
        sqlite3_stmt *st = store_stmt(s, STMT_ROLLBACK, "ROLLBACK");
        rc = st ? store_step_done(s, st, "rolling back a batch") : APEX_EIO;
        if (sqlite3_get_autocommit(s->db))
            s->in_batch = false;
    }
    /* Not through store_write_result: a rollback discards on purpose. */
    if (rc)
        return apex_error_set(err, rc, "%s", s->err);
    apex_error_clear(err);
    return 0;
}

bool store_in_batch(const store *s)
{
    return s->in_batch;
}

/* The unit statements are prepared once, like every other: parsing them on each unit
 * (sqlite3_exec) was 6% of a trading backtest, which makes some 40,000 units. */
static int unit_exec(store *s, store_stmt_id id, const char *sql, const char *what)
{
    sqlite3_stmt *st = store_stmt(s, id, sql);
    return st ? store_step_done(s, st, what) : APEX_EIO;
}

/* Like store_begin: a unit that did not start lost nothing, so no latch. */
int store_unit_begin(store *s, apex_error *err)
{
    int rc = unit_exec(s, STMT_UNIT_BEGIN, "SAVEPOINT apex_unit", "starting a unit of writes");
    if (rc)
        return apex_error_set(err, rc, "%s", s->err);
    s->units++;
    apex_error_clear(err);
    return 0;
}

int store_unit_commit(store *s, apex_error *err)
{
    if (s->units <= 0) /* nothing was lost, so the latch stays as it is */
        return apex_error_set(
            err, store_failf(s, APEX_ESTATE, "commit of a unit that was not begun"), "%s", s->err);
    int rc = store_write_injected(s, "unit", "committing a unit of writes");
    if (!rc)
        rc = unit_exec(s, STMT_UNIT_RELEASE, "RELEASE apex_unit", "committing a unit of writes");
    if (!rc)
        s->units--;
    return store_write_result(s, rc, err);
}

/* Like store_rollback: undoing discards on purpose, so no latch. */
int store_unit_abort(store *s, apex_error *err)
{
    if (s->units <= 0)
        return apex_error_set(
            err, store_failf(s, APEX_ESTATE, "abort of a unit that was not begun"), "%s", s->err);
    store_order_cache_clear(s); /* it may hold rows the undo takes back */
    int rc = unit_exec(s, STMT_UNIT_ROLLBACK, "ROLLBACK TO apex_unit", "undoing a unit of writes");
    int rc2 =
        unit_exec(s, STMT_UNIT_RELEASE, "RELEASE apex_unit", "closing an undone unit of writes");
    s->units--;
    rc = rc ? rc : rc2;
    if (rc)
        return apex_error_set(err, rc, "%s", s->err);
    apex_error_clear(err);
    return 0;
}
