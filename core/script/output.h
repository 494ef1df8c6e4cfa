/* output: what scripts write to the log (print, ctx.log, apex.log), within bounds.
 * Internal to core/script/.
 *
 * A script must not be able to flood the host's log, so its output is capped twice:
 *  - per call: a line is at most SCRIPT_OUTPUT_LINE_MAX bytes. Longer output is cut there
 *    and says so; it is never built past the cap (print of a 16 MB string copies 1 KiB of
 *    it, ctx.log formats argument by argument and stops when the line is full);
 *  - per pipeline and minute of host-clock time (data time in a backtest, so a backtest
 *    drops the same lines on every run): at most SCRIPT_OUTPUT_MINUTE_LINES lines and
 *    SCRIPT_OUTPUT_MINUTE_BYTES bytes. Further lines in that minute are counted, not
 *    formatted, and one line says how many were dropped once the minute is over (or at
 *    the end of the run): "[pipeline] print output capped: N lines dropped ...".
 * Script output goes to the log only, never to the store. */
#ifndef APEX_SCRIPT_OUTPUT_H
#define APEX_SCRIPT_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#define SCRIPT_OUTPUT_LINE_MAX     1024        /* bytes of one line, before the cut mark */
#define SCRIPT_OUTPUT_MINUTE_LINES 200         /* lines per pipeline and minute */
#define SCRIPT_OUTPUT_MINUTE_BYTES (64 * 1024) /* bytes per pipeline and minute */

/* One pipeline's budget for the current minute; all zero = no minute started yet. */
typedef struct {
    int64_t window_start; /* µs, host clock; 0 = none yet */
    int lines;
    size_t bytes;
    uint64_t dropped;       /* lines dropped in this window */
    uint64_t dropped_total; /* since the state opened */
} script_output;

struct sandbox;

/* print(...): the arguments as tostring shows them, tab-separated, one log line tagged
 * with the pipeline's name. [-0, +0, e] */
int script_output_print(lua_State *L);

/* ctx.log / apex.log: formats the arguments from index 1 as string.format would (the same
 * conversions and errors, an argument error naming the caller's argument), and writes one
 * log line tagged "[pipeline tag]", or "[pipeline]" when tag is NULL. A minute already
 * over its budget skips the formatting, and so its errors. [-0, +0, e] */
int script_output_log(lua_State *L, const char *tag);

/* Says how many lines were dropped in a minute that is over by now; with final, also in
 * the minute still open (the end of the run). Safe outside a protected call. */
void script_output_flush(struct sandbox *sb, bool final);

/* The host clock's time in µs (data time in a backtest); the wall clock for a sandbox
 * without a market (the pipeline loader's). [-0, +0, -] */
int64_t script_now_us(const struct sandbox *sb);

#endif
