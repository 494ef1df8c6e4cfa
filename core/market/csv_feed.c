#include "market/csv_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "market/timestamp.h"
#include "util/err.h"

/* One big block per read(): the kernel copy dominates for small reads, and a bar row
 * is ~60 bytes, so 1 MiB holds ~17k rows per system call. */
#define CSV_BLOCK    (1 << 20)
#define CSV_MAX_COLS 64
#define SHOW_MAX     40 /* bytes of a bad value quoted back in an error */

typedef enum {
    COL_IGNORE = 0,
    COL_TIMESTAMP,
    COL_SYMBOL,
    COL_OPEN,
    COL_HIGH,
    COL_LOW,
    COL_CLOSE,
    COL_VOLUME,
    COL_BID,
    COL_ASK,
    COL_ROLE_COUNT
} col_role;

static const char *const role_names[COL_ROLE_COUNT] = {
    "", "timestamp", "symbol", "open", "high", "low", "close", "volume", "bid", "ask",
};

struct csv_feed {
    char *path;
    int fd;
    symtab *symbols;
    bool follow;
    bool at_eof; /* a non-follow feed has seen EOF: the last line may lack its newline */

    char *buf;
    size_t pos; /* start of unparsed data */
    size_t end; /* end of data read so far */

    long line;     /* lines consumed so far */
    long row_line; /* line of the last bar returned */

    bool have_header;
    int ncols;
    int col_of[COL_ROLE_COUNT]; /* column index per role, -1 when absent */

    apex_time last_ts;
    /* Rows of one minute share a timestamp across symbols: reuse the last parse. */
    char cache_text[SHOW_MAX];
    size_t cache_len;
    apex_time cache_ts;
};

typedef struct {
    const char *p;
    size_t n;
} field;

/* ---- line reading ---------------------------------------------------------------------- */

/* Returns 1 with the next line (without its newline or '\r'), 0 at end of data (for now,
 * when following), or an error. */
static int next_line(csv_feed *f, const char **line, size_t *len, char *err, size_t errlen)
{
    for (;;) {
        char *start = f->buf + f->pos;
        char *nl = memchr(start, '\n', f->end - f->pos);
        if (nl) {
            *line = start;
            *len = (size_t)(nl - start);
            f->pos += *len + 1;
            f->line++;
            if (*len > 0 && start[*len - 1] == '\r')
                (*len)--;
            return 1;
        }
        if (f->at_eof) {
            if (f->pos == f->end)
                return 0;
            /* A last line without a newline is complete once the file has ended. */
            *line = start;
            *len = f->end - f->pos;
            f->pos = f->end;
            f->line++;
            if (*len > 0 && start[*len - 1] == '\r')
                (*len)--;
            return 1;
        }
        /* Keep the partial line: move it to the front and fill the rest of the block. */
        size_t keep = f->end - f->pos;
        if (f->pos > 0) {
            memmove(f->buf, f->buf + f->pos, keep);
            f->pos = 0;
            f->end = keep;
        }
        if (f->end == CSV_BLOCK)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s:%ld: line is longer than %d bytes; is this a bar CSV file?", f->path,
                           f->line + 1, CSV_BLOCK);
        ssize_t n = read(f->fd, f->buf + f->end, CSV_BLOCK - f->end);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return err_set(err, errlen, APEX_EIO, "%s: read failed: %s", f->path, strerror(errno));
        }
        if (n == 0) {
            if (f->follow)
                return 0; /* tail: the partial line waits for its newline */
            f->at_eof = true;
            continue;
        }
        f->end += (size_t)n;
    }
}

static bool skippable(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i == n || s[i] == '#';
}

static field trim_field(const char *a, const char *b)
{
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (b - a >= 2 && *a == '"' && b[-1] == '"') {
        a++;
        b--;
    }
    return (field){a, (size_t)(b - a)};
}

/* Splits into at most `max` fields, trimming blanks and one pair of double quotes.
 * Returns the number of fields found (which may exceed max, counting only). Fields are
 * a few bytes long, too short for memchr's setup to pay off, so the commas are found
 * eight bytes at a time in a word (a byte loop was 11 instructions a byte, a third of
 * the CSV's cost per bar). */
