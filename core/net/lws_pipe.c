/* lws_pipe: see lws_pipe.h. */
#include "net/lws_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

typedef struct {
    uv_handle_t **seen;
    size_t n, cap;
    bool oom;
    int found_fd, found;
} poll_scan;

static void collect_poll(uv_handle_t *h, void *arg)
{
    poll_scan *s = arg;
    if (h->type != UV_POLL || s->oom)
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        uv_handle_t **p = realloc(s->seen, cap * sizeof *p);
        if (!p) {
            s->oom = true;
            return;
        }
        s->seen = p;
        s->cap = cap;
    }
    s->seen[s->n++] = h;
}

static void find_new_poll(uv_handle_t *h, void *arg)
{
    poll_scan *s = arg;
    if (h->type != UV_POLL)
        return;
    for (size_t i = 0; i < s->n; i++)
        if (s->seen[i] == h)
            return;
    uv_os_fd_t fd;
    struct stat st;
    if (uv_fileno(h, &fd) == 0 && fstat(fd, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        s->found_fd = fd;
        s->found++;
    }
}

struct lws_context *
lws_pipe_create_context(uv_loop_t *loop, const struct lws_context_creation_info *info, int *pipe_fd)
{
    poll_scan s;
    memset(&s, 0, sizeof s);
    uv_walk(loop, collect_poll, &s);
    struct lws_context *cx = lws_create_context(info);
    *pipe_fd = -1;
    if (cx && !s.oom) {
        s.found_fd = -1;
        uv_walk(loop, find_new_poll, &s);
        if (s.found == 1)
            *pipe_fd = s.found_fd;
    }
    free(s.seen);
    return cx;
}

void lws_pipe_hold(int *pipe_fd, const char *who)
{
    int n = *pipe_fd;
    *pipe_fd = -1;
#if LWS_LIBRARY_VERSION_MAJOR == 4 && LWS_LIBRARY_VERSION_MINOR == 1
    if (n < 0 || fcntl(n, F_GETFD) != -1 || errno != EBADF)
        return; /* not closed by lws (yet): nothing will close it twice */
    int tmp = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (tmp < 0 || tmp == n)
        return;
    int held = fcntl(tmp, F_DUPFD_CLOEXEC, n);
    close(tmp);
    if (held != n) {
        if (held >= 0)
            close(held);
        log_warn("%s: could not hold fd %d for libwebsockets' second close of it", who, n);
    }
#else
    (void)n;
    (void)who;
#endif
}
