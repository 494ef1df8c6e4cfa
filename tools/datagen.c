/* apex-datagen: deterministic market data for demos, tests and benchmarks.
 *
 *   apex-datagen OUTDIR                       demo: OUTDIR/bars.csv + OUTDIR/news.csv
 *   apex-datagen --bars N --symbols K OUTDIR  bench: N bars over K synthetic symbols
 *
 * Demo data: 1-minute bars for Mon 2024-03-04 .. Fri 2024-03-08, 14:30-21:00 UTC, for
 * AAPL (uptrend with pullbacks), MSFT (mean-reverting range), TSLA (down then up), SPY
 * (calm, then a >3% crash on Thursday) and VIX (~15, above 40 in the crash). The same
 * seed always gives byte-identical files, so tests can rely on the shapes. */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock/clock.h"
#include "market/timestamp.h"
#include "money/money.h"

#define SESSION_OPEN_MIN (14 * 60 + 30) /* 09:30 New York (EST) in UTC minutes */
#define SESSION_BARS     390
#define DEMO_DAYS        5

/* ---- deterministic randomness (splitmix64; no libc rand state) ------------------------ */

typedef struct {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_uniform(rng *r) /* (0, 1) */
{
    return ((double)(rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(rng *r)
{
    /* Box-Muller; the second value is discarded to keep the stream simple. */
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- output ------------------------------------------------------------------------------ */

typedef struct {
    FILE *f;
    char ts[32];
    apex_time ts_for;
} writer;

static int open_writer(writer *w, const char *dir, const char *name, const char *header)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    w->f = fopen(path, "w");
    if (!w->f) {
        fprintf(stderr, "apex-datagen: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    /* Big buffer: a million rows should cost a handful of write() calls. */
    setvbuf(w->f, NULL, _IOFBF, 4 << 20);
    fputs(header, w->f);
    w->ts_for = -1;
    return 0;
}

static const char *iso(writer *w, apex_time t)
{
    if (t != w->ts_for) {
        /* "2024-03-04 14:30:00" -> "2024-03-04T14:30:00Z" */
        timestamp_format(t, w->ts, sizeof w->ts - 1);
        size_t n = strlen(w->ts);
        w->ts[10] = 'T';
        w->ts[n] = 'Z';
        w->ts[n + 1] = '\0';
        w->ts_for = t;
    }
    return w->ts;
}

static money_t cents_to_money(long cents)
{
    return (money_t)cents * (MONEY_SCALE / 100);
}

static long to_cents(double price)
{
    long c = lround(price * 100.0);
    return c < 1 ? 1 : c;
}

/* Writes one bar from prices in cents, keeping OHLC consistent after rounding. */
static void write_bar(writer *w, apex_time t, const char *sym, long o, long h, long l, long c,
                      long volume, int spread_cents)
{
    if (h < o)
        h = o;
    if (h < c)
        h = c;
    if (l > o)
        l = o;
    if (l > c)
        l = c;
    if (l < 1)
        l = 1;
    long bid = c - spread_cents / 2;
    long ask = bid + spread_cents;
    if (bid < 1) {
        bid = 1;
        ask = 1 + spread_cents;
    }
    char so[32], sh[32], sl[32], sc[32], sb[32], sa[32];
    fprintf(w->f, "%s,%s,%s,%s,%s,%s,%ld,%s,%s\n", iso(w, t), sym,
            money_format(cents_to_money(o), 2, so, sizeof so),
            money_format(cents_to_money(h), 2, sh, sizeof sh),
            money_format(cents_to_money(l), 2, sl, sizeof sl),
            money_format(cents_to_money(c), 2, sc, sizeof sc), volume,
            money_format(cents_to_money(bid), 2, sb, sizeof sb),
            money_format(cents_to_money(ask), 2, sa, sizeof sa));
}

/* ---- demo market ------------------------------------------------------------------------ */

typedef enum { SYM_AAPL, SYM_MSFT, SYM_TSLA, SYM_SPY, SYM_VIX, SYM_COUNT } demo_symbol;

static const char *const demo_names[SYM_COUNT] = {"AAPL", "MSFT", "TSLA", "SPY", "VIX"};
static const double demo_start[SYM_COUNT] = {175.00, 410.00, 200.00, 510.00, 15.00};
static const double demo_volume[SYM_COUNT] = {60000, 30000, 90000, 120000, 0};

typedef struct {
    rng r;
    double price;
    double spy_day_open; /* VIX follows SPY's intraday drawdown */
} demo_state;

/* Next close for one symbol: each follows the shape its strategy demo needs. */
static double demo_step(demo_state *st, demo_symbol s, int day, int minute, double spy_drop)
{
    double p = st->price;
    double z = rng_normal(&st->r);
    switch (s) {
    case SYM_AAPL: {
        /* 100-minute cycles: 70 minutes climbing, 30 minutes pulling back. */
        int phase = (day * SESSION_BARS + minute) % 100;
        double drift = phase < 70 ? 0.00030 : -0.00061;
        return p * (1.0 + drift + 0.0006 * z);
    }
    case SYM_MSFT:
        /* Ornstein-Uhlenbeck around 410: overshoots that revert, for RSI. */
        return p + 0.04 * (410.0 - p) + 0.55 * z;
    case SYM_TSLA: {
        /* Down for the first two and a half days, then up. */
        int t = day * SESSION_BARS + minute;
        double drift = t < (5 * SESSION_BARS) / 2 ? -0.00012 : 0.00013;
        return p * (1.0 + drift + 0.0009 * z);
    }
    case SYM_SPY: {
        double drift = 0.00002, vol = 0.00025;
        if (day == 3 && minute >= 60 && minute < 300) {
            drift = -0.00020; /* Thursday: a steady slide of ~4.7% from 15:30 */
            vol = 0.0006;
        } else if (day == 3 && minute >= 300) {
            drift = 0.00003;
            vol = 0.0005;
        } else if (day == 4) {
            drift = 0.00005; /* Friday: a partial rebound */
            vol = 0.0004;
        }
        return p * (1.0 + drift + vol * z);
    }
    case SYM_VIX: {
        /* Fear gauge: ~15, and far higher as SPY falls from its open. */
        double target = 15.0 + 650.0 * (spy_drop > 0 ? spy_drop : 0);
        return p + 0.08 * (target - p) + 0.08 * z;
    }
    default:
        return p;
    }
}

static int write_demo(const char *dir, long *bars_out, int *news_out)
{
    writer w;
    if (open_writer(&w, dir, "bars.csv", "timestamp,symbol,open,high,low,close,volume,bid,ask\n"))
        return -1;
    demo_state st[SYM_COUNT];
    for (int s = 0; s < SYM_COUNT; s++) {
        st[s].r.s = 0xA9E5ULL * 1000003ULL + (uint64_t)s * 7919ULL;
        st[s].price = demo_start[s];
    }
    long day0 = timestamp_days_from_civil(2024, 3, 4); /* a Monday */
    long bars = 0;
    for (int day = 0; day < DEMO_DAYS; day++) {
        double spy_open = st[SYM_SPY].price;
        for (int minute = 0; minute < SESSION_BARS; minute++) {
            apex_time t =
                ((day0 + day) * 86400LL + (SESSION_OPEN_MIN + minute) * 60LL) * APEX_SECOND;
            double spy_drop = (spy_open - st[SYM_SPY].price) / spy_open;
            for (int s = 0; s < SYM_COUNT; s++) {
                demo_state *d = &st[s];
                double open = d->price;
                if (minute == 0 && day > 0 && s != SYM_VIX) /* small overnight gap */
                    open *= 1.0 + 0.002 * rng_normal(&d->r);
                d->price = open;
                double close = demo_step(d, (demo_symbol)s, day, minute, spy_drop);
                if (close < 1.0)
                    close = 1.0;
                double wick = fabs(rng_normal(&d->r)) * 0.0004 * open;
                double wick2 = fabs(rng_normal(&d->r)) * 0.0004 * open;
                double hi = (open > close ? open : close) + wick;
                double lo = (open < close ? open : close) - wick2;
                /* U-shaped intraday volume, heavier when the market moves. */
                double x = (minute - SESSION_BARS / 2.0) / (SESSION_BARS / 2.0);
                double shape = 0.6 + 1.2 * x * x;
                double stress = (day == 3 && minute >= 60) ? 2.5 : 1.0;
                long volume =
                    demo_volume[s] > 0
                        ? lround(demo_volume[s] * shape * stress * exp(0.3 * rng_normal(&d->r)))
                        : 0;
                int spread = s == SYM_VIX ? 1 : 1 + (int)(rng_next(&d->r) % 2);
                write_bar(&w, t, demo_names[s], to_cents(open), to_cents(hi), to_cents(lo),
                          to_cents(close), volume, spread);
                d->price = close;
                bars++;
            }
        }
    }
    if (fclose(w.f) != 0) {
        fprintf(stderr, "apex-datagen: writing %s/bars.csv failed: %s\n", dir, strerror(errno));
        return -1;
    }

    static const struct {
        int day, minute; /* minute of the session */
        const char *symbol, *impact, *headline;
    } news[] = {
        {0, 30, "AAPL", "medium", "Apple unveils new MacBook Air models with M3 chip"},
        {1, 150, "TSLA", "medium", "Tesla Berlin plant halts production after power outage"},
        {2, 30, "*", "low", "Fed Chair testimony: rate path unchanged"},
        {3, 55, "*", "high", "Regional bank contagion fears trigger broad selloff"},
        {3, 200, "SPY", "high", "S&P 500 falls more than 3% intraday as volatility spikes"},
        {4, 15, "MSFT", "low", "Microsoft announces quarterly dividend"},
    };
    int nnews = (int)(sizeof news / sizeof news[0]);
    if (open_writer(&w, dir, "news.csv", "timestamp,symbol,impact,headline\n"))
        return -1;
    for (int i = 0; i < nnews; i++) {
        apex_time t =
            ((day0 + news[i].day) * 86400LL + (SESSION_OPEN_MIN + news[i].minute) * 60LL) *
            APEX_SECOND;
        fprintf(w.f, "%s,%s,%s,%s\n", iso(&w, t), news[i].symbol, news[i].impact, news[i].headline);
    }
    if (fclose(w.f) != 0) {
        fprintf(stderr, "apex-datagen: writing %s/news.csv failed: %s\n", dir, strerror(errno));
        return -1;
    }
    *bars_out = bars;
    *news_out = nnews;
    return 0;
}

/* ---- bench market ----------------------------------------------------------------------- */

static int write_bench(const char *dir, long nbars, int nsyms)
{
    writer w;
    if (open_writer(&w, dir, "bars.csv", "timestamp,symbol,open,high,low,close,volume,bid,ask\n"))
        return -1;
    long *price = malloc((size_t)nsyms * sizeof *price);
    if (!price) {
        fprintf(stderr, "apex-datagen: out of memory for %d symbols\n", nsyms);
        fclose(w.f);
        return -1;
    }
    rng r = {0xBE7C4ULL};
    for (int s = 0; s < nsyms; s++)
        price[s] = 2000 + (long)(rng_next(&r) % 40000); /* $20 .. $420 */
    apex_time t0 =
        (timestamp_days_from_civil(2024, 3, 4) * 86400LL + SESSION_OPEN_MIN * 60LL) * APEX_SECOND;
    char name[16];
    for (long i = 0; i < nbars; i++) {
        int s = (int)(i % nsyms);
        apex_time t = t0 + (i / nsyms) * APEX_MINUTE;
        uint64_t x = rng_next(&r);
        long o = price[s];
        /* A random walk in basis points of the price, at least a cent. */
        long step = o / 2000 + 1;
        long c = o + ((long)(x % 5) - 2) * step;
        if (c < 100)
            c = 100 + step;
        long h = (o > c ? o : c) + (long)((x >> 8) % 3) * step;
        long l = (o < c ? o : c) - (long)((x >> 16) % 3) * step;
        snprintf(name, sizeof name, nsyms > 1000 ? "SYM%05d" : "SYM%03d", s);
        write_bar(&w, t, name, o, h, l, c, 100 + (long)((x >> 24) % 10000),
                  1 + (int)((x >> 40) % 2));
        price[s] = c;
    }
    free(price);
    if (fclose(w.f) != 0) {
        fprintf(stderr, "apex-datagen: writing %s/bars.csv failed: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- daily bench market ------------------------------------------------------------------ */

/* Daily bars as most vendors publish them: one per weekday, stamped 00:00 UTC, without
 * bid/ask columns, opening away from the previous close (overnight gaps), with trends long
 * enough for moving-average strategies to trade. */
static int write_daily(const char *dir, long nbars, int nsyms)
{
    writer w;
    if (open_writer(&w, dir, "bars.csv", "timestamp,symbol,open,high,low,close,volume\n"))
        return -1;
    double *price = malloc((size_t)nsyms * sizeof *price);
    double *drift = malloc((size_t)nsyms * sizeof *drift);
    if (!price || !drift) {
        fprintf(stderr, "apex-datagen: out of memory for %d symbols\n", nsyms);
        free(price);
        free(drift);
        fclose(w.f);
        return -1;
    }
    rng r = {0xDA117ULL};
    for (int s = 0; s < nsyms; s++) {
        price[s] = 3.0 + rng_uniform(&r) * 400.0; /* $3 .. $403: cheap and dear stocks */
        drift[s] = 0;
    }
    /* 2000-01-03 was a Monday. */
    long day0 = timestamp_days_from_civil(2000, 1, 3);
    char name[16];
    long ndays = (nbars + nsyms - 1) / nsyms;
    long written = 0;
    for (long d = 0; d < ndays && written < nbars; d++) {
        long civil = day0 + (d / 5) * 7 + d % 5; /* weekdays only */
        apex_time t = civil * APEX_DAY;
        for (int s = 0; s < nsyms && written < nbars; s++, written++) {
            if (d % 60 == 0)
                drift[s] = (rng_uniform(&r) - 0.5) * 0.004; /* a new trend every ~3 months */
            double prev = price[s];
            double open = prev * (1.0 + rng_normal(&r) * 0.004);
            double close = open * (1.0 + drift[s] + rng_normal(&r) * 0.014);
            if (close < 1.0)
                close = 1.0 + rng_uniform(&r);
            double hi = (open > close ? open : close) * (1.0 + rng_uniform(&r) * 0.008);
            double lo = (open < close ? open : close) * (1.0 - rng_uniform(&r) * 0.008);
            char so[32], sh[32], sl[32], sc[32];
            snprintf(name, sizeof name, nsyms > 1000 ? "SYM%05d" : "SYM%03d", s);
            fprintf(w.f, "%s,%s,%s,%s,%s,%s,%ld\n", iso(&w, t), name,
                    money_format(cents_to_money(to_cents(open)), 2, so, sizeof so),
                    money_format(cents_to_money(to_cents(hi)), 2, sh, sizeof sh),
                    money_format(cents_to_money(to_cents(lo)), 2, sl, sizeof sl),
                    money_format(cents_to_money(to_cents(close)), 2, sc, sizeof sc),
                    100000 + (long)(rng_uniform(&r) * 5000000));
            price[s] = (double)to_cents(close) / 100.0;
        }
    }
    free(price);
    free(drift);
    if (fclose(w.f) != 0) {
        fprintf(stderr, "apex-datagen: writing %s/bars.csv failed: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to, "usage: apex-datagen [--bars N --symbols K [--daily]] OUTDIR\n"
                "  without --bars: demo data (AAPL MSFT TSLA SPY VIX, 5 days of 1-minute bars)\n"
                "  with --bars:    N bars over K synthetic symbols SYM000.. for benchmarks\n"
                "  --daily:        daily bars (weekdays, stamped 00:00 UTC, no bid/ask columns)\n");
}

static int parse_count(const char *flag, const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || *end || v < 1 || v > max) {
        fprintf(stderr, "apex-datagen: %s needs a whole number from 1 to %ld, got '%s'\n", flag,
                max, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

/* mkdir -p: the output directory and any missing parents. */
static int make_dirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int main(int argc, char **argv)
{
    long nbars = 0, nsyms = 0;
    bool daily = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bars") == 0) {
            if (parse_count("--bars", i + 1 < argc ? argv[++i] : NULL, 1000000000L, &nbars))
                return 2;
        } else if (strcmp(argv[i], "--symbols") == 0) {
            if (parse_count("--symbols", i + 1 < argc ? argv[++i] : NULL, 100000, &nsyms))
                return 2;
        } else if (strcmp(argv[i], "--daily") == 0) {
            daily = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "apex-datagen: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        usage(stderr);
        return 2;
    }
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "apex-datagen: cannot create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (nbars > 0 || nsyms > 0) {
        if (nbars == 0)
            nbars = 1000000;
        if (nsyms == 0)
            nsyms = 10;
        if (daily ? write_daily(dir, nbars, (int)nsyms) : write_bench(dir, nbars, (int)nsyms))
            return 1;
        printf("apex-datagen: wrote %ld %sbars over %ld symbols to %s/bars.csv\n", nbars,
               daily ? "daily " : "", nsyms, dir);
        return 0;
    }
    long bars;
    int nnews;
    if (write_demo(dir, &bars, &nnews))
        return 1;
    printf("apex-datagen: wrote %ld bars (AAPL MSFT TSLA SPY VIX, 2024-03-04..2024-03-08) to "
           "%s/bars.csv and %d news events to %s/news.csv\n",
           bars, dir, nnews, dir);
    return 0;
}
