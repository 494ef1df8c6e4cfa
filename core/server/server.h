/* server: the embedded HTTP and WebSocket server (issue 12): the JSON API under /api/v1,
 * /healthz and /readyz, the push stream at /api/v1/stream and the dashboard's files.
 *
 * libwebsockets 4.1 on the host's libuv loop (the same plugin as net/ws, see there), one
 * context with one vhost. Nothing it does can hold the loop for long: a response is built
 * from one page of rows (at most STORE_API_MAX_LIMIT, store/store_api.h) and written a
 * piece at a time as the socket drains, so a slow reader costs memory for its one
 * response, never time; a stream client whose queue passes its bound is dropped.
 *
 * Reads go through a read-only connection of the server's own (SQLite WAL: readers never
 * wait for the trading writer and never block it). State changes (approve, reject,
 * pause, resume) go through the same paths as the CLI's (pipeline/approval.h,
 * pipeline/risk_mode.h) on a second connection opened when first needed, and need the
 * token (APEX_HTTP_TOKEN, or APEX_HTTP_TOKEN_FILE naming a file with that line) as
 * `Authorization: Bearer`; without a token configured they are refused. `apex-host serve`
 * opens the store read-only and refuses them all with 405. docs/api.md describes it all. */
#ifndef APEX_SERVER_SERVER_H
#define APEX_SERVER_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "pipeline/host.h"

typedef struct server server;

typedef struct {
    const char *listen;  /* "127.0.0.1:8080", "[::1]:8080", ":8080" = 127.0.0.1:8080 */
    const char *db_path; /* the store */
    bool read_only;      /* `serve`: reads only, every state change refused with 405 */
} server_options;

/* Parses "HOST:PORT" into host and port. 0, or APEX_EINVAL with the reason in err. */
int server_parse_listen(const char *listen, char *host, size_t hostlen, int *port, char *err,
                        size_t errlen);

/* Starts listening on the loop. view gives the live pipelines in `run` (NULL in serve).
 * Returns NULL with the reason in err (the address in use, the store unreadable). */
server *server_start(uv_loop_t *loop, const server_options *o, const host_view *view, char *err,
                     size_t errlen);

/* Forgets the pipelines (they are about to be freed), closes every connection and begins
 * the teardown on the loop; server_busy says when it is over, then server_free. Call it outside lws
 * callbacks (after uv_run returned). */
void server_stop(server *s);
bool server_busy(const server *s);
/* Frees a server whose teardown is over (server_busy false). */
void server_free(server *s);

/* The observer `apex-host run --http` hands the host (pipeline/host.h): starts the server
 * on the run's loop with the run's store. o must outlive the run. */
host_observer server_observer(server_options *o);

/* `apex-host serve`: serves the store read-only on a loop of its own until SIGINT or
 * SIGTERM. Returns an exit code (EXIT_OK, EXIT_STORE, EXIT_RUNTIME). */
int server_serve(const server_options *o);

#endif
