/* session: the bars' interval, and the exit and entry rules about the time within a
 * session that only bars shorter than their window can act on.
 *
 * time_based_urgent fires exits.time_urgent_minutes before exits.session_close. On bars
 * at least that long (daily bars stamped 00:00, hourly bars with a 5-minute window) no
 * bar falls inside the window except by accident of its timestamp, and acting on one
 * closes every trade at the bar it was opened on: so the rule, and the entry block that
 * goes with it, apply only to bars shorter than the window. The interval is
 * data.timeframe when given, else the shortest gap between two bars of one symbol seen
 * so far (a run's first bars, before any gap, count as long bars).
 *
 * The close is exits.session_close, a fixed UTC minute, in backtests and on the paper
 * broker. A fixed minute is wrong half the year (16:00 New York is 21:00 UTC in winter,
 * 20:00 in summer) and on early closes (13:00), so in `run` on a venue with a calendar
 * (broker_get_session: Alpaca's /v2/calendar) the day's real close is asked for at
 * start-up and on each new day, and the configured minute stays the fallback. */
#include <stdio.h>

#include "pipeline/pipeline_internal.h"
#include "market/timestamp.h"
#include "util/err.h"
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

/* A venue that takes no brackets on any of the pipeline's symbols trades them as crypto
 * pairs: around the clock, so no session close applies (Alpaca's calendar is the stock
 * market's). */
static bool around_the_clock(const pipeline *p)
{
    if (p->hs->backtest || !p->brk || p->cfg.nsymbols == 0)
        return false;
    for (int i = 0; i < p->cfg.nsymbols; i++)
        if (broker_takes_brackets(p->brk, p->cfg.symbols[i]))
            return false;
    return true;
}

bool pipeline_session_timed(const pipeline *p)
{
    if (around_the_clock(p))
        return false;
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

static void fmt_hhmm(apex_time t, char *buf, size_t n)
{
    int64_t min = (int64_t)((t % APEX_DAY) / APEX_MINUTE);
    snprintf(buf, n, "%02d:%02d", (int)(min / 60), (int)(min % 60));
}

static void on_session(void *ud, const broker_reply *r)
{
    pipeline *p = ud;
    apex_time day = p->venue.asked;
    p->venue.asked = 0;
    apex_time now = clock_now(p->hs->clock);
    char cb[16], ob[16], date[32];
    fmt_hhmm((apex_time)p->cfg.exits.session_close_minute_utc * APEX_MINUTE, cb, sizeof cb);
    timestamp_format(day, date, sizeof date);
    date[10] = '\0'; /* the date part */
    if (r->status != 0 || !r->session) {
        if (day == p->venue.day)
            p->venue.failed = true; /* asked again on the next day, not on every check */
        const char *why = r->error[0] ? r->error : err_name(r->status);
        log_warn("%s: the venue's calendar for %s could not be read (%s); the session closes at "
                 "exits.session_close, %s UTC",
                 p->cfg.name, date, why, cb);
        store_event(p->hs->db, now, p->cfg.name, 0, "session_calendar", NULL,
                    "calendar for %s unavailable (%s): using exits.session_close %s UTC", date, why,
                    cb);
    } else if (day == p->venue.day) {
        p->venue.known = true;
        p->venue.session = *r->session;
        if (r->session->trading) {
            fmt_hhmm(r->session->open, ob, sizeof ob);
            fmt_hhmm(r->session->close, cb, sizeof cb);
            log_event("%-13s SESSION  %s: the venue trades %s-%s UTC (its calendar)", p->cfg.name,
                      date, ob, cb);
            store_event(p->hs->db, now, p->cfg.name, 0, "session_calendar", NULL,
                        "%s: session %s-%s UTC from the venue's calendar", date, ob, cb);
        } else {
            log_event("%-13s SESSION  %s: the venue does not trade today (its calendar)",
                      p->cfg.name, date);
        }
    }
    if (p->venue.day != day)
        pipeline_session_day(p); /* the day turned while asking: ask for the new one */
}

void pipeline_session_day(pipeline *p)
{
    if (p->hs->backtest || !broker_has_session(p->brk) || around_the_clock(p))
        return;
    apex_time now = clock_now(p->hs->clock);
    apex_time day = now - now % APEX_DAY;
    if (day == p->venue.day && (p->venue.known || p->venue.failed || p->venue.asked))
        return;
    if (day != p->venue.day) {
        p->venue.day = day;
        p->venue.known = p->venue.failed = false;
    }
    if (p->venue.asked)
        return; /* one question at a time; its answer asks again for a newer day */
    p->venue.asked = day;
    if (broker_get_session(p->brk, BROKER_PRIORITY_ROUTINE, day, on_session, p) != 0) {
        broker_reply fail = {.status = APEX_EIO};
        snprintf(fail.error, sizeof fail.error, "the request could not be sent");
        on_session(p, &fail);
    }
}

apex_time pipeline_session_close(pipeline *p, apex_time now)
{
    pipeline_session_day(p);
    apex_time day = now - now % APEX_DAY;
    if (!p->venue.known || p->venue.day != day)
        return exits_next_session_close(&p->cfg.exits, now);
    if (p->venue.session.trading && now < p->venue.session.close)
        return p->venue.session.close;
    /* Past today's close, or no session today: the next close is another day's, which is
     * asked for when that day comes; until then the configured minute stands for it. */
    return exits_next_session_close(&p->cfg.exits, day + APEX_DAY);
}

bool pipeline_in_close_window(pipeline *p, apex_time now)
{
    if (!pipeline_session_timed(p))
        return false;
    apex_time close = pipeline_session_close(p, now);
    return now >= close - (apex_time)p->cfg.exits.time_urgent_minutes * APEX_MINUTE;
}

apex_time pipeline_next_time_due(void *ud, const trade *t, apex_time now)
{
    pipeline *p = ud;
    (void)t;
    if (!pipeline_session_timed(p))
        return 0;
    apex_time close = pipeline_session_close(p, now);
    apex_time opens = close - (apex_time)p->cfg.exits.time_urgent_minutes * APEX_MINUTE;
    return opens > now ? opens : 0; /* inside the window every bar is checked anyway */
}
