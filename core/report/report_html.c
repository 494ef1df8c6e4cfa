/* report_html: `backtest --report out.html`, one file a browser opens without a server.
 *
 * Chart.js (Debian's libjs-chart.js) is copied into the page's <script>, and the data the
 * charts draw is a JSON literal beside it, so the file references nothing outside itself.
 * Tables are plain HTML written here, so they read without JavaScript too. After Chart.js
 * has drawn each chart, the page records the length of the canvas's PNG data URL in the
 * canvas's data-drawn attribute, and that of a blank canvas of the same size in
 * data-blank: the browser test compares the two to know the chart was drawn. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "analytics/analytics_json.h"
#include "report/report.h"
#include "store/store_trades.h"
#include "util/err.h"

#define CHARTJS_DEBIAN "/usr/share/javascript/chart.js/chart.min.js"

const char *report_chartjs_path(void)
{
    const char *env = getenv("APEX_CHARTJS");
    return env && env[0] ? env : CHARTJS_DEBIAN;
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A JSON value inside <script>: "</" would end the element early. */
static void script_json(FILE *f, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12));
    for (const char *p = text ? text : "null"; *p; p++) {
        if (p[0] == '<' && p[1] == '/')
            fputs("<\\", f);
        else
            fputc(*p, f);
    }
    free(text);
}

static const char *const style =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "h1{font-size:1.5em}h2{margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;text-align:right;"
    "border-bottom:1px solid #eee}th{background:#f4f4f4}td.l,th.l{text-align:left}"
    ".neg{color:#b00}.charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}"
    "canvas{max-height:320px}";

static void metric_row(FILE *f, const char *name, const char *value)
{
    fprintf(f, "<tr><th class=l>%s</th><td>%s</td></tr>\n", name, value);
}

static void metrics_table(FILE *f, const analytics_result *r)
{
    char v[64], w[64];
    fputs("<table class=metrics>\n", f);
    snprintf(v, sizeof v, "%.2f", r->start_equity);
    metric_row(f, "Starting equity", v);
    snprintf(v, sizeof v, "%.2f", r->end_equity);
    metric_row(f, "Ending equity", v);
    metric_row(f, "Total return", analytics_format_pct(r->total_return, v, sizeof v));
    metric_row(f, "Annualised return", analytics_format_pct(r->annual_return, v, sizeof v));
    metric_row(f, "Volatility (annualised)", analytics_format_pct(r->volatility, v, sizeof v));
    metric_row(f, "Sharpe ratio", analytics_format(r->sharpe, v, sizeof v));
    metric_row(f, "Sortino ratio", analytics_format(r->sortino, v, sizeof v));
    metric_row(f, "Calmar ratio", analytics_format(r->calmar, v, sizeof v));
    analytics_format_pct(r->max_drawdown, w, sizeof w);
    snprintf(v, sizeof v, "%s (%.2f)", w, r->max_drawdown_amount);
    metric_row(f, "Max drawdown", v);
    snprintf(v, sizeof v, "%.1f days", (double)r->max_drawdown_duration / (double)ANALYTICS_DAY_US);
    metric_row(f, "Longest drawdown", v);
    metric_row(f, "Exposure", analytics_format_pct(r->exposure, v, sizeof v));
    snprintf(v, sizeof v, "%zu", r->all.trades);
    metric_row(f, "Trades", v);
    metric_row(f, "Win rate", analytics_format_pct(r->all.win_rate, v, sizeof v));
    metric_row(f, "Profit factor", analytics_format(r->all.profit_factor, v, sizeof v));
    metric_row(f, "Expectancy per trade", analytics_format(r->all.expectancy, v, sizeof v));
    metric_row(f, "Average win", analytics_format(r->all.avg_win, v, sizeof v));
    metric_row(f, "Average loss", analytics_format(r->all.avg_loss, v, sizeof v));
    money_format(r->all.net_pnl, 2, v, sizeof v);
    metric_row(f, "Net P&amp;L", v);
    money_format(r->all.fees, 2, v, sizeof v);
    metric_row(f, "Fees", v);
    snprintf(v, sizeof v, "%zu days, %.0f a year", r->periods, r->periods_per_year);
    metric_row(f, "Return periods", v);
    snprintf(v, sizeof v, "%.2f%%", r->risk_free_rate * 100);
    metric_row(f, "Risk-free rate", v);
    fputs("</table>\n", f);
}

