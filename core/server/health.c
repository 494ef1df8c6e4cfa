/* health: /healthz (the process answers) and /readyz (it can trade: the store takes
 * writes, the brokers answer, the market data is fresh), each with its reasons. */
#include "server/server_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/snapshot.h"

#define READY_PROBE_S 10.0 /* the store's write probe, at most this often */

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void health_live(server *s, response *r)
{
    api_json(r, 200,
             json_pack("{s:s,s:I,s:I,s:s,s:b}", "status", "alive", "pid", (json_int_t)getpid(),
                       "uptime_s", (json_int_t)(wall_seconds() - s->started), "version",
                       APEX_VERSION, "read_only", s->opt.read_only));
}

static json_t *check(bool ok, const char *reason)
{
    return json_pack("{s:b,s:s}", "ok", ok, "reason", reason);
}

/* A check over the pipelines: ok when each is, the reason the first failure's (or a
 * count), and each pipeline's own under "pipelines". */
static json_t *check_all(json_t *per, const char *none)
{
    bool ok = true;
    char reason[512] = "";
    const char *name;
    json_t *v;
    int n = 0;
    json_object_foreach(per, name, v)
    {
        n++;
        if (ok && !json_is_true(json_object_get(v, "ok"))) {
            ok = false;
            snprintf(reason, sizeof reason, "%s: %s", name,
                     json_string_value(json_object_get(v, "reason")));
        }
    }
    if (ok && n)
        snprintf(reason, sizeof reason, "%d pipeline(s) ok", n);
    else if (ok)
        snprintf(reason, sizeof reason, "%s", none);
    return json_pack("{s:b,s:s,s:o}", "ok", ok, "reason", reason, "pipelines", per);
}

/* One write that changes nothing a reader sees, on the server's own connection: the store
 * takes writes (disk, locks, permissions) right now. */
static void probe_store(server *s)
{
    double now = wall_seconds();
    if (s->probe_at > 0 && now - s->probe_at < READY_PROBE_S)
        return;
    s->probe_at = now;
    if (!s->wr) {
        char err[512];
        s->wr = store_open(s->db_path, STORE_DURABLE, err, sizeof err);
        if (!s->wr) {
            s->probe_ok = false;
            snprintf(s->probe_reason, sizeof s->probe_reason, "%s", err);
            return;
        }
    }
    char stamp[32];
    snprintf(stamp, sizeof stamp, "%ld", (long)time(NULL));
    apex_error e = {0};
    s->probe_ok = store_meta_set(s->wr, "server.ready_probe", stamp, &e) == 0;
    snprintf(s->probe_reason, sizeof s->probe_reason, "%s",
             s->probe_ok ? "a write probe committed" : e.msg);
}

void health_ready(server *s, response *r)
{
    json_t *checks = json_object();
    bool ready = true;
    char why[768];
    if (!s->live) {
        /* `serve`: nothing trades; ready means the store can be read. */
        int64_t n = 0;
        bool ok = store_api_max_id(s->rd, STORE_API_EVENTS, &n) == 0;
        snprintf(why, sizeof why, "%s",
                 ok ? "read-only: the store can be read" : store_errmsg(s->rd));
        json_object_set_new(checks, "store", check(ok, why));
        json_object_set_new(checks, "broker",
                            check_all(json_object(), "apex-host serve does not trade"));
        json_object_set_new(checks, "market_data",
                            check_all(json_object(), "apex-host serve does not trade"));
        api_json(r, ok ? 200 : 503, json_pack("{s:b,s:o}", "ready", ok, "checks", checks));
        return;
    }
    probe_store(s);
    bool store_ok = s->probe_ok;
    snprintf(why, sizeof why, "%s", s->probe_reason);
    json_t *brokers = json_object(), *data = json_object();
    for (int i = 0; i < s->view.npipes; i++) {
        pipeline_snapshot snap;
        if (pipeline_snapshot_take(s->view.pipes[i], &snap) != 0) {
            pipeline_snapshot_free(&snap);
            continue;
        }
        if (strncmp(snap.halt_reason, "a durable write failed", 22) == 0) {
            store_ok = false;
            snprintf(why, sizeof why, "%s: %s", snap.name, snap.halt_reason);
        }
        /* The broker: the paper broker lives in this process; a remote one is unreachable
         * while the monitor's calls for its executions fail. */
        bool b_ok = strcmp(snap.broker_kind, "paper") == 0 || snap.broker_retrying == 0;
        char b_why[300];
        if (strcmp(snap.broker_kind, "paper") == 0)
            snprintf(b_why, sizeof b_why, "paper broker (in this process)");
        else if (b_ok)
            snprintf(b_why, sizeof b_why, "%s: no broker call is failing", snap.broker_kind);
        else
            snprintf(b_why, sizeof b_why, "%s: broker calls for %d execution(s) are failing",
                     snap.broker_kind, snap.broker_retrying);
        json_object_set_new(brokers, snap.name, check(b_ok, b_why));
        ready = ready && b_ok;
        /* Market data: the newest bar against the bars' interval on the host's clock. */
        apex_time now = s->view.clock ? clock_now(s->view.clock) : snap.as_of;
        apex_time interval = snap.bar_interval > 0 ? snap.bar_interval : 5 * APEX_MINUTE;
        apex_time age = snap.last_bar_ts > 0 ? now - snap.last_bar_ts : -1;
        bool d_ok = age >= 0 && age <= 3 * interval;
        char d_why[400];
        if (snap.live_feed && !snap.live_up)
            d_ok = false, snprintf(d_why, sizeof d_why, "the live feed is down: %s",
                                   snap.live_status[0] ? snap.live_status : "not connected yet");
        else if (age < 0)
            snprintf(d_why, sizeof d_why, "no bar yet");
        else
            snprintf(d_why, sizeof d_why, "newest bar %llds old, interval %llds (fresh within 3)",
                     (long long)(age / APEX_SECOND), (long long)(interval / APEX_SECOND));
        json_object_set_new(data, snap.name, check(d_ok, d_why));
        ready = ready && d_ok;
        pipeline_snapshot_free(&snap);
    }
    ready = ready && store_ok;
    json_object_set_new(checks, "store", check(store_ok, why));
    json_object_set_new(checks, "broker", check_all(brokers, "no pipeline"));
    json_object_set_new(checks, "market_data", check_all(data, "no pipeline"));
    api_json(r, ready ? 200 : 503, json_pack("{s:b,s:o}", "ready", ready, "checks", checks));
}
