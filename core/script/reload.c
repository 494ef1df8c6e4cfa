/* reload: hot reload of the bias and strategy modules.
 *
 * Editors save by writing a temporary file and renaming it over the original, which
 * replaces the inode a file watch would be bound to; so we watch the DIRECTORY and
 * filter events by file name. A save produces a burst of events (create, modify,
 * rename), so each one only (re)starts a 100 ms timer and the reload runs once the
 * burst is over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "script/host_internal.h"
#include "util/err.h"
#include "util/log.h"

#define RELOAD_DEBOUNCE_MS 100

typedef void (*reload_cb)(void *ud, script_slot slot, int status, const char *msg);

struct script_watch_state;

/* Heap-allocated apart from the host: libuv finishes closing handles on a later loop
 * turn, possibly after the host is gone, so the entry frees itself when both close. */
typedef struct {
    struct script_watch_state *ws;
    script_slot slot;
    uv_fs_event_t event;
    uv_timer_t timer;
    int open_handles;
    char name[CONFIG_PATH_MAX]; /* the file name inside the watched directory */
} watch_entry;

struct script_watch_state {
    script_host *h;
    reload_cb cb;
    void *ud;
    watch_entry *entries[SCRIPT_SLOT_COUNT];
};

int script_reload(script_host *h, script_slot slot, char *err, size_t errlen)
{
    if (!script_loaded(h, slot))
        return err_set(err, errlen, APEX_ESTATE, "script_reload: no module is loaded in slot %d",
                       (int)slot);
    script_module *m = &h->mods[slot];
    char why[1024];
    script_code code;
    int rc = host_compile_module(h, slot, m->path, &code, why, sizeof why);
    if (rc < 0)
        return err_set(err, errlen, rc, "%s (kept the previous version running)", why);
    /* The edit may have changed the params declaration (a new parameter, a new default or
     * range, one removed): ctx.params is merged again, the pipeline's values over the new
     * defaults, and a value the new declaration refuses fails the reload like a syntax
     * error would, before anything of the new version is installed. */
    int params_ref;
    rc = host_resolve_params(h, slot, code.module_ref, &params_ref, why, sizeof why);
    if (rc == 0)
        rc = host_install_params(h, slot, params_ref, why, sizeof why);
    if (rc < 0) {
        host_release_code(h, &code);
        return err_set(err, errlen, rc, "%s (kept the previous version running)", why);
    }
    host_install_code(h, slot, &code);
    /* ctx tables (and so ctx.state) stay; the new code sees the old state. */
    rc = host_call_on_reload(h, slot, why, sizeof why);
    if (rc < 0) {
        err_set(err, errlen, 0, "reloaded %s, but %s", m->path, why);
        log_warn("[%s] reloaded %s, but %s", h->sb.pipeline, m->path, why);
    } else {
        err_set(err, errlen, 0, "reloaded %s", m->path);
    }
    return 0;
}

static void entry_closed(uv_handle_t *handle)
{
    watch_entry *e = handle->data;
    if (--e->open_handles == 0)
        free(e);
}

static void debounce_fired(uv_timer_t *timer)
{
    watch_entry *e = timer->data;
    struct script_watch_state *ws = e->ws;
    char msg[1024];
    int rc = script_reload(ws->h, e->slot, msg, sizeof msg);
    /* The owner's callback reports the outcome (the host prints one RELOAD line); a second
     * line here would print every failure twice. */
    if (ws->cb)
        ws->cb(ws->ud, e->slot, rc, msg);
    else if (rc < 0)
        log_warn("[%s] %s", ws->h->sb.pipeline, msg);
    else
        log_info("[%s] %s", ws->h->sb.pipeline, msg);
}

static void dir_changed(uv_fs_event_t *event, const char *filename, int events, int status)
{
    watch_entry *e = event->data;
    if (status < 0)
        return;
    if (filename && strcmp(filename, e->name) != 0)
        return; /* another file in the same directory */
    uv_timer_start(&e->timer, debounce_fired, RELOAD_DEBOUNCE_MS, 0);
}

static int watch_slot(struct script_watch_state *ws, uv_loop_t *loop, script_slot slot)
{
    const char *path = ws->h->mods[slot].path;
    char dir[CONFIG_PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = (size_t)(slash - path);
        snprintf(dir, sizeof dir, "%.*s", (int)(n ? n : 1), path);
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    watch_entry *e = calloc(1, sizeof *e);
    if (!e)
        return APEX_ENOMEM;
    e->ws = ws;
    e->slot = slot;
    snprintf(e->name, sizeof e->name, "%s", slash ? slash + 1 : path);
    uv_timer_init(loop, &e->timer);
    e->timer.data = e;
    e->open_handles = 1;
    int rc = uv_fs_event_init(loop, &e->event);
    if (rc == 0) {
        e->event.data = e;
        e->open_handles = 2;
        rc = uv_fs_event_start(&e->event, dir_changed, dir, 0);
    }
    if (rc < 0) {
        log_warn("[%s] cannot watch %s for changes (%s); hot reload is off for %s",
                 ws->h->sb.pipeline, dir, uv_strerror(rc), path);
        if (e->open_handles == 2)
            uv_close((uv_handle_t *)&e->event, entry_closed);
        uv_close((uv_handle_t *)&e->timer, entry_closed);
        return APEX_EIO;
    }
    ws->entries[slot] = e;
    return 0;
}

int script_watch(script_host *h, struct uv_loop_s *loop,
                 void (*on_reload)(void *ud, script_slot slot, int status, const char *msg),
                 void *ud)
{
    script_unwatch(h);
    struct script_watch_state *ws = calloc(1, sizeof *ws);
    if (!ws)
        return APEX_ENOMEM;
    ws->h = h;
    ws->cb = on_reload;
    ws->ud = ud;
    h->watch = ws;
    int rc = 0;
    for (int s = 0; s < SCRIPT_SLOT_COUNT; s++)
        if (script_loaded(h, (script_slot)s)) {
            int r = watch_slot(ws, loop, (script_slot)s);
            if (r < 0 && rc == 0)
                rc = r;
        }
    return rc;
}

void script_unwatch(script_host *h)
{
    struct script_watch_state *ws = h->watch;
    if (!ws)
        return;
    for (int s = 0; s < SCRIPT_SLOT_COUNT; s++) {
        watch_entry *e = ws->entries[s];
        if (!e)
            continue;
        uv_fs_event_stop(&e->event);
        uv_timer_stop(&e->timer);
        uv_close((uv_handle_t *)&e->event, entry_closed);
        uv_close((uv_handle_t *)&e->timer, entry_closed);
    }
    free(ws);
    h->watch = NULL;
}
