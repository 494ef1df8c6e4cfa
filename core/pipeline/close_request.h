/* close_request: the trader closes a position by hand, from whichever front end they use
 * (`apex-host close ID`, the HTTP API's POST /api/v1/executions/{id}/close, the
 * dashboard). Like approvals and reduce-only, the request reaches a running host through
 * the store: one meta row, close.request:<execution id>, holding who asked. The host reads
 * it at the execution's next monitoring check (an in-process caller, the HTTP server, has
 * it read at once with pipeline_close_requests) and closes the whole position as exit
 * condition manual_close, CRITICAL, at market; then the row is deleted. */
#ifndef APEX_PIPELINE_CLOSE_REQUEST_H
#define APEX_PIPELINE_CLOSE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct pipeline;

/* Asks for execution id's position to be closed; by names who asked ("cli", "http").
 * Writes the request and a `close_request` event. Returns 0 (msg says what happens next),
 * APEX_ENOTFOUND (no such execution) or APEX_ESTATE (it holds no open position: msg says
 * its status), or the store's error. */
int close_request_submit(store *db, int64_t id, const char *by, char *msg, size_t msglen);

/* Carries out the requests for this pipeline's open positions now. */
void pipeline_close_requests(struct pipeline *p);

#endif
