/* session: the bars' interval, and the exit and entry rules about the time within a
 * session that only bars shorter than their window can act on.
 *
 * time_based_urgent fires exits.time_urgent_minutes before exits.session_close. On bars
 * at least that long (daily bars stamped 00:00, hourly bars with a 5-minute window) no
 * bar falls inside the window except by accident of its timestamp, and acting on one
 * closes every trade at the bar it was opened on: so the rule, and the entry block that
 * goes with it, apply only to bars shorter than the window. The interval is
 * data.timeframe when given, else the shortest gap between two bars of one symbol seen
 * so far (a run's first bars, before any gap, count as long bars). */
#include <stdio.h>

#include "pipeline/pipeline_internal.h"
#include "util/log.h"

void pipeline_session_init(pipeline *p)
{
    int64_t s = config_timeframe_seconds(p->cfg.data.timeframe);
    p->bar_interval = s > 0 ? (apex_time)s * APEX_SECOND : 0;
    p->interval_given = s > 0;
}

static void format_interval(apex_time iv, char *buf, size_t n)
{
    int64_t s = iv / APEX_SECOND;
    if (s > 0 && s % 86400 == 0)
        snprintf(buf, n, "%lld d", (long long)(s / 86400));
    else if (s > 0 && s % 3600 == 0)
        snprintf(buf, n, "%lld h", (long long)(s / 3600));
    else if (s > 0 && s % 60 == 0)
        snprintf(buf, n, "%lld min", (long long)(s / 60));
    else
        snprintf(buf, n, "%lld s", (long long)s);
}

bool pipeline_session_timed(const pipeline *p)
{
    int window = p->cfg.exits.time_urgent_minutes;
    return window > 0 && p->bar_interval > 0 && p->bar_interval < (apex_time)window * APEX_MINUTE;
}

/* Says once, when the interval becomes known, what it means for the session rules. */
static void announce(pipeline *p)
{
    if (p->interval_announced || p->cfg.exits.time_urgent_minutes <= 0)
        return;
    p->interval_announced = true;
    char ib[32];
    format_interval(p->bar_interval, ib, sizeof ib);
    if (pipeline_session_timed(p))
        return;
    /* A warning, not an event: a setting the data cannot act on is said aloud, even in
     * a --quiet backtest. */
    log_warn("%-13s SESSION  bars every %s (%s): the session-close exit (time_based_urgent, "
             "%d min before exits.session_close) and its entry block need shorter bars and "
             "are off",
             p->cfg.name, ib, p->interval_given ? "data.timeframe" : "detected",
             p->cfg.exits.time_urgent_minutes);
}

void pipeline_session_bar(pipeline *p, sym_state *s, const bar *b)
{
    apex_time prev = s->last_bar_ts;
    s->last_bar_ts = b->ts;
    if (!prev || b->ts <= prev)
        return;
    apex_time gap = b->ts - prev;
    if (p->interval_given) {
        if (gap < p->bar_interval && !p->interval_contradicted) {
            p->interval_contradicted = true;
            char gb[32], ib[32];
            format_interval(gap, gb, sizeof gb);
            format_interval(p->bar_interval, ib, sizeof ib);
            log_warn("%s: data.timeframe says bars every %s, but %s has two bars %s apart "
                     "(at %lld); fix data.timeframe or leave it out to detect it",
                     p->cfg.name, ib, symtab_name(p->hs->symbols, b->symbol_id), gb,
                     (long long)(b->ts / APEX_SECOND));
        }
        announce(p);
        return;
    }
    if (!p->bar_interval || gap < p->bar_interval) {
        bool was_known = p->bar_interval > 0;
        p->bar_interval = gap;
        if (was_known && pipeline_session_timed(p))
            return; /* shorter still: nothing new to say */
        announce(p);
    }
}

void pipeline_check_interval(pipeline *p, int max_bars)
{
    bar b;
    char err[512];
    for (int i = 0; i < max_bars && !p->interval_announced; i++) {
        if (feed_merge_next(p->feed, &b, err, sizeof err) <= 0)
            break; /* the end, or a data error `check` does not look for here */
        sym_state *s = pipeline_sym(p, b.symbol_id);
        if (s)
            pipeline_session_bar(p, s, &b);
    }
}

bool pipeline_in_close_window(const pipeline *p, apex_time now)
{
    if (!pipeline_session_timed(p))
        return false;
    apex_time close = exits_next_session_close(&p->cfg.exits, now);
    return now >= close - (apex_time)p->cfg.exits.time_urgent_minutes * APEX_MINUTE;
}

apex_time pipeline_next_time_due(void *ud, const trade *t, apex_time now)
{
    const pipeline *p = ud;
    (void)t;
    if (!pipeline_session_timed(p))
        return 0;
    apex_time close = exits_next_session_close(&p->cfg.exits, now);
    apex_time opens = close - (apex_time)p->cfg.exits.time_urgent_minutes * APEX_MINUTE;
    return opens > now ? opens : 0; /* inside the window every bar is checked anyway */
}
