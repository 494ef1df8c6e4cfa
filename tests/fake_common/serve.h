/* serve: the server loop the fake servers (tests/fake_alpaca, tests/fake_telegram) share. A
 * test tool, never part of the product. */
#ifndef APEX_FAKE_SERVE_H
#define APEX_FAKE_SERVE_H

#include <libwebsockets.h>

/* Serves protocols on 127.0.0.1:port (0 = a free port) until SIGINT or SIGTERM: prints
 * "listening 127.0.0.1:PORT" on stdout once ready, ignores SIGPIPE, keeps idle connections
 * for an hour. verbose adds lws's warnings to its errors on stderr. Returns 0 after a clean
 * stop, 1 when it cannot listen (with a line on stderr naming `name`). */
int fake_serve(const char *name, int port, const struct lws_protocols *protocols, int verbose);

#endif