static int split_fields(const char *s, size_t n, field *out, int max)
{
    const char *end = s + n;
    const char *fs = s;
    int count = 0;
    const char *p = s;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, low7 = 0x7f7f7f7f7f7f7f7fu;
    for (; end - p >= 8; p += 8) {
        uint64_t x;
        memcpy(&x, p, sizeof x);
        x ^= ones * ',';
        /* The high bit of each byte that was a comma (now 0), exactly: no carry crosses
         * bytes, unlike the shorter (x - ones) & ~x form. */
        uint64_t m = ~(((x & low7) + low7) | x | low7);
        while (m) {
            const char *c = p + (__builtin_ctzll(m) >> 3);
            if (count < max) {
                out[count].p = fs;
                out[count].n = (size_t)(c - fs);
            }
            count++;
            fs = c + 1;
            m &= m - 1;
        }
    }
#endif
    for (; p < end; p++) {
        if (*p != ',')
            continue;
        if (count < max) {
            out[count].p = fs;
            out[count].n = (size_t)(p - fs);
        }
        count++;
        fs = p + 1;
    }
    if (count < max) {
        out[count].p = fs;
        out[count].n = (size_t)(end - fs);
    }
    count++;
    /* Trimming is rare in machine-written files: only pay for it when an edge needs it. */
    int kept = count < max ? count : max;
    for (int i = 0; i < kept; i++) {
        field *f = &out[i];
        if (f->n > 0 && (f->p[0] == ' ' || f->p[0] == '\t' || f->p[0] == '"' ||
                         f->p[f->n - 1] == ' ' || f->p[f->n - 1] == '\t'))
            *f = trim_field(f->p, f->p + f->n);
    }
    return count;
}

/* ---- header ---------------------------------------------------------------------------- */

static col_role role_for(const char *s, size_t n)
{
    static const struct {
        const char *name;
        col_role role;
    } names[] = {
        {"timestamp", COL_TIMESTAMP},
        {"time", COL_TIMESTAMP},
        {"datetime", COL_TIMESTAMP},
        {"date", COL_TIMESTAMP},
        {"ts", COL_TIMESTAMP},
        {"symbol", COL_SYMBOL},
        {"ticker", COL_SYMBOL},
        {"open", COL_OPEN},
        {"high", COL_HIGH},
        {"low", COL_LOW},
        {"close", COL_CLOSE},
        {"volume", COL_VOLUME},
        {"bid", COL_BID},
        {"ask", COL_ASK},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0)
            return names[i].role;
    return COL_IGNORE;
}

static int parse_header(csv_feed *f, const char *s, size_t n, char *err, size_t errlen)
{
    /* Spreadsheets often save CSV with a UTF-8 byte order mark before the first name. */
    if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    field fields[CSV_MAX_COLS];
    int count = split_fields(s, n, fields, CSV_MAX_COLS);
    if (count > CSV_MAX_COLS)
        return err_set(err, errlen, APEX_EINVAL, "%s:%ld: header has %d columns; at most %d",
                       f->path, f->line, count, CSV_MAX_COLS);
    for (int r = 0; r < COL_ROLE_COUNT; r++)
        f->col_of[r] = -1;
    for (int i = 0; i < count; i++) {
        col_role r = role_for(fields[i].p, fields[i].n);
        if (r == COL_IGNORE)
            continue;
        if (f->col_of[r] >= 0)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s:%ld: header names column '%s' twice (columns %d and %d); keep one",
                           f->path, f->line, role_names[r], f->col_of[r] + 1, i + 1);
        f->col_of[r] = i;
    }
    for (int r = COL_TIMESTAMP; r <= COL_VOLUME; r++)
        if (f->col_of[r] < 0)
            return err_set(err, errlen, APEX_EINVAL,
                           "%s:%ld: header has no column '%s'; the first line must name the "
                           "columns timestamp,symbol,open,high,low,close,volume[,bid,ask] "
                           "(any order), got '%.*s'",
                           f->path, f->line, role_names[r], (int)(n > 120 ? 120 : n), s);
    f->ncols = count;
    f->have_header = true;
    return 0;
}

/* Reads up to the header row. 1 = have it, 0 = not yet (follow), < 0 = error. */
static int read_header(csv_feed *f, char *err, size_t errlen)
{
    const char *line;
    size_t len;
    for (;;) {
        int r = next_line(f, &line, &len, err, errlen);
        if (r <= 0)
            return r;
        if (!skippable(line, len))
            break;
    }
    int rc = parse_header(f, line, len, err, errlen);
    return rc < 0 ? rc : 1;
}

/* ---- rows ------------------------------------------------------------------------------ */

static int bad_value(const csv_feed *f, col_role r, field v, const char *what, char *err,
                     size_t errlen)
{
    int n = (int)(v.n > SHOW_MAX ? SHOW_MAX : v.n);
    return err_set(err, errlen, APEX_EINVAL, "%s:%ld: column '%s': '%.*s'%s%s", f->path, f->line,
                   role_names[r], n, v.p, v.n > SHOW_MAX ? "..." : "", what);
}

