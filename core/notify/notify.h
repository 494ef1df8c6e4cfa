/* notify: a pipeline's notifications to Telegram chats and outgoing webhooks, through an
 * outbox in the store, never blocking the loop.
 *
 * notify_emit turns an event into its fields (a JSON payload, no secret in it) and its
 * message text, and queues one row per channel in the store (store/store_notify.h) in one
 * unit, before anything is sent: a crash loses none, and the next notifier_new on that
 * store sends what was left pending. Each channel (a chat, a webhook) then sends its rows
 * one at a time, oldest first, on the loop:
 *
 *   - retries: a failed send (no answer, 429, 5xx) is tried again after a full-jitter
 *     backoff (net/retry.h; 2 s doubling to 5 min) or after the wait the server asked
 *     for, up to notifications.max_attempts, then marked failed with the reason. A 4xx
 *     that will not change (a bad chat id, a bad token, a refused body) fails at once.
 *   - rate: a channel sends at most notifications.rate_limit_per_minute messages in any
 *     60 s. When more rows are due than the window has room for, the last free slot
 *     carries one summary ("37 more notifications: 30 error, 7 fill ...") and the rows it
 *     covers are marked summarized; so a storm of any size costs a channel at most that
 *     many messages a minute.
 *   - at-least-once: a row is marked sent when its answer arrives. A process killed
 *     between the send and that mark sends it again on restart; webhooks carry an
 *     Idempotency-Key (apex-<pipeline>-<row id>) so a receiver can drop the repeat,
 *     Telegram has no such key.
 *
 * Delivery runs on its own wall clock (a backtest's or a replay's data time must not
 * stretch a retry), and nothing waits for it: an exit never waits for Telegram. Secrets
 * (the bot token, a webhook's header) are loaded at notifier_new, used only in requests
 * (redacted from every message), and never reach the store or the log. */
#ifndef APEX_NOTIFY_NOTIFY_H
#define APEX_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "clock/clock.h"
#include "config/config.h"
#include "money/money.h"
#include "store/store.h"
#include "util/diag.h"
#include "util/err.h"

struct uv_loop_s;

typedef enum {
    NOTIFY_ENTRY = 0,
    NOTIFY_FILL,
    NOTIFY_EXIT,
    NOTIFY_SKIP,
    NOTIFY_ERROR,
    NOTIFY_CIRCUIT_BREAKER,
    NOTIFY_INSTRUCTION,
    NOTIFY_RELOAD_FAILED,
    NOTIFY_BROKER_OUTAGE,
    NOTIFY_KIND_COUNT
} notify_kind;

/* "entry", "fill", "exit", "skip", "error", "circuit_breaker", "instruction",
 * "reload_failed", "broker_outage" (as notifications.events names them). */
const char *notify_kind_name(notify_kind k);
/* Whether cfg's notifications.events sends k. */
bool notify_kind_enabled(const notify_config *cfg, notify_kind k);

/* One event. Strings are borrowed for the call; NULL or "" and 0 mean "not given". */
typedef struct {
    notify_kind kind;
    const char *symbol;
    int64_t execution_id;
    const char *side; /* "buy" or "sell" */
    money_t qty, price, stop_loss, take_profit, fee, pnl;
    money_t entry_price;  /* an exit's: the average entry; its price is the average exit */
    bool has_pnl;         /* pnl is meaningful even when 0 */
    const char *reason;   /* what happened, in the host's words */
    const char *priority; /* an exit's: "CRITICAL" .. "LOW" */
    const char *detail;   /* e.g. a fill's order role */
    apex_time time;       /* when it happened (data time) */
} notify_event;

typedef struct notifier notifier;

typedef struct {
    struct uv_loop_s *loop;
    apex_clock *clock; /* NULL = the notifier's own wall clock on loop */
    store *db;
    const char *pipeline;
    const notify_config *cfg; /* must outlive the notifier */
    /* Tests: the backoff's first and largest envelope (0 = 2 s and 5 min) and the jitter's
     * seed (0 = from the time). */
    int retry_base_ms, retry_cap_ms;
    uint64_t jitter_seed;
} notifier_options;

/* `check` and `run`: the notifications section's own rules, one diagnostic per problem
 * naming the file and field (a chat id that is neither a number nor @name, a token_env
 * without a chat or the reverse, a URL that may not carry a secret, a template with an
 * unknown field). Returns the number of problems. */
int notify_check(const pipeline_config *cfg, diag_list *d);

/* True when cfg names any channel. */
bool notify_configured(const notify_config *cfg);

/* `run`: a notifier for the pipeline, with its secrets loaded (the token from
 * notifications.telegram.token_env or token_file, each webhook's header_env). Returns
 * NULL with err set when a secret is missing or unusable (the message names the variable
 * or file, never a value); NULL with err->code 0 when nothing is configured. Rows left
 * pending by an earlier run are sent from now on. */
notifier *notifier_new(const notifier_options *o, apex_error *err);

/* Sends nothing more; a send in flight is dropped (its row stays pending for the next
 * run). Run the loop once more before closing it (handles close asynchronously). */
void notifier_free(notifier *n);

/* Queues ev for every channel when its kind is enabled; a NULL n does nothing (a backtest).
 * Returns 0, or the store's error (also logged). */
int notify_emit(notifier *n, const notify_event *ev);

/* Channels with a send in flight or a row due within the next 15 s: what the end of a run
 * waits for (a little). */
int notifier_busy(notifier *n);
/* How many notifications it has delivered since it started: the end of data waits while
 * this still moves. */
uint64_t notifier_sent(const notifier *n);

/* The message text of an event (what Telegram shows), into buf. */
void notify_format(const char *pipeline, const notify_event *ev, char *buf, size_t len);

/* The webhook body for a stored payload (tmpl "" = every field): malloc'd into *out.
 * Returns 0 or APEX_EINVAL naming `field` and the unknown placeholder / APEX_ENOMEM. */
int notify_render(const char *tmpl, const char *payload, const char *field, char **out,
                  size_t *out_len, char *err, size_t errlen);

#endif
