/* config: a pipeline's settings as plain C data, with every default in one place.
 *
 * script/pipeline_loader.c fills a pipeline_config from pipeline.lua; this module
 * owns the defaults (config_defaults) and the range checks (config_validate), so
 * the rules are the same whichever way a config arrives. Both come from the field
 * table in schema.h, which names, types, defaults, bounds and documents every field
 * once. Percentages and ratios are fixed point like money: 0.02 is MONEY_SCALE / 50.
 *
 * The position-management defaults are seed 003's position_management.yaml. */
#ifndef APEX_CONFIG_H
#define APEX_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/exit.h"
#include "model/order.h"
#include "money/money.h"
#include "util/diag.h"

#define CONFIG_NAME_MAX           64
#define CONFIG_PATH_MAX           4096
#define CONFIG_MAX_PARTIAL_STAGES 8
#define CONFIG_MAX_BACKOFF_STEPS  10

typedef enum { BROKER_KIND_PAPER = 0, BROKER_KIND_ALPACA } broker_kind;
typedef enum { BROKER_FEED_IEX = 0, BROKER_FEED_SIP } broker_feed;

/* When a paper market order fills: at the open of its symbol's next bar (no look-ahead),
 * or at once at the last bar's close. */
typedef enum { PAPER_FILL_NEXT_OPEN = 0, PAPER_FILL_CLOSE } paper_fill_model;

typedef struct {
    paper_fill_model fill; /* default next_open */
    money_t starting_cash; /* default 100000 */
    money_t spread_bps;    /* whole basis points, fixed point; used when bars have no bid/ask.
                              default 2 bps: half is paid on each side */
    money_t slippage_bps;  /* against the taker on market and triggered stop fills. default 1 */
    money_t fee_per_share; /* cash per unit of quantity. default 0 */
    money_t fee_bps;       /* of notional. default 0 */
    money_t fee_min;       /* per fill, when fees apply. default 0 */
    char state_path[CONFIG_PATH_MAX]; /* where the paper account persists; "" = next to the
                                         store (<db>.paper), ":memory:" in backtests */
} paper_config;

typedef struct {
    broker_kind kind;
    paper_config paper;
    char base_url[512]; /* real brokers: trading API; "" = the venue's paper URL */
    char data_url[512]; /* market data API; "" = the venue's */
    char key_env[64];   /* name of the environment variable holding the API key */
    char secret_env[64];
    char credentials_file[CONFIG_PATH_MAX]; /* NAME=value lines; "" = the environment */
    broker_feed feed;                       /* Alpaca's market data feed */
} broker_config;

/* data.http: one HTTP JSON price source (feeds/http_json.h; config/ sits below feeds/, so
 * the limits are repeated here and pipeline/http_sources.c asserts they agree). */
#define CONFIG_HTTP_URL_MAX  2048
#define CONFIG_HTTP_PATH_MAX 255

typedef struct {
    char symbol[SYMBOL_MAX];
    char url[CONFIG_HTTP_URL_MAX + 1];
    char price[CONFIG_HTTP_PATH_MAX + 1]; /* dotted path to the value */
    char time[CONFIG_HTTP_PATH_MAX + 1];  /* "" = the time the answer arrived */
    int every_seconds;                    /* default 60 */
    char header_env[64];                  /* "" = no header */
    int timeout_seconds;                  /* per attempt, default 10 */
} http_source_config;

typedef struct {
    char **files; /* resolved paths, owned */
    int nfiles;
    char news_file[CONFIG_PATH_MAX]; /* optional CSV: timestamp,symbol,impact,headline */
    bool follow;        /* tail the files for new rows (a live feed); run until stopped */
    double speed;       /* replay speed for `run` (1 = real time); 0 = as fast as possible */
    char timeframe[16]; /* the bars' interval as written ("1m", "1d"); "" = detect it */
    bool live;          /* `run`: the symbols' bars (and news) from the broker's market data */
    int warmup_bars;    /* live: history bars per symbol before the stream's */
    bool live_news;     /* live: also the broker's news about the symbols */
    int news_impact;    /* impact given to live news, which venues do not rate: 1-3 */
    http_source_config *http; /* `run`: prices polled from HTTP JSON endpoints, owned */
    int nhttp;
} data_config;

typedef struct {
    char file[CONFIG_PATH_MAX]; /* resolved path; "" when the stage is absent */
    char *params_json;          /* the script's params table as JSON, owned; NULL = {} */
} script_ref;

