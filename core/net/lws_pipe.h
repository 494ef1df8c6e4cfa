/* lws_pipe: lws 4.1's event pipe on a foreign libuv loop, closed twice, and the fix both
 * lws users here (net/ws's clients, server/'s HTTP server) share.
 *
 * lws 4.1 closes its event pipe (an eventfd, one per context) twice on a libuv loop: the
 * first lws_context_destroy close()s it at once and uv_close()s its uv_poll, and the poll's
 * close callback, at the end of that loop iteration, close()s the same fd number again
 * (lws_destroy_event_pipe leaves wsi->desc.sockfd set, and __lws_close_free_wsi_final
 * closes it). Any socket opened in between (a client connecting, the HTTP client, an
 * accept) gets that number and is closed under its live uv_poll, and libuv aborts on EBADF
 * from epoll_ctl. So the pipe's fd is noted when the context is created (the one new
 * uv_poll on the loop whose fd is not a socket: a server's listen socket is new too) and,
 * right after the destroy, held with a /dev/null descriptor until lws's second close takes
 * it. With that a teardown is deterministic whatever else the loop opens meanwhile. */
#ifndef APEX_NET_LWS_PIPE_H
#define APEX_NET_LWS_PIPE_H

#include <libwebsockets.h>
#include <uv.h>

/* lws_create_context(info) on loop, noting the event pipe's fd in *pipe_fd (-1 when it
 * cannot be told apart). */
struct lws_context *lws_pipe_create_context(uv_loop_t *loop,
                                            const struct lws_context_creation_info *info,
                                            int *pipe_fd);

/* Right after the lws_context_destroy that closed the pipe: holds its number until lws's
 * second close of it (lws 4.1 only; elsewhere nothing). who names the user in a warning.
 * Sets *pipe_fd to -1. */
void lws_pipe_hold(int *pipe_fd, const char *who);

#endif
