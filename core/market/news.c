#include "market/news.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"
#include "market/timestamp.h"

void news_free(news_list *n)
{
    vec_free(n);
}

static int parse_impact(const char *s)
{
    if (strcasecmp(s, "low") == 0)
        return 1;
    if (strcasecmp(s, "medium") == 0)
        return 2;
    if (strcasecmp(s, "high") == 0)
        return 3;
    return 0;
}

/* Splits the next comma-separated field in place; the headline takes the rest. */
static char *next_field(char **cursor)
{
    char *start = *cursor;
    if (!start)
        return NULL;
    char *comma = strchr(start, ',');
    if (comma) {
        *comma = '\0';
        *cursor = comma + 1;
    } else {
        *cursor = NULL;
    }
    return start;
}

int news_load(news_list *n, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, errlen, APEX_EIO, "%s: cannot open the news file; check data.news",
                       path);
    char line[1024];
    long lineno = 0;
    int rc = 0;
    apex_time last = 0;
    for (;;) {
        /* fgets fills the buffer up to its last byte only when the line is longer than
         * the buffer (an embedded NUL cannot fool this test, unlike strlen). */
        line[sizeof line - 1] = 'x';
        if (!fgets(line, sizeof line, f))
            break;
        if (line[sizeof line - 1] == '\0' && line[sizeof line - 2] != '\n') {
            /* The rest of an over-long line belongs to this row (its headline is cut to
             * fit anyway), never to a row of its own. */
            int c;
            while ((c = getc(f)) != EOF && c != '\n')
                ;
        }
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strncasecmp(line, "timestamp,symbol,impact,headline", 32) != 0) {
                rc = err_set(err, errlen, APEX_EINVAL,
                             "%s:1: expected the header 'timestamp,symbol,impact,headline'", path);
                break;
            }
            continue;
        }
        if (line[0] == '\0' || line[0] == '#')
            continue;
        char *cur = line;
        char *ts = next_field(&cur), *sym = next_field(&cur), *imp = next_field(&cur);
        const char *headline = cur ? cur : "";
        news_item item = {0};
        if (!ts || !sym || !imp) {
            rc = err_set(err, errlen, APEX_EINVAL,
                         "%s:%ld: expected 4 columns: timestamp,symbol,impact,headline", path,
                         lineno);
            break;
        }
        if (timestamp_parse(ts, strlen(ts), &item.ts) != 0) {
            rc = err_set(err, errlen, APEX_EINVAL,
                         "%s:%ld: column 'timestamp': '%s' is not a time; use Unix seconds or "
                         "2024-03-04T14:30:00Z",
                         path, lineno, ts);
            break;
        }
        if (item.ts < last) {
            rc = err_set(err, errlen, APEX_EINVAL, "%s:%ld: time goes backwards; sort the rows",
                         path, lineno);
            break;
        }
        last = item.ts;
        item.impact = parse_impact(imp);
        if (!item.impact) {
            rc = err_set(err, errlen, APEX_EINVAL,
                         "%s:%ld: column 'impact': '%s'; use low, medium or high", path, lineno,
                         imp);
            break;
        }
        /* the same rule as the bars', so a news item can name any symbol they can */
        if (strcmp(sym, "*") != 0 && !symbol_valid(sym, strlen(sym))) {
            rc = err_set(err, errlen, APEX_EINVAL,
                         "%s:%ld: column 'symbol': '%.40s' is not a symbol; use 1-23 "
                         "characters of " SYMBOL_CHARS_DOC ", or * for market-wide news",
                         path, lineno, sym);
            break;
        }
        strcpy(item.symbol, sym);
        snprintf(item.headline, sizeof item.headline, "%s", headline);
        if (vec_push(n, item) != APEX_OK) {
            rc = err_set(err, errlen, APEX_ENOMEM, "%s:%ld: out of memory loading the news", path,
                         lineno);
            break;
        }
    }
    fclose(f);
    if (rc)
        news_free(n);
    return rc;
}

int news_max_impact(const news_list *n, const char *symbol, apex_time since, apex_time now,
                    const char **headline)
{
    int best = 0;
    for (int i = n->count - 1; i >= 0; i--) {
        const news_item *it = &n->items[i];
        if (it->ts > now)
            continue;
        if (it->ts < since)
            break;
        if (symbol && strcmp(it->symbol, symbol) != 0 && strcmp(it->symbol, "*") != 0)
            continue;
        if (it->impact > best) {
            best = it->impact;
            if (headline)
                *headline = it->headline;
        }
    }
    return best;
}
