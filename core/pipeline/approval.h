/* approval: execution.mode = "approval" (docs/approval.md).
 *
 * An entry that passed the risk stage waits for a trader's answer before it goes to the
 * broker. The request is a row in the store (store/store_approvals.h); the first answer
 * from any channel wins:
 *   - Telegram: Approve and Reject buttons on a message to the configured chat;
 *   - the CLI: `apex-host approve ID`, `apex-host reject ID [--reason TEXT]`, from another
 *     process, against the running host's store;
 *   - the dashboard (a later issue): it calls approval_submit below.
 * The running host reads answers from the store once a second of its clock, so every
 * channel goes through the same row and the same decision. */
#ifndef APEX_PIPELINE_APPROVAL_H
#define APEX_PIPELINE_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_approvals.h"

/* The hook every answering channel calls (the CLI does; the dashboard's server will):
 * records approve or reject for request id on behalf of `by` ("cli:alice",
 * "dashboard:bob"), with an optional reason (NULL or ""). The running host acts on it
 * within a second: an approval is still checked for a stale price there. msg gets one
 * line for the person who answered ("approval 3 (demo AAPL buy 50 @ 100.00): approved by
 * cli:alice; the running host sends it within a second, unless the price moved beyond
 * the tolerance", or why nothing was recorded). Returns 0; APEX_ENOTFOUND for no such
 * request; APEX_ESTATE when it was answered or decided already; another code for a store
 * error. */
int approval_submit(store *db, int64_t id, bool approve, const char *by, const char *reason,
                    char *msg, size_t msglen);

/* One line for a request: "demo AAPL buy 50 @ 100.00, stop 95.00, target 120.00: risk
 * 250.00, reward 1000.00 (reward/risk 4.00)". */
void approval_describe(const store_approval *a, char *out, size_t n);

#endif