/* Why v is not a value of column r (money_parse answered rc, or the value is out of the
 * column's range). Apart from parse_price so that its seven calls a row stay small. */
static __attribute__((noinline, cold)) int price_error(const csv_feed *f, col_role r, field v,
                                                       int rc, bool allow_zero, char *err,
                                                       size_t errlen)
{
    if (v.n == 0)
        return err_set(err, errlen, APEX_EINVAL, "%s:%ld: column '%s' is empty; give a value",
                       f->path, f->line, role_names[r]);
    if (rc == APEX_ERANGE)
        return bad_value(f, r, v, " is out of range", err, errlen);
    if (rc < 0)
        return bad_value(f, r, v, " is not a number", err, errlen);
    return bad_value(f, r, v, allow_zero ? " must not be negative" : " must be greater than 0", err,
                     errlen);
}

static inline int parse_price(const csv_feed *f, col_role r, field v, bool allow_zero, money_t *out,
                              char *err, size_t errlen)
{
    int rc = v.n > 0 ? money_parse(v.p, v.n, out) : APEX_EINVAL;
    if (rc == 0 && (*out > 0 || (*out == 0 && allow_zero)))
        return 0;
    return price_error(f, r, v, rc, allow_zero, err, errlen);
}

static int parse_row(csv_feed *f, const char *s, size_t n, bar *out, char *err, size_t errlen)
{
    field v[CSV_MAX_COLS];
    int count = split_fields(s, n, v, f->ncols);
    if (count != f->ncols)
        return err_set(err, errlen, APEX_EINVAL,
                       "%s:%ld: expected %d columns as in the header, found %d", f->path, f->line,
                       f->ncols, count);

    field ts = v[f->col_of[COL_TIMESTAMP]];
    apex_time t;
    if (ts.n == f->cache_len && ts.n > 0 && memcmp(ts.p, f->cache_text, ts.n) == 0) {
        t = f->cache_ts;
    } else {
        if (timestamp_parse(ts.p, ts.n, &t) != 0)
            return bad_value(f, COL_TIMESTAMP, ts,
                             " is not a timestamp; use Unix seconds or 2024-03-01T14:30:00Z", err,
                             errlen);
        if (ts.n <= sizeof f->cache_text) {
            memcpy(f->cache_text, ts.p, ts.n);
            f->cache_len = ts.n;
            f->cache_ts = t;
        }
    }
    if (f->row_line > 0 && t < f->last_ts) {
        char a[32], b[32];
        timestamp_format(t, a, sizeof a);
        timestamp_format(f->last_ts, b, sizeof b);
        return err_set(err, errlen, APEX_EINVAL,
                       "%s:%ld: column 'timestamp': %s is earlier than the previous row's %s; "
                       "rows must be in time order",
                       f->path, f->line, a, b);
    }

    field sym = v[f->col_of[COL_SYMBOL]];
    int id = symtab_intern(f->symbols, sym.p, (int)(sym.n > SYMBOL_MAX ? SYMBOL_MAX : sym.n));
    if (id < 0)
        return bad_value(f, COL_SYMBOL, sym,
                         " is not a symbol; use 1-23 characters of " SYMBOL_CHARS_DOC, err, errlen);

    int rc;
    if ((rc = parse_price(f, COL_OPEN, v[f->col_of[COL_OPEN]], false, &out->open, err, errlen)) ||
        (rc = parse_price(f, COL_HIGH, v[f->col_of[COL_HIGH]], false, &out->high, err, errlen)) ||
        (rc = parse_price(f, COL_LOW, v[f->col_of[COL_LOW]], false, &out->low, err, errlen)) ||
        (rc =
             parse_price(f, COL_CLOSE, v[f->col_of[COL_CLOSE]], false, &out->close, err, errlen)) ||
        (rc =
             parse_price(f, COL_VOLUME, v[f->col_of[COL_VOLUME]], true, &out->volume, err, errlen)))
        return rc;

    money_t top = out->open > out->close ? out->open : out->close;
    money_t bottom = out->open < out->close ? out->open : out->close;
    if (out->high < top)
        return bad_value(f, COL_HIGH, v[f->col_of[COL_HIGH]],
                         " is below open or close; high must be >= both", err, errlen);
    if (out->low > bottom)
        return bad_value(f, COL_LOW, v[f->col_of[COL_LOW]],
                         " is above open or close; low must be <= both", err, errlen);

    /* Quotes are optional per row too: an empty bid/ask cell means "no quote" (0). */
    out->bid = out->ask = 0;
    if (f->col_of[COL_BID] >= 0 && v[f->col_of[COL_BID]].n > 0 &&
        (rc = parse_price(f, COL_BID, v[f->col_of[COL_BID]], true, &out->bid, err, errlen)))
        return rc;
    if (f->col_of[COL_ASK] >= 0 && v[f->col_of[COL_ASK]].n > 0 &&
        (rc = parse_price(f, COL_ASK, v[f->col_of[COL_ASK]], true, &out->ask, err, errlen)))
        return rc;

    out->ts = t;
    out->symbol_id = id;
    f->last_ts = t;
    f->row_line = f->line;
    return 0;
}

