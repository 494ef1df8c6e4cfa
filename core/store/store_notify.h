/* store_notify: the notification outbox (table `notifications`, migration 4).
 *
 * core/notify queues every notification here, one row per channel, before it sends
 * anything, and records each row's fate: sent, retried later, failed with its reason, or
 * folded into a summary row when its channel was over its rate. A restart finds the rows
 * still pending, and those left `sending` (possibly delivered: store_notify_recover),
 * and sends them. Rows never hold a secret: the payload is the event's fields
 * and a channel is "telegram:<chat id>" or "webhook:<n>".
 *
 * Not on the trading hot path: statements are prepared per call. Writes go through the
 * store's write frame (the failure latch and store_testing.h's injection, table
 * "notifications"). */
#ifndef APEX_STORE_NOTIFY_H
#define APEX_STORE_NOTIFY_H

#include <stdint.h>

#include "clock/clock.h"
#include "store/store.h"
#include "util/err.h"

#define STORE_NOTIFY_PAYLOAD_MAX 4096 /* bytes of JSON, terminator included */
#define STORE_NOTIFY_CHANNEL_MAX 96
#define STORE_NOTIFY_KIND_MAX    32
#define STORE_NOTIFY_SUMMARY     "summary" /* the kind of a summary row */

typedef struct {
    int64_t id;
    char pipeline[64];
    char channel[STORE_NOTIFY_CHANNEL_MAX];
    char kind[STORE_NOTIFY_KIND_MAX];
    int64_t execution_id; /* 0 = none */
    char payload[STORE_NOTIFY_PAYLOAD_MAX];
    char status[16]; /* pending, sending, sent, failed, summarized */
    int attempts;
    apex_time created_at, next_attempt_at, sent_at;
    int64_t summary_id;
    char error[512];
} store_notification;

/* One row per channel for one notification, in one unit (all or none), due now. */
int store_notify_queue(store *s, const char *pipeline, const char *const *channels, int nchannels,
                       const char *kind, int64_t execution_id, const char *payload, apex_time now,
                       apex_error *err);

/* The next row of (pipeline, channel) to send at now: a due summary first, else the oldest
 * due row. *due gets how many pending rows are due (summaries included). Returns 0, or
 * APEX_ENOTFOUND when none is due, or APEX_EIO. */
int store_notify_next(store *s, const char *pipeline, const char *channel, apex_time now,
                      store_notification *out, int *due);

/* The earliest next_attempt_at of (pipeline, channel)'s pending rows: 0 with *at set, or
 * APEX_ENOTFOUND when nothing is pending. */
int store_notify_next_due(store *s, const char *pipeline, const char *channel, apex_time *at);

/* The channels with pending rows for pipeline, as "channel\n" lines into buf (cut to fit).
 * Returns how many, or < 0 on an error. For a restart's channels that the config no longer
 * names. */
int store_notify_pending_channels(store *s, const char *pipeline, char *buf, size_t len);

/* A row's attempt starts: status `sending` and next_attempt_at = now (the attempt's time),
 * committed (durable in a run's store) before the request leaves. A kill between this and
 * the answer's record leaves the row `sending`: possibly delivered. */
int store_notify_sending(store *s, int64_t id, apex_time now, apex_error *err);

/* At start: the rows of pipeline an earlier process left `sending` go back to `pending`
 * (due now, attempts unchanged, error "interrupted while sending"), to be sent again; *n
 * says how many. Each id goes to fn(id, channel, ud) when fn is given. */
int store_notify_recover(store *s, const char *pipeline, apex_time now,
                         void (*fn)(int64_t id, const char *channel, void *ud), void *ud, int *n,
                         apex_error *err);

/* A row's fate (a retry puts it back to pending). */
int store_notify_sent(store *s, int64_t id, int attempts, apex_time now, apex_error *err);
int store_notify_retry(store *s, int64_t id, int attempts, apex_time next_at, const char *error,
                       apex_error *err);
int store_notify_failed(store *s, int64_t id, int attempts, const char *error, apex_error *err);

/* The due rows of (pipeline, channel) that are not summaries, counted per kind: fn(kind,
 * count, ud) once per kind (most first), and *first / *last their creation times. Returns
 * the total. */
int store_notify_due_kinds(store *s, const char *pipeline, const char *channel, apex_time now,
                           void (*fn)(const char *kind, int count, void *ud), void *ud,
                           apex_time *first, apex_time *last);

/* Folds every due non-summary row of (pipeline, channel) into a new summary row with this
 * payload, in one unit: they become `summarized` with summary_id = the new row's id. */
int store_notify_fold(store *s, const char *pipeline, const char *channel, apex_time now,
                      const char *payload, int64_t *summary_id, apex_error *err);

/* Rows pending and failed, for one pipeline (NULL = all). */
int store_notify_counts(store *s, const char *pipeline, int64_t *pending, int64_t *failed);

/* Reads a row by id (tests, status). 0 or APEX_ENOTFOUND. */
int store_notify_get(store *s, int64_t id, store_notification *out);

#endif