static void group_table(FILE *f, const char *title, const char *what, const char *id,
                        const analytics_trade_stats *g, size_t n)
{
    fprintf(f,
            "<h3>%s</h3>\n<table id=\"%s\"><tr><th class=l>%s</th><th>trades</th>"
            "<th>wins</th><th>losses</th><th>win rate</th><th>net P&amp;L</th>"
            "<th>profit factor</th><th>expectancy</th></tr>\n",
            title, id, what);
    for (size_t i = 0; i < n; i++) {
        char wr[32], pnl[40], pf[32], ex[32];
        fputs("<tr><td class=l>", f);
        html_text(f, g[i].key);
        fprintf(
            f,
            "</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%s</td><td%s>%s</td>"
            "<td>%s</td><td>%s</td></tr>\n",
            g[i].trades, g[i].wins, g[i].losses, analytics_format_pct(g[i].win_rate, wr, sizeof wr),
            g[i].net_pnl < 0 ? " class=neg" : "", money_format(g[i].net_pnl, 2, pnl, sizeof pnl),
            analytics_format(g[i].profit_factor, pf, sizeof pf),
            analytics_format(g[i].expectancy, ex, sizeof ex));
    }
    fputs("</table>\n", f);
}

static void trade_table(FILE *f, int idx, const store_trade *t, size_t n)
{
    fprintf(f,
            "<h3>Trades</h3>\n<table id=\"trades-%d\" class=trades><tr><th>execution</th>"
            "<th class=l>symbol</th><th class=l>side</th><th>qty</th><th class=l>entry time"
            "</th><th>entry price</th><th class=l>exit time</th><th>exit price</th>"
            "<th>P&amp;L</th><th>fees</th><th class=l>exit reason</th></tr>\n",
            idx);
    for (size_t i = 0; i < n; i++) {
        char q[40], ep[40], xp[40], pnl[40], fee[40], et[32], xt[32];
        fprintf(f, "<tr class=trade><td>%lld</td><td class=l>", (long long)t[i].execution_id);
        html_text(f, t[i].symbol);
        fprintf(f,
                "</td><td class=l>%s</td><td>%s</td><td class=l>%s</td><td>%s</td>"
                "<td class=l>%s</td><td>%s</td><td%s>%s</td><td>%s</td><td class=l>",
                t[i].side, money_format_trim(t[i].qty, 0, q, sizeof q),
                analytics_iso_time(t[i].entry_ts, et, sizeof et),
                money_format_trim(t[i].entry_price, 2, ep, sizeof ep),
                analytics_iso_time(t[i].exit_ts, xt, sizeof xt),
                money_format_trim(t[i].exit_price, 2, xp, sizeof xp),
                t[i].pnl < 0 ? " class=neg" : "", money_format_trim(t[i].pnl, 2, pnl, sizeof pnl),
                money_format_trim(t[i].fees, 2, fee, sizeof fee));
        html_text(f, t[i].exit_reason);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The curve for the charts: [ms, equity] and [ms, drawdown %] pairs. */
static json_t *chart_data(const store_analytics *sa)
{
    json_t *eq = json_array(), *dd = json_array();
    double peak = 0;
    for (size_t i = 0; eq && dd && i < sa->nequity; i++) {
        double e = money_to_double(sa->equity[i].equity);
        double ms = (double)(sa->equity[i].ts / 1000);
        if (e > peak)
            peak = e;
        json_array_append_new(eq, json_pack("[f,f]", ms, e));
        json_array_append_new(dd, json_pack("[f,f]", ms, peak > 0 ? (e - peak) / peak * 100 : 0));
    }
    return json_pack("{s:o, s:o}", "equity", eq, "drawdown", dd);
}

static const char *const charts_js =
    "function apexDate(v){return new Date(v).toISOString().slice(0,10);}\n"
    "function apexChart(id,label,points,color,fill){\n"
    "  const canvas=document.getElementById(id);\n"
    "  new Chart(canvas,{type:'line',data:{datasets:[{label:label,data:points.map(p=>({x:p[0],"
    "y:p[1]})),borderColor:color,backgroundColor:color+'33',fill:fill,pointRadius:0,"
    "borderWidth:1.5}]},\n"
    "    options:{animation:false,responsive:true,parsing:false,scales:{x:{type:'linear',"
    "ticks:{callback:apexDate,maxTicksLimit:8}}},plugins:{legend:{display:false},"
    "title:{display:true,text:label}}},\n"
    "    plugins:[{id:'apexDrawn',afterRender:c=>{const b=document.createElement('canvas');"
    "b.width=c.canvas.width;b.height=c.canvas.height;canvas.setAttribute('data-blank',"
    "String(b.toDataURL('image/png').length));canvas.setAttribute('data-drawn',"
    "String(c.canvas.toDataURL('image/png').length));}}]});\n"
    "}\n"
    "APEX_REPORT.forEach((r,i)=>{apexChart('equity-'+i,'Equity',r.equity,'#1f77b4',false);"
    "apexChart('drawdown-'+i,'Drawdown (%)',r.drawdown,'#d62728',true);});\n";

static int copy_file(FILE *out, const char *path, char *err, size_t errlen)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        snprintf(err, errlen,
                 "--report: Chart.js not found at %s (%s): install the Debian package "
                 "libjs-chart.js (make deps), or set APEX_CHARTJS to a chart.umd.js / "
                 "chart.min.js file",
                 path, strerror(errno));
        return APEX_EIO;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return 0;
}

int report_write_html(store *s, const char *const *names, const analytics_options *opts, int n,
                      const char *chartjs_path, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "--report %s: cannot write: %s", path, strerror(errno));
        return APEX_EIO;
    }
    fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n<title>apex-host report", f);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : ": ", f);
        html_text(f, names[i]);
    }
    fprintf(f, "</title>\n<style>%s</style>\n<script>\n", style);
    int rc = copy_file(f, chartjs_path, err, errlen);
    fputs("\n</script>\n</head><body>\n<h1>apex-host backtest report</h1>\n", f);
    json_t *all = json_array();
    for (int i = 0; !rc && i < n; i++) {
        store_analytics sa;
        analytics_result r;
        char aerr[256];
        rc = store_analytics_load(s, names[i], &opts[i], &sa);
        if (rc) {
            snprintf(err, errlen, "--report %s: reading %s: %s", path, names[i], store_errmsg(s));
            store_analytics_free(&sa);
            break;
        }
        if ((rc = analytics_compute(&sa.in, &r, aerr, sizeof aerr)) != 0) {
            snprintf(err, errlen, "--report %s: %s: %s", path, names[i], aerr);
            store_analytics_free(&sa);
            break;
        }
        char st[32], en[32];
        fprintf(f, "<section class=pipeline id=\"pipeline-%d\">\n<h2>", i);
        html_text(f, names[i]);
        fprintf(f, "</h2>\n<p>%s to %s (UTC)</p>\n", analytics_iso_time(r.start_ts, st, sizeof st),
                analytics_iso_time(r.end_ts, en, sizeof en));
        metrics_table(f, &r);
        fprintf(f,
                "<div class=charts><div><canvas id=\"equity-%d\"></canvas></div><div>"
                "<canvas id=\"drawdown-%d\"></canvas></div></div>\n",
                i, i);
        char gid[32];
        snprintf(gid, sizeof gid, "symbols-%d", i);
        group_table(f, "Per symbol", "symbol", gid, r.by_symbol, r.nsymbols);
        snprintf(gid, sizeof gid, "exit-reasons-%d", i);
        group_table(f, "Exit reasons", "exit reason", gid, r.by_exit_reason, r.nexit_reasons);
        trade_table(f, i, sa.rows, sa.ntrades);
        fputs("</section>\n", f);
        json_array_append_new(all, chart_data(&sa));
        analytics_result_free(&r);
        store_analytics_free(&sa);
    }
    fputs("<script>\nconst APEX_REPORT = ", f);
    script_json(f, all);
    fprintf(f, ";\n%s</script>\n</body></html>\n", charts_js);
    json_decref(all);
    if (fclose(f) != 0 && !rc) {
        snprintf(err, errlen, "--report %s: writing failed: %s", path, strerror(errno));
        rc = APEX_EIO;
    }
    return rc;
}
