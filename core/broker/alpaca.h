/* alpaca: the Alpaca adapter (trading API v2, market data v2) over net/http.
 *
 * Every broker_ops call is one or a few REST requests; its reply comes from the response,
 * decoded by alpaca_json.h. What it adds to the bare API is the host's contract:
 *
 *  - An order is never sent twice. POST /v2/orders is not idempotent, and the HTTP layer
 *    never resends it. When its outcome is unknown (sent, no complete answer) the adapter
 *    asks GET /v2/orders:by_client_order_id before it answers: found, it is the order;
 *    not found, the submission failed and the host may send it again with the same id.
 *  - Bracket legs carry the host's derived ids (order_leg_id) in replies and events; the
 *    adapter finds Alpaca's leg through its parent whenever a leg is named.
 *  - Order updates and fills reach the listener from the trade_updates stream
 *    (alpaca_stream.c: a WebSocket opened by alpaca_broker_new at the base URL as ws/wss +
 *    "/stream") and from polling (alpaca_poll.c): GET /v2/account/activities/FILL and GET
 *    /v2/orders. Polling runs every ALPACA_POLL_MS while the stream is down and every
 *    ALPACA_STREAM_POLL_MS (a safety net) while it listens; a lost stream is reconnected
 *    with backoff and, once listening again, one poll catches up at once. Both paths
 *    report through the same functions, which compare with what the listener was told:
 *    each fill reaches it once (its id, from alpaca_fill_id, is the same both ways), each
 *    status change once.
 *  - Live market data (broker_market_data_subscribe) comes from alpaca_data.c: one stream
 *    connection per kind (stocks, crypto, news) shared by every subscription, a REST warm-up
 *    first and a REST catch-up after every gap; docs/brokers.md, "Live market data".
 *  - close_position cancels the symbol's open orders, then sends a market order for the
 *    whole position under the host's client order id (Alpaca's DELETE /v2/positions takes
 *    none, and without one a retried close could not be recognised).
 *
 * Secrets: the key and secret go only into request headers marked secret and into the
 * streams' auth messages, sent with ws_send_text_secret (wiped once written). */
#ifndef APEX_BROKER_ALPACA_H
#define APEX_BROKER_ALPACA_H

#include "broker/broker.h"
#include "clock/clock.h"
#include "config/config.h"

struct uv_loop_s;

#define ALPACA_PAPER_URL  "https://paper-api.alpaca.markets"
#define ALPACA_DATA_URL   "https://data.alpaca.markets"
#define ALPACA_KEY_ENV    "APCA_API_KEY_ID"
#define ALPACA_SECRET_ENV "APCA_API_SECRET_KEY"

/* How often order updates and fills are polled, in ms of the host clock: while the
 * trade_updates stream is down, and while it is listening (a safety net). */
#define ALPACA_POLL_MS        2000
#define ALPACA_STREAM_POLL_MS 30000
/* Reconnection backoff of the stream: the first wait, doubled per failure up to the max. */
#define ALPACA_STREAM_BACKOFF_MS     1000
#define ALPACA_STREAM_BACKOFF_MAX_MS 60000

/* Checks cfg's broker section without any request: the key and the secret are present
 * (never printed), the URLs are acceptable. Returns 0 or < 0 with a message naming the
 * field or the variable. */
int alpaca_check_config(const broker_config *cfg, char *err, size_t errlen);

/* "alpaca at <trading URL> (paper|live money), data <URL> (<feed>), key from <source>",
 * never a value. Returns 0 or < 0 with the message in desc. */
int alpaca_describe(const broker_config *cfg, char *desc, size_t desclen);

/* An adapter on loop with its own HTTP client and its own wall clock for polls and
 * reconnects: a venue's pacing is real time whatever the replay speed of the host's clock.
 * NULL with err on a configuration problem (alpaca_check_config's messages). */
broker *alpaca_broker_new(const broker_config *cfg, struct uv_loop_s *loop, char *err,
                          size_t errlen);

/* True while b (an Alpaca adapter) is authorized on the trade_updates stream and listening;
 * false for any other broker. For status displays and tests. */
bool alpaca_stream_listening(const broker *b);

#endif
