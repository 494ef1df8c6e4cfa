/* csv_feed: reads bars from CSV files and merges several in time order.
 *
 * File format (header row required, column order free, names case-insensitive):
 *     timestamp,symbol,open,high,low,close,volume[,bid,ask]
 * timestamp is either an integer of Unix seconds or ISO-8601 UTC
 * "2024-03-01T14:30:00Z" / "2024-03-01 14:30:00". Prices are plain decimals.
 * A file may hold many symbols; its rows must be in non-decreasing time order.
 * Blank lines and lines starting with '#' are skipped.
 *
 * Malformed rows are errors that name the file, line and column, e.g.
 *   "data/bars.csv:17: column 'close': 'abc' is not a number"
 * and checks: high >= max(open, close), low <= min(open, close), volume >= 0,
 * prices > 0, time not going backwards.
 *
 * Reading is buffered in large blocks with no per-row allocation: this is on the
 * backtest's hot path. */
#ifndef APEX_MARKET_CSV_FEED_H
#define APEX_MARKET_CSV_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "market/bar.h"
#include "market/bar_queue.h"
#include "market/symtab.h"

typedef struct csv_feed csv_feed;

/* Opens path and reads its header. With follow = true the feed behaves like `tail -f`:
 * at end of file csv_feed_next returns 0 and a later call picks up appended rows
 * (a partial last line is kept until its newline arrives). */
csv_feed *csv_feed_open(const char *path, symtab *symbols, bool follow, char *err, size_t errlen);
void csv_feed_close(csv_feed *feed);

/* Reads the next bar: 1 = got one, 0 = end of file (for now, when following),
 * < 0 = error with the message in err. */
int csv_feed_next(csv_feed *feed, bar *out, char *err, size_t errlen);

/* Line number of the last row returned (1-based, counting the header). */
long csv_feed_line(const csv_feed *feed);
const char *csv_feed_path(const csv_feed *feed);
/* True when the feed was opened with follow = true. */
bool csv_feed_is_follow(const csv_feed *feed);

/* The time of the last row of the file at path, read from its end (for the run banner's
 * data range): 0, or APEX_ENOTFOUND when the file cannot be read or has no row. */
int csv_feed_last_time(const char *path, apex_time *out);

/* Merges any number of feeds into one stream in time order; ties keep file order
 * (the feed added first wins), then row order within a file. Owns the feeds. */
typedef struct feed_merge feed_merge;

feed_merge *feed_merge_new(void);
void feed_merge_free(feed_merge *m);
int feed_merge_add(feed_merge *m, csv_feed *feed, char *err, size_t errlen);
/* A live source: bars pushed into queue (borrowed; it must outlive m) are merged like rows
 * appended to a followed file. */
int feed_merge_add_queue(feed_merge *m, bar_queue *queue, char *err, size_t errlen);
/* Same return convention as csv_feed_next. With follow feeds, 0 means "nothing yet". */
int feed_merge_next(feed_merge *m, bar *out, char *err, size_t errlen);
/* Timestamp of the next bar without consuming it; APEX_TIME_NEVER if none buffered. */
apex_time feed_merge_peek_time(feed_merge *m);

#endif