typedef struct {
    money_t capital;              /* sizing capital; 0 = the broker account's equity */
    money_t max_risk_pct;         /* of capital at risk per trade. default 0.01 (seed 004) */
    money_t max_position_pct;     /* of capital in one position. default 0.05 (seed 004) */
    int max_positions;            /* open at once in this pipeline. default 10 (seed 004) */
    money_t daily_loss_limit_pct; /* circuit breaker: realized+unrealized loss today as a
                                     fraction of start-of-day equity. default 0.03 */
    bool allow_short;             /* default true */
    bool pdt_check;               /* pattern-day-trader rule when equity < 25000. default true */
    int pdt_day_trade_limit;      /* default 3 */
    /* Portfolio risk across the pipelines of one broker account (risk/heat.h, docs/risk.md) */
    money_t max_heat_pct;          /* open risk to the stops / equity. default 0.06 (seed 002) */
    bool heat_shrink;              /* shrink a trade to fit instead of skipping it. default false */
    money_t max_cluster_heat_pct;  /* open risk of a correlated cluster / equity; 0 = off */
    money_t correlation_threshold; /* r above which two symbols are one cluster. default 0.7 */
    int correlation_window;        /* bars of returns. default 60 */
    money_t max_drawdown_pct;      /* drawdown breaker, from peak equity; 0 = off */
    bool drawdown_close_all;       /* the breaker also closes every position. default false */
    int drawdown_resume_hours;     /* entries resume this long after the trip; 0 = by hand */
} risk_config;

typedef struct {
    price_strategy price;    /* market for CRITICAL, else a limit placement */
    int timeout_seconds;     /* 5 / 10 / 30 / 60 */
    int max_walks;           /* 0 / 2 / 5 / 10 */
    bool market_after_walks; /* CRITICAL retries as market; HIGH goes market after its walks */
} exit_execution_config;

typedef struct {
    char name[32];
    money_t profit_threshold; /* unrealized P&L fraction: 0.15 */
    money_t exit_fraction;    /* of the original quantity: 0.50 */
} partial_stage;

/* exits.trailing_stop.mode: how far behind the peak the built-in trailing stop sits. */
typedef enum {
    TRAILING_PERCENT = 0, /* distance_pct of the peak */
    TRAILING_ATR,         /* multiplier x ATR(period) behind the peak */
    TRAILING_CHANDELIER   /* multiplier x ATR(period) behind the highest high of period bars */
} trailing_mode;

typedef struct {
    money_t stop_loss_pct;   /* default stop distance when the strategy gives none: 0.04 */
    money_t take_profit_pct; /* default target distance when the strategy gives none: 0.10 */
    bool trailing_enabled;   /* default true */
    money_t trailing_activation_pct; /* profit that arms the trailing stop: 0.05 */
    money_t trailing_distance_pct;   /* distance from the peak: 0.03 (mode percent) */
    trailing_mode trailing_mode;     /* how the distance is measured: percent */
    int trailing_period;             /* bars of the ATR (and of the chandelier's high): 22 */
    money_t trailing_multiplier;     /* ATRs from the peak or the channel: 3 */
    bool partial_enabled;            /* default true */
    partial_stage stages[CONFIG_MAX_PARTIAL_STAGES];
    int nstages;                      /* default 2: 50% at +15%, 25% at +25% */
    money_t liquidity_max_spread;     /* absolute, 0 = off */
    money_t liquidity_max_spread_pct; /* a fraction of the mid price, 0.01 */
    money_t liquidity_min_volume;     /* 50 */
    money_t early_exit_edge;          /* edge below this fires early_exit: 0.02 */
    int time_urgent_minutes;          /* before session close / settlement: 5 */
    /* minute of day, UTC; default 21*60 (16:00 New York, EST). In `run` on a venue with a
     * calendar (broker_get_session) the day's real close replaces it. */
    int session_close_minute_utc;
    money_t rebalance_min_improvement;    /* opportunity score gain that justifies a switch: 0.10 */
    exit_priority strategy_exit_priority; /* a close from on_bar is worked at it: CRITICAL */
    exit_execution_config execution[EXIT_PRIORITY_COUNT];
} exits_config;

typedef struct {
    int normal_frequency_s;         /* 30 */
    int urgent_frequency_s;         /* 5 */
    money_t near_stop_loss_pct;     /* 0.02 */
    money_t near_profit_target_pct; /* 0.02 */
    money_t near_trailing_stop_pct; /* 0.02 */
    money_t near_distance_fraction; /* and within this part of the level's distance: 0.25 */
    int price_cache_ttl_s;          /* 10 */
    int max_api_calls_per_minute;   /* 60 */
    int retry_backoff_s[CONFIG_MAX_BACKOFF_STEPS]; /* 60, 120, 240, 480, 960 */
    int nretry_backoff;                            /* 5 */
    int persist_interval_s; /* unrealized P&L written to the store at most this often: 60 */
    int reconcile_s;        /* orders and positions asked of the broker: 300; 0 = at start only */
} monitoring_config;

typedef enum { INSTRUCTION_TEXT = 0, INSTRUCTION_FILE } instruction_kind;

typedef struct {
    instruction_kind kind;
    char *value; /* the sentence ("close if VIX > 40") or a resolved rule-file path; owned */
} instruction;

