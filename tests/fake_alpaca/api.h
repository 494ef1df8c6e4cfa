/* fake-alpaca: request routing for the Alpaca paths and the control API. */
#ifndef FAKE_ALPACA_API_H
#define FAKE_ALPACA_API_H

#include <stddef.h>

#include "state.h"
#include "util.h"

typedef struct {
    const char *method, *path;
    char **args; /* "name=value", URL-decoded */
    int nargs;
    const char *body;
    size_t body_len;
    const char *key, *secret; /* APCA-API-KEY-ID / APCA-API-SECRET-KEY, NULL when absent */
} req_t;

const char *req_arg(const req_t *r, const char *name);
/* Trading and market data paths (auth checked here). Returns the HTTP status. */
int api_handle(const req_t *r, sb_t *out);
/* /_control/... (no auth). */
int control_handle(const req_t *r, sb_t *out);

/* GET /v2/assets/{symbol}: every symbol is an active, tradable asset unless set here
 * (/_control/asset): "untradable" (tradable false) or "unknown" (404). */
typedef enum { ASSET_TRADABLE = 0, ASSET_UNTRADABLE, ASSET_UNKNOWN } asset_kind;
int asset_set(const char *symbol, asset_kind kind); /* 0, or -1 when the table is full */
void assets_reset(void);

/* An article as GET /v1beta1/news lists it, or (stream) as the news stream sends it. */
void news_json(sb_t *out, const news_t *x, int stream);

/* Provided by server.c for the control API. */
int fault_add(const char *kind, const char *method, const char *path, int count, int retry_after,
              int process);
void faults_clear(void);
void faults_json(sb_t *b);
void counters_json(sb_t *b);
void counters_reset(void);
int ws_drop(const char *path_prefix);

#endif
