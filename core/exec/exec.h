/* exec: orders, with the guarantee that none is ever sent twice.
 *
 * Sending an order: allocate the next client order id
 * ("<store instance>-<execution id>-<sequence>", the sequence persisted in the
 * execution row), commit the intent to the store (status new), and only then
 * call the broker. The reply records the broker's id and status. If the process
 * dies anywhere in between, exec_reconcile asks the broker for that client id at
 * restart: found -> the row is brought up to date, missing fills are fetched;
 * not found -> the intent never left, and is marked unsent. It is never resent.
 *
 * The broker listener installed by exec_env_install turns order updates and
 * fills into store rows (fills are unique by fill id, so a replay is harmless),
 * applies fills to the trade's ledger and position, and tells the pipeline. */
#ifndef APEX_EXEC_H
#define APEX_EXEC_H

#include "broker/broker.h"
#include "config/config.h"
#include "exec/trade.h"

typedef struct exec_env exec_env;

/* Pipeline hooks. find_trade maps an execution id to its live trade (NULL if none). */
typedef struct {
    trade *(*find_trade)(void *ud, int64_t execution_id);
    void (*on_fill)(void *ud, trade *t, const broker_fill *fill, const store_order *order);
    /* Called inside the fill's unit, after its rows are written and before it commits:
     * what must be durable with the fill (its notification) is written here, so a kill
     * keeps both or neither. It must not send anything. May be NULL. */
    void (*in_fill_unit)(void *ud, trade *t, const broker_fill *fill, const store_order *order);
    void (*on_order)(void *ud, trade *t, const store_order *order);
    void *ud;
} exec_hooks;

/* status 0 = accepted by the broker; else the broker's refusal or a local failure. */
typedef void (*exec_done_cb)(void *ud, trade *t, int status, const char *msg);

exec_env *exec_env_new(store *db, broker *brk, apex_clock *clock, const pipeline_config *cfg,
                       exec_hooks hooks);
void exec_env_free(exec_env *env);
/* Installs the broker listener that feeds fills and order updates to the trades. */
void exec_env_install(exec_env *env);

/* Writes the next client order id for t into out (persisting the sequence). */
int exec_next_client_id(exec_env *env, trade *t, const char *suffix, char *out, size_t outlen);

/* Sends an order for t: intent committed first, then the request, at priority prio (an
 * exit's own, else ROUTINE). req->client_order_id is filled in here. For a bracket entry
 * the legs are recorded as intents too. done runs once with the outcome unless this
 * returns < 0; then err (may be NULL) says why, in the words of whatever failed (the
 * store, the broker), and nothing was sent. */
int exec_send(exec_env *env, broker_priority prio, trade *t, order_role role, order_request *req,
              exec_done_cb done, void *ud, char *err, size_t errlen);

/* Cancels every non-final order of t at the broker (used when a position is found
 * closed by other means). Fire and forget; the listener records the outcome. */
void exec_cancel_open_orders(exec_env *env, trade *t);

/* Restart: reconciles every non-final order of t with the broker as described above.
 * done runs once when all answers are in (status < 0 if the broker could not be
 * reached; the trade is then reconciled again later). */
int exec_reconcile(exec_env *env, trade *t, exec_done_cb done, void *ud);
/* While running (monitoring.reconcile_seconds): the same questions, for a fill the stream
 * and polling both missed, recorded once through the listener's unit (a fill the listener
 * records too is a duplicate, by fill id) with a `reconcile` event; a status change the
 * listener missed reaches the on_order hook. Unlike a restart it never marks an intent
 * unsent (its submit may still be on its way) and ignores an answer older than what the
 * listener has recorded since. */
int exec_reconcile_periodic(exec_env *env, trade *t, exec_done_cb done, void *ud);

/* What restart reconciliation found, for the restart report. */
typedef struct {
    int unsent_intents;  /* intents the broker never saw: marked unsent, never resent */
    int recovered_fills; /* fills that happened while the host was down */
    int missed_fills;    /* fills periodic reconciliation recorded (stream and polling missed) */
} exec_restart_stats;
exec_restart_stats exec_restart_stats_get(const exec_env *env);

/* ---- a position closed outside apex-host (by hand at the broker) ----
 *
 * The broker shows t flat while t's own fills still hold shares: someone closed it at the
 * broker (Alpaca's web UI). Its closing fills are learned from the broker so the ledger,
 * the realized P&L and the fees match what the broker did. */
typedef struct {
    int status;        /* 0: the broker answered; else why not (APEX_EINVAL: it cannot) */
    char error[256];   /* with status != 0 */
    broker_fill *fill; /* the closing fills, oldest first, qty cut to what t holds; NULL
                          when nfills is 0 */
    int nfills;
    money_t held;  /* what t's fills held when the answer came (> 0) */
    money_t found; /* the quantity the fills cover, <= held */
} exec_external_close;

/* t's closing fills in `fill` must outlive only the callback. */
typedef void (*exec_external_cb)(void *ud, trade *t, const exec_external_close *close);

/* Asks the broker for t's symbol's fills since its position opened and keeps those of no
 * order apex-host knows (their venue order id is in no order of the store, their client
 * order id neither), on the side that closes t, in time order, up to the quantity t still
 * holds (the last one cut). cb runs once, unless this returns < 0 (APEX_EINVAL: the broker
 * cannot list fills by symbol, e.g. the paper broker); it does not run when t finished in
 * the meantime. Nothing is recorded: the caller records the fills with
 * exec_record_external_fill in the unit that completes the execution. */
int exec_find_external_close(exec_env *env, trade *t, exec_external_cb cb, void *ud);

/* Records f, a fill made at the broker outside apex-host, as t's (role `external`), inside
 * the caller's unit: the fill row (its order_client_id is the venue's order id, its fill
 * id the venue's, so a repeat is a duplicate), t's ledger, execution and position rows,
 * and the fill event. Returns 1 when recorded, 0 when it was already (nothing changes),
 * < 0 on a store failure (the caller aborts its unit and puts t back). */
int exec_record_external_fill(exec_env *env, trade *t, const broker_fill *f);

/* Rebuilds t->led from the fills recorded in the store (restart). */
int exec_replay_fills(exec_env *env, trade *t);

#endif