/* notifications.webhooks[i]: a URL, or { url, template, header_env }. */
typedef struct {
    char url[CONFIG_HTTP_URL_MAX + 1];
    char body_template[2048]; /* {{field}} placeholders; "" = a JSON object of every field */
    char header_env[64];      /* one header line from the environment; "" = none */
} notify_webhook_config;

typedef struct {
    char telegram_token_env[64];               /* "" = no Telegram */
    char telegram_token_file[CONFIG_PATH_MAX]; /* NAME=value lines; "" = the environment */
    char **telegram_chat_ids;                  /* owned */
    int ntelegram_chat_ids;
    char telegram_api_url[512];      /* "" = https://api.telegram.org */
    notify_webhook_config *webhooks; /* owned */
    int nwebhooks;
    /* notifications.events: which kinds are sent (skip is off by default) */
    bool on_entry, on_fill, on_exit, on_skip, on_error, on_circuit_breaker, on_instruction,
        on_reload_failed, on_broker_outage;
    int rate_limit_per_minute; /* per channel; default 10 */
    int max_attempts;          /* per message and channel; default 8 */
} notify_config;

typedef enum { EXEC_TOOL_BROKER = 0, EXEC_TOOL_WEBHOOK } exec_tool;
typedef enum { ENTRY_MARKET = 0, ENTRY_LIMIT } entry_order_type;
typedef enum { EXEC_MODE_AUTO = 0, EXEC_MODE_APPROVAL } exec_mode;

typedef struct {
    exec_tool tool;              /* default broker */
    entry_order_type entry;      /* default market; limit uses the signal's entry price */
    char webhook_url[512];       /* with tool = webhook */
    char webhook_template[2048]; /* the body with {{field}} placeholders; "" = every field */
    char webhook_secret_env[64]; /* HMAC-SHA256 key's environment variable; "" = unsigned */
    int webhook_timeout_s;       /* per attempt. default 10 */
    int webhook_retries;         /* after the first attempt. default 3 */
    exec_mode mode;              /* default auto; approval waits for a trader's answer */
    int approval_timeout_s;      /* how long a request waits. default 300 */
    money_t approval_tolerance;  /* the entry's move, as a fraction, that makes it stale */
    char **approval_user_ids;    /* Telegram user ids that may answer; none = anyone in the chat */
    int napproval_user_ids;
} execution_config;

typedef struct {
    money_instrument rules;
    char symbol[SYMBOL_MAX]; /* "" = the default for every symbol */
} instrument_config;

/* How results are measured (docs/analytics.md): the summary, `backtest --report` and the
 * JSON API use these. */
typedef struct {
    money_t risk_free_rate; /* annual, as a fraction. default 0 */
    int periods_per_year;   /* of the daily return series. default 252 */
} report_config;

typedef struct pipeline_config {
    char name[CONFIG_NAME_MAX];
    char path[CONFIG_PATH_MAX]; /* the pipeline file */
    char dir[CONFIG_PATH_MAX];  /* its directory; relative paths resolve against it */
    char (*symbols)[SYMBOL_MAX];
    int nsymbols;
    broker_config broker;
    data_config data;
    script_ref bias;
    script_ref strategy;
    risk_config risk;
    exits_config exits;
    monitoring_config monitoring;
    instruction *instructions;
    int ninstructions;
    notify_config notifications;
    execution_config execution;
    report_config report;
    instrument_config *instruments; /* [0] is the default, the rest sorted by symbol
                                       (config_sort_instruments) */
    int ninstruments;
    int64_t random_seed;    /* seeds math.random in backtests; see config_random_seed */
    bool random_seed_given; /* false: the seed derives from the name */
    int history;            /* bars kept per traded symbol for ctx.history; 0 = none */
} pipeline_config;

/* Fills cfg with every default. Allocates nothing; call config_free anyway. */
void config_defaults(pipeline_config *cfg);
/* Frees what the config owns and resets it to defaults. */
void config_free(pipeline_config *cfg);

/* Checks ranges and cross-field rules; adds one diagnostic per problem, each naming
 * "<file>: <field>: ...". Returns the number of problems found (0 = valid). */
int config_validate(const pipeline_config *cfg, diag_list *diags);

/* data.timeframe in seconds: 0 when it is "" (detect it from the data), -1 when it is
 * not a whole number followed by s, m, h or d. */
int64_t config_timeframe_seconds(const char *text);

/* The seed for the pipeline's math.random: random_seed when the file gives one, else
 * a hash of the name, so every run of the same pipeline draws the same numbers. */
int64_t config_random_seed(const pipeline_config *cfg);

/* The tick/lot rules for a symbol (its override, else the default): a binary search, so
 * opening a pipeline with many symbols and instruments stays O(n log n). */
money_instrument config_instrument(const pipeline_config *cfg, const char *symbol);

/* Sorts instruments[1..] by symbol, as config_instrument expects (the loader calls it). */
void config_sort_instruments(pipeline_config *cfg);

#endif