/* ---- public ---------------------------------------------------------------------------- */

csv_feed *csv_feed_open(const char *path, symtab *symbols, bool follow, char *err, size_t errlen)
{
    if (!path || !symbols) {
        err_set(err, errlen, APEX_EINVAL, "csv_feed_open: a path and a symtab are required");
        return NULL;
    }
    csv_feed *f = calloc(1, sizeof *f);
    if (f)
        f->fd = -1;
    if (!f || !(f->path = strdup(path)) || !(f->buf = malloc(CSV_BLOCK))) {
        err_set(err, errlen, APEX_ENOMEM, "%s: out of memory opening the file", path);
        goto fail;
    }
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        err_set(err, errlen, APEX_EIO, "%s: cannot open: %s; check data.files in the pipeline",
                path, strerror(errno));
        goto fail;
    }
    f->symbols = symbols;
    f->follow = follow;
    int rc = read_header(f, err, errlen);
    if (rc < 0)
        goto fail;
    if (rc == 0 && !follow) {
        err_set(err, errlen, APEX_EINVAL,
                "%s: the file is empty; it needs a header row "
                "timestamp,symbol,open,high,low,close,volume",
                path);
        goto fail;
    }
    return f;
fail:
    csv_feed_close(f);
    return NULL;
}

void csv_feed_close(csv_feed *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    free(f->path);
    free(f);
}

int csv_feed_next(csv_feed *f, bar *out, char *err, size_t errlen)
{
    if (!f->have_header) {
        int rc = read_header(f, err, errlen);
        if (rc <= 0)
            return rc;
    }
    const char *line;
    size_t len;
    for (;;) {
        int r = next_line(f, &line, &len, err, errlen);
        if (r <= 0)
            return r;
        if (skippable(line, len))
            continue;
        int rc = parse_row(f, line, len, out, err, errlen);
        return rc < 0 ? rc : 1;
    }
}

long csv_feed_line(const csv_feed *f)
{
    return f->row_line;
}

const char *csv_feed_path(const csv_feed *f)
{
    return f->path;
}

bool csv_feed_is_follow(const csv_feed *f)
{
    return f->follow;
}

int csv_feed_last_time(const char *path, apex_time *out)
{
    symtab *names = symtab_new();
    char err[256];
    csv_feed *f = names ? csv_feed_open(path, names, false, err, sizeof err) : NULL;
    int rc = APEX_ENOTFOUND;
    struct stat st;
    if (!f || fstat(f->fd, &st) != 0 || st.st_size <= 0)
        goto done;
    /* The last row is in the file's tail: rows are ~60 bytes, a tail of 64 KiB holds it
     * unless the file ends in a very long comment block. */
    off_t from = st.st_size > 65536 ? st.st_size - 65536 : 0;
    ssize_t n = pread(f->fd, f->buf, (size_t)(st.st_size - from), from);
    if (n <= 0)
        goto done;
    const char *text = f->buf;
    size_t end = (size_t)n;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        size_t len = end - start;
        while (len > 0 && (text[start + len - 1] == '\n' || text[start + len - 1] == '\r'))
            len--;
        if (len > 0 && !skippable(text + start, len) && (start > 0 || from == 0)) {
            field fields[CSV_MAX_COLS];
            int count = split_fields(text + start, len, fields, CSV_MAX_COLS);
            int c = f->col_of[COL_TIMESTAMP];
            apex_time t;
            if (c >= 0 && c < count && count <= CSV_MAX_COLS &&
                timestamp_parse(fields[c].p, fields[c].n, &t) == 0) {
                *out = t;
                rc = 0;
            }
            break; /* the header, or a row: either way the answer */
        }
        end = start > 0 ? start - 1 : 0;
    }
done:
    csv_feed_close(f);
    symtab_free(names);
    return rc;
}
