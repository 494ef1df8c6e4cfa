/* schema: the one table of pipeline fields (see schema.h), and the generic code that
 * applies its defaults and checks its ranges. */
#include "config/schema.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define ONE MONEY_SCALE
/* A whole percent as a fixed-point fraction: PCT(4) == 0.04. */
#define PCT(whole) ((money_t)(whole) * (MONEY_SCALE / 100))

#define AT(member)                                                                                 \
    .offset = offsetof(pipeline_config, member), .size = sizeof(((pipeline_config *)0)->member)
#define COUNT(member) .count_offset = offsetof(pipeline_config, member)
#define RANGE(l, h)   .ranged = true, .lo = (l), .hi = (h)

/* The enums' names, in enum order. test_config checks them against the *_name()
 * functions the rest of the core prints with. */
static const char *const broker_kinds[] = {"paper", "alpaca", NULL};
static const char *const fill_models[] = {"next_open", "close", NULL};
static const char *const price_strategies[] = {"market", "aggressive", "fair", "conservative",
                                               NULL};
static const char *const exit_priorities[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", NULL};
static const char *const exec_tools[] = {"broker", "webhook", NULL};
static const char *const data_feeds[] = {"iex", "sip", NULL};
/* Impact 1-3 as news.h counts it; the enum's index is impact - 1 (see news_impact_of). */
static const char *const news_impacts[] = {"low", "medium", "high", NULL};
/* Environment variable names: what a POSIX shell can export. */
#define ENV_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
static const char *const entry_types[] = {"market", "limit", NULL};
static const char *const trailing_modes[] = {"percent", "atr", "chandelier", NULL};
static const char *const exec_modes[] = {"auto", "approval", NULL};

static const int default_backoff[] = {60, 120, 240, 480, 960};

/* The paper broker's settings mean nothing to a real broker, so a real broker's
 * pipeline is not refused over them. */
static bool paper_only(const pipeline_config *cfg)
{
    return cfg->broker.kind == BROKER_KIND_PAPER;
}

/* Seed 003: sell half at +15%, a quarter at +25%, let the rest ride the trailing stop. */
static void default_stages(pipeline_config *cfg)
{
    static const partial_stage stages[] = {
        {"first_target", PCT(15), PCT(50)},
        {"second_target", PCT(25), PCT(25)},
    };
    memcpy(cfg->exits.stages, stages, sizeof stages);
    cfg->exits.nstages = 2;
}

/* Element rows: offsets into one partial_stage. */
const config_field config_stage_fields[] = {
    {.path = "name",
     .type = CONFIG_STRING,
     .offset = offsetof(partial_stage, name),
     .size = sizeof(((partial_stage *)0)->name),
     .doc_default = "`stage_N`",
     .doc = "shown in the exit log"},
    {.path = "profit_threshold",
     .type = CONFIG_MONEY,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     .offset = offsetof(partial_stage, profit_threshold),
     .size = sizeof(money_t),
     RANGE(1, MONEY(100)),
     .missing = "missing; e.g. profit_threshold = 0.15",
     .doc = "unrealized profit, as a fraction, that triggers the stage (0.15 = +15%); "
            "thresholds must rise from stage to stage"},
    {.path = "exit_percentage",
     .type = CONFIG_PERCENT,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     .offset = offsetof(partial_stage, exit_fraction),
     .size = sizeof(money_t),
     RANGE(1, ONE),
     .missing = "missing; e.g. exit_percentage = 50",
     .doc = "percent of the original quantity to sell (50 = half); the stages together may sell "
            "at most 100%"},
};
const int config_stage_field_count =
    (int)(sizeof config_stage_fields / sizeof *config_stage_fields);

/* Element rows: offsets into one money_instrument. */
const config_field config_instrument_fields[] = {
    {.path = "tick",
     .type = CONFIG_MONEY,
     .offset = offsetof(money_instrument, tick),
     .size = sizeof(money_t),
     .def = MONEY_SCALE / 100,
     RANGE(1, MONEY(10000)),
     .doc = "price increment; signal prices are rounded to it"},
    {.path = "lot",
     .type = CONFIG_MONEY,
     .offset = offsetof(money_instrument, lot),
     .size = sizeof(money_t),
     .def = MONEY_SCALE,
     RANGE(1, MONEY(1000000)),
     .doc = "quantity increment; sizes are rounded down to whole lots"},
};
const int config_instrument_field_count =
    (int)(sizeof config_instrument_fields / sizeof *config_instrument_fields);

/* Element rows: offsets into one http_source_config. The loader checks the symbol;
 * http_json_check (at `check` and when `run` opens the source) checks the URL, the paths
 * and the header variable, so both say the same thing about them. */
#define HTTP_AT(member)                                                                            \
    .offset = offsetof(http_source_config, member),                                                \
    .size = sizeof(((http_source_config *)0)->member)
const config_field config_http_fields[] = {
    {.path = "symbol",
     .type = CONFIG_STRING,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     HTTP_AT(symbol),
     .missing = "missing; name the symbol the price is for, e.g. symbol = \"VIX\"",
     .doc_range = "1 to 23 characters",
     .doc = "the symbol the price is for, as the rules and `apex.price` name it (`VIX`, "
            "`^VIX`); it is not traded"},
    {.path = "url",
     .type = CONFIG_STRING,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     HTTP_AT(url),
     .missing = "missing; write the endpoint, e.g. url = \"https://api.example.com/v1/quote\"",
     .doc = "the endpoint: `https://`, or plain `http://` to `127.0.0.1` or `localhost` only; "
            "no user name or password in it (use `header_env`)"},
    {.path = "price",
     .type = CONFIG_STRING,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     HTTP_AT(price),
     .missing = "missing; give the path to the value in the answer, e.g. price = \"data.0.last\"",
     .doc = "the path to the value in the JSON answer: keys separated by `.`, array positions "
            "as numbers from 0 (`\"data.0.last\"`)"},
    {.path = "time",
     .type = CONFIG_STRING,
     HTTP_AT(time),
     .doc_default = "time of receipt",
     .doc = "the path to the value's time (RFC 3339 / ISO-8601, or Unix seconds); left out, "
            "or not a time in an answer, the bar gets the time the answer arrived. A time "
            "older than the pipeline's newest bar is raised to it"},
    {.path = "every_seconds",
     .type = CONFIG_INT,
     HTTP_AT(every_seconds),
     .def = 60,
     RANGE(1, 86400),
     .unit = "seconds",
     .doc = "how often to ask"},
    {.path = "header_env",
     .type = CONFIG_STRING,
     HTTP_AT(header_env),
     .charset = ENV_NAME_CHARS,
     .charset_doc = "letters, digits and '_'",
     .doc_default = "none",
     .doc = "the NAME of an environment variable holding one header line to send "
            "(`Authorization: Bearer ...`); the value is redacted from every log line"},
    {.path = "timeout_seconds",
     .type = CONFIG_INT,
     HTTP_AT(timeout_seconds),
     .def = 10,
     RANGE(1, 300),
     .unit = "seconds",
     .doc = "how long one attempt may take; a failed attempt is retried within the period"},
};
const int config_http_field_count = (int)(sizeof config_http_fields / sizeof *config_http_fields);

/* Element rows: offsets into one notify_webhook_config. A plain string entry is its url;
 * notify_check (at `check` and when `run` opens the notifier) checks the URL, the template
 * and the header variable. */
#define WEBHOOK_AT(member)                                                                         \
    .offset = offsetof(notify_webhook_config, member),                                             \
    .size = sizeof(((notify_webhook_config *)0)->member)
const config_field config_webhook_fields[] = {
    {.path = "url",
     .type = CONFIG_STRING,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     WEBHOOK_AT(url),
     .missing = "missing; write the endpoint, e.g. url = \"https://hooks.example.com/apex\"",
     .doc = "the endpoint: `https://`, or plain `http://` to `127.0.0.1` or `localhost` only; "
            "no user name or password in it (use `header_env`)"},
    {.path = "template",
     .type = CONFIG_STRING,
     WEBHOOK_AT(body_template),
     .doc_default = "every field",
     .doc = "the JSON body with `{{field}}` placeholders (docs/notifications.md lists the "
            "fields); strings are JSON-escaped, money is a decimal number"},
    {.path = "header_env",
     .type = CONFIG_STRING,
     WEBHOOK_AT(header_env),
     .charset = ENV_NAME_CHARS,
     .charset_doc = "letters, digits and '_'",
     .doc_default = "none",
     .doc = "the NAME of an environment variable holding one header line to send "
            "(`Authorization: Bearer ...`); the value is redacted from every log line"},
};
#define WEBHOOK_FIELD_COUNT ((int)(sizeof config_webhook_fields / sizeof *config_webhook_fields))
const int config_webhook_field_count = WEBHOOK_FIELD_COUNT;

#define MODULE_REF_DECL                                                                            \
    "---A module file and the parameters it gets as ctx.params.\n"                                 \
    "---@class apex.ModuleRef\n"                                                                   \
    "---@field file string Path relative to the pipeline file.\n"                                  \
    "---@field params table? Becomes ctx.params: strings, numbers, booleans and nested tables.\n"

/* One priority's execution settings; the four share a Lua class and the docs show them
 * as one matrix. */
#define EXIT_EXECUTION(P, IDX, PRICE, TIMEOUT, WALKS, AFTER)                                       \
    {.path = "exits.execution." P,                                                                 \
     .type = CONFIG_SECTION,                                                                       \
     .lua_class = "apex.ExitExecution",                                                            \
     .doc = "how exits of this priority are worked"},                                              \
        {.path = "exits.execution." P ".timeout_seconds",                                          \
         .type = CONFIG_INT,                                                                       \
         AT(exits.execution[IDX].timeout_seconds),                                                 \
         .def = (TIMEOUT),                                                                         \
         RANGE(1, 3600),                                                                           \
         .unit = "seconds",                                                                        \
         .doc = "how long one order may work before it is walked or escalated"},                   \
        {.path = "exits.execution." P ".max_walks",                                                \
         .type = CONFIG_INT,                                                                       \
         AT(exits.execution[IDX].max_walks),                                                       \
         .def = (WALKS),                                                                           \
         RANGE(0, 100),                                                                            \
         .doc = "times the limit moves one step toward the market, one per timeout"},              \
        {.path = "exits.execution." P ".price",                                                    \
         .type = CONFIG_ENUM,                                                                      \
         AT(exits.execution[IDX].price),                                                           \
         .def = (PRICE),                                                                           \
         .names = price_strategies,                                                                \
         .doc = "where the first order goes: at the market, or a limit placed aggressively, "      \
                "fairly or conservatively"},                                                       \
    {                                                                                              \
        .path = "exits.execution." P ".market_after_walks", .type = CONFIG_BOOL,                   \
        AT(exits.execution[IDX].market_after_walks), .def = (AFTER),                               \
        .doc = "send a market order once the walks are spent (otherwise a MEDIUM exit escalates "  \
               "to HIGH and a LOW one to MEDIUM)"                                                  \
    }

const config_field config_schema[] = {
    /* --- top level: the order of "known fields here" in messages -------------------- */
    {.path = "name",
     .type = CONFIG_STRING,
     .flags = CONFIG_F_REQUIRED | CONFIG_F_KEY_REQUIRED,
     AT(name),
     .def_string = "pipeline",
     .charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-",
     .charset_doc = "letters, digits, '_', '.' and '-'",
     .missing = "missing; give the pipeline a name, e.g. name = \"ma-trend\"",
     .doc = "names the pipeline in logs, the store and `apex-host status`; unique among the "
            "pipelines started together"},
    {.path = "symbols",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_SYMBOLS,
     .flags = CONFIG_F_REQUIRED,
     AT(symbols),
     COUNT(nsymbols),
     .missing = "no symbols; list at least one, e.g. symbols = {\"AAPL\"}",
     .lua_type = "string[]",
     .doc_type = "list of strings",
     .doc_range = "1 to 23 characters each, no duplicates",
     .doc = "the symbols this pipeline trades. Other symbols in the data only update prices "
            "(`apex.price(\"VIX\")`)"},
    {.path = "data",
     .type = CONFIG_SECTION,
     .flags = CONFIG_F_REQUIRED,
     .lua_class = "apex.DataConfig",
     .doc = "where the bars and the news come from"},
    {.path = "data.files",
     .type = CONFIG_STRING_LIST,
     .flags = CONFIG_F_PATHS | CONFIG_F_MUST_EXIST,
     AT(data.files),
     COUNT(data.nfiles),
     .doc_default = "required unless `live`",
     .doc = "bar CSV files (`timestamp,symbol,open,high,low,close,volume[,bid,ask]`); each must "
            "exist and be readable. Several files are merged in time order. With `live`, "
            "`run` reads them beside the broker's bars (with `follow`, for symbols the broker "
            "does not serve, such as an index); `backtest` replays only them"},
    {.path = "data.news",
     .type = CONFIG_PATH,
     .flags = CONFIG_F_MUST_EXIST,
     AT(data.news_file),
     .doc_default = "none",
     .doc = "news CSV (`timestamp,symbol,impact,headline`, impact `low`, `medium` or `high`, "
            "symbol `*` = market-wide); feeds `apex.news()` and the news instructions"},
    {.path = "data.speed",
     .type = CONFIG_NUMBER,
     AT(data.speed),
     .def_number = 1.0,
     RANGE(0, 1000000),
     .doc = "replay speed of `run` when `--speed` is not given (the first pipeline's); 0 = as "
            "fast as possible. `backtest` always runs as fast as possible"},
    {.path = "data.follow",
     .type = CONFIG_BOOL,
     AT(data.follow),
     .doc = "keep reading rows appended to the files, like `tail -f`; `run` then uses the wall "
            "clock and runs until SIGINT or SIGTERM (files are polled every 200 ms)"},
    {.path = "data.live",
     .type = CONFIG_BOOL,
     AT(data.live),
     .doc = "`run` takes the bars of `symbols` from the broker's market data (Alpaca: history "
            "for the warm-up, then the live stream, with a catch-up after every gap; "
            "docs/brokers.md) and runs until SIGINT or SIGTERM. Bars are `timeframe` long "
            "(default `\"1m\"`). `backtest` replays `files` instead"},
    {.path = "data.warmup_bars",
     .type = CONFIG_INT,
     AT(data.warmup_bars),
     .def = 200,
     RANGE(0, 10000),
     .doc = "live: history bars per symbol fetched at start-up to warm indicators up; they "
            "run `on_bar` but are never traded on"},
    {.path = "data.live_news",
     .type = CONFIG_BOOL,
     AT(data.live_news),
     .def = 1,
     .doc = "live: also the broker's news naming the symbols, for `apex.news()` and the news "
            "instructions"},
    {.path = "data.news_impact",
     .type = CONFIG_ENUM,
     AT(data.news_impact),
     .def = 1,
     .names = news_impacts,
     .doc = "live news carries no impact rating: the impact every live item gets. "
            "`\"medium\"` keeps an instruction about high-impact news from firing on every "
            "headline"},
    {.path = "data.timeframe",
     .type = CONFIG_STRING,
     AT(data.timeframe),
     .doc_default = "detected",
     .example = "\"1d\"",
     .doc = "the bars' interval: a whole number and a unit `s`, `m`, `h` or `d` (`\"1m\"`, "
            "`\"5m\"`, `\"1h\"`, `\"1d\"`). Left out, it is the shortest gap between two bars "
            "of one symbol seen so far. Conditions about the time within a session "
            "(`time_based_urgent` and no entries inside that window) apply only to bars shorter "
            "than `exits.time_urgent_minutes`"},
    {.path = "data.http",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_HTTP,
     .lua_class = "apex.HttpSource",
     AT(data.http),
     COUNT(data.nhttp),
     .elem = config_http_fields,
     .nelem = (int)(sizeof config_http_fields / sizeof *config_http_fields),
     .lua_type = "apex.HttpSource[]",
     .doc_type = "list of sources",
     .doc_default = "none",
     .doc = "`run`: prices of symbols nobody trades (an index such as VIX) polled from HTTP(S) "
            "JSON endpoints, for `apex.price` and the instructions; `run` then uses the wall "
            "clock and runs until SIGINT or SIGTERM (docs/data-sources.md). "
            "`backtest` ignores them and replays `files`"},

    {.path = "broker",
     .type = CONFIG_SECTION,
     .lua_class = "apex.BrokerConfig",
     .doc_default = "paper broker",
     .doc = "the broker the pipeline trades with; the fee and fill settings are the paper "
            "broker's"},
    {.path = "broker.kind",
     .type = CONFIG_ENUM,
     AT(broker.kind),
     .def = BROKER_KIND_PAPER,
     .names = broker_kinds,
     .doc = "`\"paper\"`: the embedded paper broker. `\"alpaca\"`: Alpaca's trading API with "
            "the key and secret from the environment or `credentials_file` (docs/brokers.md); "
            "a backtest of an Alpaca pipeline simulates on the paper broker"},
    {.path = "broker.starting_cash",
     .type = CONFIG_MONEY,
     AT(broker.paper.starting_cash),
     .def = MONEY(100000),
     RANGE(MONEY(1), MONEY(1000000000)),
     .applies = paper_only,
     .doc = "cash of a new paper account"},
    {.path = "broker.fill",
     .type = CONFIG_ENUM,
     AT(broker.paper.fill),
     .def = PAPER_FILL_NEXT_OPEN,
     .names = fill_models,
     .applies = paper_only,
     .doc = "when a market order fills. `\"next_open\"`: at the open of the next bar of its "
            "symbol that arrives after the order was accepted (no look-ahead); `\"close\"`: at "
            "once, at the close of the bar the signal came from. Costs apply on the taker's "
            "side either way (docs/configuration.md, *Fills and costs*)"},
    {.path = "broker.spread_bps",
     .type = CONFIG_MONEY,
     AT(broker.paper.spread_bps),
     .def = MONEY(2),
     RANGE(0, MONEY(1000)),
     .applies = paper_only,
     .doc = "spread in basis points assumed when a bar has no bid/ask; a market order pays half "
            "of it"},
    {.path = "broker.slippage_bps",
     .type = CONFIG_MONEY,
     AT(broker.paper.slippage_bps),
     .def = MONEY(1),
     RANGE(0, MONEY(1000)),
     .applies = paper_only,
     .doc = "basis points charged against the taker on market orders and triggered stops"},
    {.path = "broker.fee_per_share",
     .type = CONFIG_MONEY,
     AT(broker.paper.fee_per_share),
     RANGE(0, MONEY(100)),
     .applies = paper_only,
     .doc = "cash per unit of quantity"},
    {.path = "broker.fee_bps",
     .type = CONFIG_MONEY,
     AT(broker.paper.fee_bps),
     RANGE(0, MONEY(1000)),
     .applies = paper_only,
     .doc = "basis points of notional"},
    {.path = "broker.fee_min",
     .type = CONFIG_MONEY,
     AT(broker.paper.fee_min),
     RANGE(0, MONEY(1000)),
     .applies = paper_only,
     .doc = "minimum fee per fill, when any fee applies; fees are rounded to the nearest cent"},
    {.path = "broker.state",
     .type = CONFIG_PATH,
     AT(broker.paper.state_path),
     .doc = "where the paper account persists in `run`. `\"\"`: beside the store as "
            "`<db>.<pipeline>.paper`. A path keeps it there (`--fresh` does not delete it); "
            "pipelines naming the same path share one account (one process at a time may use "
            "it); `\":memory:\"` keeps nothing. A backtest always trades an account in "
            "memory"},
    {.path = "broker.base_url",
     .type = CONFIG_STRING,
     AT(broker.base_url),
     .doc_default = "the venue's paper URL",
     .doc = "a real broker's trading API. Alpaca: `\"https://paper-api.alpaca.markets\"` "
            "(paper, the default) or `\"https://api.alpaca.markets\"` (live money). `https://` "
            "only; `http://` is accepted for 127.0.0.1 and localhost (a test server). Unused "
            "by the paper broker"},
    {.path = "broker.data_url",
     .type = CONFIG_STRING,
     AT(broker.data_url),
     .doc_default = "the venue's",
     .doc = "a real broker's market data API. Alpaca: `\"https://data.alpaca.markets\"`; "
            "the same scheme rule as `base_url`"},
    {.path = "broker.feed",
     .type = CONFIG_ENUM,
     AT(broker.feed),
     .def = BROKER_FEED_IEX,
     .names = data_feeds,
     .doc = "Alpaca's market data feed: `\"iex\"` (free plans) or `\"sip\"` (every US "
            "exchange; a paid plan)"},
    {.path = "broker.key_env",
     .type = CONFIG_STRING,
     AT(broker.key_env),
     .charset = ENV_NAME_CHARS,
     .charset_doc = "letters, digits and '_'",
     .doc_default = "`\"APCA_API_KEY_ID\"` for Alpaca",
     .doc = "the name of the environment variable (or of the line in `credentials_file`) "
            "holding the API key id, never the key itself"},
    {.path = "broker.secret_env",
     .type = CONFIG_STRING,
     AT(broker.secret_env),
     .charset = ENV_NAME_CHARS,
     .charset_doc = "letters, digits and '_'",
     .doc_default = "`\"APCA_API_SECRET_KEY\"` for Alpaca",
     .doc = "the name of the environment variable (or of the line in `credentials_file`) "
            "holding the API secret"},
    {.path = "broker.credentials_file",
     .type = CONFIG_PATH,
     AT(broker.credentials_file),
     .doc = "a file of `NAME=value` lines holding the key and the secret under the names "
            "above (shell-sourceable; `#` comments). It must not be readable by group or "
            "others (`chmod 600`). `\"\"`: the environment"},

    {.path = "bias",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_SCRIPT,
     AT(bias),
     .lua_type = "string|apex.ModuleRef",
     .lua_decl = MODULE_REF_DECL,
     .doc_type = "string or `{ file, params }`",
     .doc_default = "none",
     .doc = "a bias module; a string is the file with no params"},
    {.path = "strategy",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_SCRIPT,
     .flags = CONFIG_F_REQUIRED,
     AT(strategy),
     .missing = "missing; name a strategy script, e.g. strategy = \"strategies/ma_cross.lua\"",
     .lua_type = "string|apex.ModuleRef",
     .lua_decl = MODULE_REF_DECL,
     .doc_type = "string or `{ file, params }`",
     .doc = "the strategy module"},

    {.path = "risk",
     .type = CONFIG_SECTION,
     .lua_class = "apex.RiskConfig",
     .doc = "sizing and limits (seed 004)"},
    {.path = "risk.capital",
     .type = CONFIG_MONEY,
     .flags = CONFIG_F_ZERO_OK,
     AT(risk.capital),
     RANGE(MONEY(1), MONEY(1000000000)),
     .doc = "capital to size against; 0 = the account's equity"},
    {.path = "risk.max_risk_pct",
     .type = CONFIG_MONEY,
     AT(risk.max_risk_pct),
     .def = PCT(1),
     RANGE(1, ONE),
     .doc = "cash at risk per trade (entry to stop) as a fraction of capital"},
    {.path = "risk.max_position_pct",
     .type = CONFIG_MONEY,
     AT(risk.max_position_pct),
     .def = PCT(5),
     RANGE(1, ONE),
     .doc = "largest position value as a fraction of capital"},
    {.path = "risk.max_positions",
     .type = CONFIG_INT,
     AT(risk.max_positions),
     .def = 10,
     RANGE(1, 100000),
     .doc = "open executions in this pipeline; a signal beyond it is `skipped`"},
    {.path = "risk.daily_loss_limit_pct",
     .type = CONFIG_MONEY,
     AT(risk.daily_loss_limit_pct),
     .def = PCT(3),
     RANGE(1, ONE),
     .doc = "circuit breaker: once the day's loss (realized and unrealized, as a fraction of "
            "the start-of-day equity) reaches it, every position of the pipeline is closed "
            "(CRITICAL, market) and new entries are `skipped` until the next UTC trading day"},
    {.path = "risk.allow_short",
     .type = CONFIG_BOOL,
     AT(risk.allow_short),
     .def = true,
     .doc = "`false` skips `\"sell\"` signals"},
    {.path = "risk.pdt_check",
     .type = CONFIG_BOOL,
     AT(risk.pdt_check),
     .def = true,
     .doc = "pattern-day-trader rule, applied while equity is below 25000"},
    {.path = "risk.pdt_day_trade_limit",
     .type = CONFIG_INT,
     AT(risk.pdt_day_trade_limit),
     .def = 3,
     RANGE(0, 1000),
     .doc = "day trades allowed in 5 business days under the PDT rule"},
    {.path = "risk.max_heat_pct",
     .type = CONFIG_MONEY,
     AT(risk.max_heat_pct),
     .def = PCT(6),
     RANGE(1, ONE),
     .doc = "portfolio heat: the open risk to the stops (qty x |entry - stop| of every open "
            "position and working entry of every pipeline on the same broker account) as a "
            "fraction of the account's equity; a trade that would exceed it is `skipped` "
            "(docs/risk.md)"},
    {.path = "risk.heat_shrink",
     .type = CONFIG_BOOL,
     AT(risk.heat_shrink),
     .def = false,
     .doc = "`true` shrinks a trade that would exceed a heat limit to the whole lots that fit, "
            "instead of skipping it"},
    {.path = "risk.max_cluster_heat_pct",
     .type = CONFIG_MONEY,
     .flags = CONFIG_F_ZERO_OK,
     AT(risk.max_cluster_heat_pct),
     .def = 0,
     RANGE(0, ONE),
     .doc = "the open risk of a cluster of correlated symbols (the candidate and every symbol "
            "with open risk whose returns correlate with it above `risk.correlation_threshold`) "
            "as a fraction of equity; 0 = no cluster limit"},
    {.path = "risk.correlation_threshold",
     .type = CONFIG_MONEY,
     AT(risk.correlation_threshold),
     .def = PCT(70),
     RANGE(1, ONE),
     .doc = "Pearson's r of simple returns of closes, aligned by bar time, above which two "
            "symbols count as one cluster"},
    {.path = "risk.correlation_window",
     .type = CONFIG_INT,
     AT(risk.correlation_window),
     .def = 60,
     RANGE(4, 10000),
     .doc = "bars of returns the correlation is computed over; a pair with fewer than half "
            "of them in common is not correlated"},
    {.path = "risk.max_drawdown_pct",
     .type = CONFIG_MONEY,
     .flags = CONFIG_F_ZERO_OK,
     AT(risk.max_drawdown_pct),
     .def = 0,
     RANGE(0, ONE),
     .doc = "drawdown breaker: once the pipeline's equity falls this fraction below its peak, "
            "new entries are `skipped` until `apex-host resume` or "
            "`risk.drawdown_resume_hours`; 0 = off"},
    {.path = "risk.drawdown_close_all",
     .type = CONFIG_BOOL,
     AT(risk.drawdown_close_all),
     .def = false,
     .doc = "`true`: the drawdown breaker also closes every position of the pipeline "
            "(CRITICAL, market)"},
    {.path = "risk.drawdown_resume_hours",
     .type = CONFIG_INT,
     .flags = CONFIG_F_ZERO_OK,
     AT(risk.drawdown_resume_hours),
     .def = 0,
     RANGE(0, 100000),
     .doc = "entries resume this many hours after the drawdown breaker tripped; 0 = only by "
            "hand (`apex-host resume`)"},

    {.path = "exits",
     .type = CONFIG_SECTION,
     .lua_class = "apex.ExitsConfig",
     .doc = "the prioritised exit engine (seed 003); every field is in effect"},
    {.path = "exits.stop_loss_pct",
     .type = CONFIG_MONEY,
     AT(exits.stop_loss_pct),
     .def = PCT(4),
     RANGE(1, ONE - 1),
     .doc = "the stop's distance from the entry when a signal has no `stop_loss`"},
    {.path = "exits.take_profit_pct",
     .type = CONFIG_MONEY,
     AT(exits.take_profit_pct),
     .def = PCT(10),
     RANGE(1, MONEY(100)),
     .doc = "the target's distance from the entry when a signal has no `take_profit`"},
    {.path = "exits.trailing_stop",
     .type = CONFIG_SECTION,
     .lua_class = "apex.TrailingStopConfig",
     .doc = "a stop that follows the peak once the position is in profit (HIGH)"},
    {.path = "exits.trailing_stop.enabled",
     .type = CONFIG_BOOL,
     AT(exits.trailing_enabled),
     .def = true,
     .doc = "use the trailing stop"},
    {.path = "exits.trailing_stop.activation_pct",
     .type = CONFIG_MONEY,
     AT(exits.trailing_activation_pct),
     .def = PCT(5),
     RANGE(0, MONEY(100)),
     .doc = "profit that arms the trailing stop"},
    {.path = "exits.trailing_stop.distance_pct",
     .type = CONFIG_MONEY,
     AT(exits.trailing_distance_pct),
     .def = PCT(3),
     RANGE(1, ONE - 1),
     .doc = "with `mode = \"percent\"`: distance from the peak; the stop never loosens"},
    {.path = "exits.trailing_stop.mode",
     .type = CONFIG_ENUM,
     AT(exits.trailing_mode),
     .def = TRAILING_PERCENT,
     .names = trailing_modes,
     .doc =
         "`\"percent\"`: `distance_pct` behind the peak. `\"atr\"`: `multiplier` x ATR(`period`) "
         "behind the peak. `\"chandelier\"`: `multiplier` x ATR(`period`) behind the highest "
         "high of the last `period` bars (lowest low for a short). ATR is Wilder's, of the "
         "symbol's bars; the stop never loosens"},
    {.path = "exits.trailing_stop.period",
     .type = CONFIG_INT,
     AT(exits.trailing_period),
     .def = 22,
     RANGE(1, 1000),
     .unit = "bars",
     .doc = "with `\"atr\"` and `\"chandelier\"`: the ATR's period and the chandelier's window; "
            "the stop arms only once the symbol has this many bars"},
    {.path = "exits.trailing_stop.multiplier",
     .type = CONFIG_MONEY,
     AT(exits.trailing_multiplier),
     .def = MONEY(3),
     RANGE(1, MONEY(100)),
     .doc = "with `\"atr\"` and `\"chandelier\"`: how many ATRs the stop sits behind"},
    {.path = "exits.partial_exits",
     .type = CONFIG_SECTION,
     .lua_class = "apex.PartialExitsConfig",
     .doc = "sell parts of the position at profit thresholds (MEDIUM)"},
    {.path = "exits.partial_exits.enabled",
     .type = CONFIG_BOOL,
     AT(exits.partial_enabled),
     .def = true,
     .doc = "use the partial exit stages"},
    {.path = "exits.partial_exits.stages",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_STAGES,
     .lua_class = "apex.PartialStage",
     AT(exits.stages),
     .count_offset = offsetof(pipeline_config, exits.nstages),
     .max_count = CONFIG_MAX_PARTIAL_STAGES,
     .set_default = default_stages,
     .elem = config_stage_fields,
     .nelem = (int)(sizeof config_stage_fields / sizeof *config_stage_fields),
     .lua_type = "apex.PartialStage[]",
     .doc_type = "list of stages",
     .doc_default = "50% at +15%, 25% at +25%",
     .doc_range = "at most 8",
     .doc = "listing `stages` replaces the default stages; a stage is spent when it triggers "
            "and never fires twice"},
    {.path = "exits.liquidity",
     .type = CONFIG_SECTION,
     .lua_class = "apex.LiquidityConfig",
     .doc = "when the market for the symbol has dried up (HIGH `liquidity_dried_up`)"},
    {.path = "exits.liquidity.max_spread",
     .type = CONFIG_MONEY,
     AT(exits.liquidity_max_spread),
     .def = 0,
     RANGE(0, MONEY(1000000)),
     .doc_default = "0 (off)",
     .doc = "a spread above this fires; in price units. Only quotes from the data or the venue "
            "count: the spread the paper broker adds to bars without bid/ask never fires"},
    {.path = "exits.liquidity.max_spread_pct",
     .type = CONFIG_MONEY,
     AT(exits.liquidity_max_spread_pct),
     .def = PCT(1),
     RANGE(0, ONE),
     .doc = "a spread above this fraction of the mid price fires (0.01 = 1%: 5 cents on a $5 "
            "stock, $3 on a $300 one); 0 = off. The tighter of the two limits applies"},
    {.path = "exits.liquidity.min_volume",
     .type = CONFIG_MONEY,
     AT(exits.liquidity_min_volume),
     .def = MONEY(50),
     RANGE(0, MONEY(1000000000)),
     .doc = "a bar volume below this fires"},
    {.path = "exits.early_exit_edge",
     .type = CONFIG_MONEY,
     AT(exits.early_exit_edge),
     .def = PCT(2),
     .doc = "LOW `early_exit` fires when 0 <= the strategy's `edge` < this (`edge` < 0 fires "
            "`edge_disappeared`)"},
    {.path = "exits.time_urgent_minutes",
     .type = CONFIG_INT,
     AT(exits.time_urgent_minutes),
     .def = 5,
     RANGE(0, 24 * 60),
     .unit = "minutes",
     .doc = "HIGH `time_based_urgent` fires this long before `session_close`"},
    {.path = "exits.session_close",
     .type = CONFIG_HHMM,
     AT(exits.session_close_minute_utc),
     .def = 21 * 60,
     RANGE(0, 24 * 60 - 1),
     .example = "\"21:00\"",
     .doc = "the session's close in UTC (21:00 is 16:00 New York in winter; use \"20:00\" for "
            "US summer dates in file data). In `run` on a venue with a calendar (Alpaca) the "
            "day's real close from the venue replaces it (daylight saving and early closes "
            "included); this is the fallback when the calendar cannot be read"},
    {.path = "exits.rebalance_min_improvement",
     .type = CONFIG_MONEY,
     AT(exits.rebalance_min_improvement),
     .def = PCT(10),
     .doc = "LOW `rebalance`, at `risk.max_positions`: the best free symbol's `opportunity` must "
            "beat the position's by at least this"},
    {.path = "exits.strategy_exit_priority",
     .type = CONFIG_ENUM,
     AT(exits.strategy_exit_priority),
     .def = EXIT_PRIORITY_CRITICAL,
     .names = exit_priorities,
     .doc = "the priority of a close the strategy returns from `on_bar` (`{ side = \"close\" }`, "
            "exit `strategy_exit`): `exits.execution.<PRIORITY>` says how it is worked (CRITICAL: "
            "a market order) and whether it may take over an exit already working"},
    {.path = "exits.execution",
     .type = CONFIG_SECTION,
     .flags = CONFIG_F_BY_KEY,
     .lua_class = "apex.ExitExecutionByPriority",
     .doc_type = "table per priority",
     .doc_default = "see below",
     .doc = "how exits are worked, one table per priority"},
    EXIT_EXECUTION("CRITICAL", EXIT_PRIORITY_CRITICAL, PRICE_MARKET, 5, 0, true),
    EXIT_EXECUTION("HIGH", EXIT_PRIORITY_HIGH, PRICE_AGGRESSIVE, 10, 2, true),
    EXIT_EXECUTION("MEDIUM", EXIT_PRIORITY_MEDIUM, PRICE_FAIR, 30, 5, false),
    EXIT_EXECUTION("LOW", EXIT_PRIORITY_LOW, PRICE_CONSERVATIVE, 60, 10, false),

    {.path = "monitoring",
     .type = CONFIG_SECTION,
     .lua_class = "apex.MonitoringConfig",
     .doc = "how open positions are watched"},
    {.path = "monitoring.normal_frequency",
     .type = CONFIG_INT,
     AT(monitoring.normal_frequency_s),
     .def = 30,
     RANGE(1, 86400),
     .unit = "seconds",
     .doc = "between checks of an open position"},
    {.path = "monitoring.urgent_frequency",
     .type = CONFIG_INT,
     AT(monitoring.urgent_frequency_s),
     .def = 5,
     RANGE(1, 86400),
     .unit = "seconds",
     .doc = "between checks while the price is near a level; at most `normal_frequency`"},
    {.path = "monitoring.urgent_conditions",
     .type = CONFIG_SECTION,
     .lua_class = "apex.UrgentConditions",
     .doc = "how near a level makes checks urgent"},
    {.path = "monitoring.urgent_conditions.near_stop_loss_pct",
     .type = CONFIG_MONEY,
     AT(monitoring.near_stop_loss_pct),
     .def = PCT(2),
     RANGE(0, ONE),
     .doc = "distance to the stop, as a fraction of the price"},
    {.path = "monitoring.urgent_conditions.near_profit_target_pct",
     .type = CONFIG_MONEY,
     AT(monitoring.near_profit_target_pct),
     .def = PCT(2),
     RANGE(0, ONE),
     .doc = "distance to the target"},
    {.path = "monitoring.urgent_conditions.near_trailing_stop_pct",
     .type = CONFIG_MONEY,
     AT(monitoring.near_trailing_stop_pct),
     .def = PCT(2),
     RANGE(0, ONE),
     .doc = "distance to the trailing stop"},
    {.path = "monitoring.urgent_conditions.near_distance_fraction",
     .type = CONFIG_MONEY,
     AT(monitoring.near_distance_fraction),
     .def = PCT(25),
     RANGE(0, ONE),
     .doc = "and nearer than this part of the level's own distance: from the entry for the "
            "stop and the target, from the peak for the trailing stop. An intraday stop 0.5% "
            "away is urgent in its last 0.125%, not all the time; 1 keeps only the `_pct` "
            "rules"},
    {.path = "monitoring.price_cache_ttl_seconds",
     .type = CONFIG_INT,
     AT(monitoring.price_cache_ttl_s),
     .def = 10,
     RANGE(0, 3600),
     .unit = "seconds",
     .doc = "how long a broker price is reused"},
    {.path = "monitoring.max_api_calls_per_minute",
     .type = CONFIG_INT,
     AT(monitoring.max_api_calls_per_minute),
     .def = 60,
     RANGE(1, 100000),
     .doc = "sliding-window limit on every broker call of the pipeline, the paper broker "
            "included (backtests obey it in simulated time: raise it for backtests with many "
            "symbols). Pipelines sharing one broker account (the same Alpaca account, or the "
            "same paper broker.state) share one limiter: the smallest of their limits, for "
            "all of them together, with a warning (log and a rate_limit event) when their "
            "values differ"},
    {.path = "monitoring.retry_backoff",
     .type = CONFIG_INT_LIST,
     AT(monitoring.retry_backoff_s),
     COUNT(monitoring.nretry_backoff),
     .max_count = CONFIG_MAX_BACKOFF_STEPS,
     .def_list = default_backoff,
     .def_count = (int)(sizeof default_backoff / sizeof *default_backoff),
     RANGE(1, 86400),
     .unit = "seconds",
     .doc =
         "delay after each consecutive broker failure; the last step repeats. When the retry "
         "after the last step fails too, the execution is flagged (its reason starts "
         "`BROKER OUTAGE, flagged`, a `broker_outage` event, an OUTAGE line) and still monitored"},
    {.path = "monitoring.persist_interval",
     .type = CONFIG_INT,
     AT(monitoring.persist_interval_s),
     .def = 60,
     RANGE(1, 86400),
     .unit = "seconds",
     .doc = "unrealized P&L is written to the store on a change of state and at most this often "
            "otherwise (live runs only; a backtest writes on changes of state)"},
    {.path = "monitoring.reconcile_seconds",
     .type = CONFIG_INT,
     AT(monitoring.reconcile_s),
     .def = 300,
     RANGE(0, 86400),
     .unit = "seconds",
     .doc = "how often the broker is asked, at ROUTINE priority, for every non-final order of "
            "the active executions (a fill the stream and polling both missed is recorded) and "
            "for its positions (one closed by hand completes its execution as "
            "`closed_at_broker`; one no execution knows is reported as `unknown_position` and "
            "never traded). 0 = at start-up only. A backtest reconciles positions only, on the "
            "first check after each period"},

    {.path = "instructions",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_INSTRUCTIONS,
     AT(instructions),
     COUNT(ninstructions),
     .lua_type = "(string|{ file: string })[]",
     .doc_type = "list",
     .doc_default = "none",
     .doc = "emergency exits, checked at every monitoring pass: sentences "
            "(`\"close if VIX > 40\"`) or `{ file = \"rule.lua\" }`; see `instructions/README.md`"},

    {.path = "notifications",
     .type = CONFIG_SECTION,
     .lua_class = "apex.NotificationsConfig",
     .doc_default = "none",
     .doc = "where to report what the pipeline does (`run` only; a backtest never sends): "
            "Telegram and outgoing webhooks, queued in the store and delivered without "
            "blocking; see docs/notifications.md. Secrets come from the environment or a "
            "secrets file, never this file"},
    {.path = "notifications.telegram",
     .type = CONFIG_SECTION,
     .lua_class = "apex.TelegramConfig",
     .doc = "a Telegram bot writing to one or more chats"},
    {.path = "notifications.telegram.token_env",
     .type = CONFIG_STRING,
     AT(notifications.telegram_token_env),
     .charset = ENV_NAME_CHARS,
     .charset_doc = "letters, digits and '_'",
     .doc_default = "none",
     .doc = "the name of the environment variable (or of the line in `token_file`) holding the "
            "bot token, never the token; `run` stops with an error naming it when it is unset"},
    {.path = "notifications.telegram.token_file",
     .type = CONFIG_PATH,
     AT(notifications.telegram_token_file),
     .doc = "a file of `NAME=value` lines holding the token under `token_env`'s name "
            "(shell-sourceable; `#` comments), readable by its owner only (`chmod 600`). `\"\"`: "
            "the environment"},
    {.path = "notifications.telegram.chat_id",
     .type = CONFIG_STRING_LIST,
     .flags = CONFIG_F_INTEGER_OK,
     AT(notifications.telegram_chat_ids),
     COUNT(notifications.ntelegram_chat_ids),
     .lua_type = "string|integer|(string|integer)[]",
     .doc_type = "chat id or list",
     .doc_default = "none",
     .doc = "the chat (or chats) to write to: a numeric id (`123456789`, a group's "
            "`-1001234567890`) or `\"@channelname\"`; every chat gets every message"},
    {.path = "notifications.telegram.api_url",
     .type = CONFIG_STRING,
     AT(notifications.telegram_api_url),
     .doc_default = "`\"https://api.telegram.org\"`",
     .doc = "the Bot API's address: `https://`, or plain `http://` to `127.0.0.1` only (a test "
            "server)"},
    {.path = "notifications.webhooks",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_WEBHOOKS,
     AT(notifications.webhooks),
     COUNT(notifications.nwebhooks),
     .elem = config_webhook_fields,
     .nelem = WEBHOOK_FIELD_COUNT,
     .lua_class = "apex.NotifyWebhook",
     .lua_type = "(string|apex.NotifyWebhook)[]",
     .doc_type = "list",
     .doc_default = "none",
     .doc = "URLs to post each notification to as JSON, or `{ url, template, header_env }` "
            "(see *notifications.webhooks* below)"},
    {.path = "notifications.events",
     .type = CONFIG_SECTION,
     .lua_class = "apex.NotifyEvents",
     .doc = "which events are sent: `true` or `false` per kind"},
    {.path = "notifications.events.entry",
     .type = CONFIG_BOOL,
     AT(notifications.on_entry),
     .def = 1,
     .doc = "an entry order accepted: symbol, side, quantity, price, stop and target"},
    {.path = "notifications.events.fill",
     .type = CONFIG_BOOL,
     AT(notifications.on_fill),
     .def = 1,
     .doc = "a fill: side, quantity, price, fee, the order's role"},
    {.path = "notifications.events.exit",
     .type = CONFIG_BOOL,
     AT(notifications.on_exit),
     .def = 1,
     .doc = "an execution closed: its realized P&L, the reason and the exit's priority"},
    {.path = "notifications.events.skip",
     .type = CONFIG_BOOL,
     AT(notifications.on_skip),
     .def = 0,
     .doc = "a signal skipped, with the reason (off by default: they can be many)"},
    {.path = "notifications.events.error",
     .type = CONFIG_BOOL,
     AT(notifications.on_error),
     .def = 1,
     .doc = "an execution failed (a script error, a rejected order), an exit failed, a flood of "
            "script failures was summarised, or a durable write failed"},
    {.path = "notifications.events.circuit_breaker",
     .type = CONFIG_BOOL,
     AT(notifications.on_circuit_breaker),
     .def = 1,
     .doc = "the daily-loss circuit breaker tripped"},
    {.path = "notifications.events.instruction",
     .type = CONFIG_BOOL,
     AT(notifications.on_instruction),
     .def = 1,
     .doc = "an instruction (emergency rule) fired an exit"},
    {.path = "notifications.events.reload_failed",
     .type = CONFIG_BOOL,
     AT(notifications.on_reload_failed),
     .def = 1,
     .doc = "a hot reload failed (the old code keeps running)"},
    {.path = "notifications.events.broker_outage",
     .type = CONFIG_BOOL,
     AT(notifications.on_broker_outage),
     .def = 1,
     .doc = "the broker failed a position's checks through every retry"},
    {.path = "notifications.rate_limit_per_minute",
     .type = CONFIG_INT,
     AT(notifications.rate_limit_per_minute),
     .def = 10,
     RANGE(1, 600),
     .doc = "messages per channel (a chat, a webhook) in any 60 seconds; what does not fit is "
            "folded into one summary message (\"37 more notifications: 30 error, 7 fill\")"},
    {.path = "notifications.max_attempts",
     .type = CONFIG_INT,
     AT(notifications.max_attempts),
     .def = 8,
     RANGE(1, 100),
     .doc = "tries per message and channel, with backoff (2 s doubling to 5 min, jittered), "
            "before it is marked failed with the reason"},

    {.path = "execution",
     .type = CONFIG_SECTION,
     .lua_class = "apex.ExecutionConfig",
     .doc = "how entries are sent"},
    {.path = "execution.tool",
     .type = CONFIG_ENUM,
     AT(execution.tool),
     .def = EXEC_TOOL_BROKER,
     .names = exec_tools,
     .doc = "`\"broker\"`: orders go to the broker and the position is monitored until it "
            "closes. `\"webhook\"`: the signal is posted to `webhook_url` and the execution "
            "completes when the receiver answers 2xx, with no order and no monitoring "
            "(docs/configuration.md, *The webhook tool*)"},
    {.path = "execution.entry",
     .type = CONFIG_ENUM,
     AT(execution.entry),
     .def = ENTRY_MARKET,
     .names = entry_types,
     .doc = "`\"limit\"` places the entry at the signal's `entry`, or at the bar's close when "
            "the signal has none"},
    {.path = "execution.webhook_url",
     .type = CONFIG_STRING,
     AT(execution.webhook_url),
     .doc = "required with `tool = \"webhook\"`: an `http://` or `https://` URL. Logs and "
            "events show only its scheme and host, since such URLs often carry a token"},
    {.path = "execution.webhook_template",
     .type = CONFIG_STRING,
     AT(execution.webhook_template),
     .doc_default = "every field as JSON",
     .doc = "the body posted, with `{{field}}` placeholders: `pipeline`, `execution_id`, "
            "`symbol`, `side`, `qty`, `entry`, `stop_loss`, `take_profit`, `reason`, `time`. "
            "Text fields are inserted JSON-escaped without quotes, numbers as exact decimals"},
    {.path = "execution.webhook_secret_env",
     .type = CONFIG_STRING,
     AT(execution.webhook_secret_env),
     .charset = ENV_NAME_CHARS,
     .charset_doc = "letters, digits and '_'",
     .doc = "the environment variable holding the HMAC-SHA256 key; when set, each post "
            "carries `X-Apex-Signature: sha256=<hex of HMAC(key, body)>`. `\"\"`: unsigned"},
    {.path = "execution.webhook_timeout_seconds",
     .type = CONFIG_INT,
     AT(execution.webhook_timeout_s),
     .def = 10,
     RANGE(1, 300),
     .unit = "seconds",
     .doc = "how long one attempt may take, connection included"},
    {.path = "execution.webhook_retries",
     .type = CONFIG_INT,
     AT(execution.webhook_retries),
     .def = 3,
     RANGE(0, 10),
     .doc = "attempts after the first when the receiver fails (a timeout, a reset, 429 or "
            "5xx), with exponential backoff; every attempt carries the same "
            "`Idempotency-Key`, so a receiver can drop a repeat"},
    {.path = "execution.mode",
     .type = CONFIG_ENUM,
     AT(execution.mode),
     .def = EXEC_MODE_AUTO,
     .names = exec_modes,
     .doc = "`\"auto\"`: a signal that passes the risk stage is sent at once. `\"approval\"`: it "
            "waits for a trader's answer (Telegram buttons, `apex-host approve ID`, `apex-host "
            "reject ID`) for `approval_timeout` seconds; no answer skips it. `backtest` refuses "
            "it, as nobody can answer on a simulated clock (docs/approval.md)"},
    {.path = "execution.approval_timeout",
     .type = CONFIG_INT,
     AT(execution.approval_timeout_s),
     .def = 300,
     RANGE(1, 86400),
     .unit = "seconds",
     .doc = "how long an approval request waits on the run's clock (wall time for live "
            "data); then the execution is `skipped` as expired"},
    {.path = "execution.approval_user_ids",
     .type = CONFIG_STRING_LIST,
     AT(execution.approval_user_ids),
     COUNT(execution.napproval_user_ids),
     .doc_default = "anyone in the chat",
     .doc = "the Telegram user ids (as strings of digits) whose button presses answer an "
            "approval request; a press from anyone else is answered \"not allowed\" and "
            "recorded as an `approval_denied` event"},
    {.path = "execution.approval_tolerance_pct",
     .type = CONFIG_MONEY,
     AT(execution.approval_tolerance),
     .def = PCT(1),
     RANGE(0, ONE),
     .doc = "at approval the last price is compared with the entry the request showed: a "
            "move of more than this fraction (either way) refuses the signal as stale"},

    {.path = "report",
     .type = CONFIG_SECTION,
     .lua_class = "apex.ReportConfig",
     .doc = "how results are measured: the summary, `backtest --report` and the JSON API "
            "(docs/analytics.md)"},
    {.path = "report.risk_free_rate",
     .type = CONFIG_MONEY,
     AT(report.risk_free_rate),
     .def = 0,
     RANGE(0, PCT(50)),
     .doc = "annual risk-free rate as a fraction (`0.04` = 4%), the hurdle of the Sharpe and "
            "Sortino ratios, compounded down to one period"},
    {.path = "report.periods_per_year",
     .type = CONFIG_INT,
     AT(report.periods_per_year),
     .def = 252,
     RANGE(1, 366),
     .doc = "periods of the daily return series in a year, which annualise the return, "
            "volatility, Sharpe and Sortino: 252 trading days; 365 for a market open every "
            "day"},

    {.path = "instruments",
     .type = CONFIG_CUSTOM,
     .hook = CONFIG_HOOK_INSTRUMENTS,
     .lua_class = "apex.InstrumentRules",
     AT(instruments),
     COUNT(ninstruments),
     .elem = config_instrument_fields,
     .nelem = (int)(sizeof config_instrument_fields / sizeof *config_instrument_fields),
     .lua_type = "table<string, apex.InstrumentRules>",
     .doc_type = "table",
     .doc_default = "tick 0.01, lot 1",
     .doc = "tick and lot per symbol, `SYMBOL = { tick, lot }`; `default = { ... }` applies to "
            "every symbol not listed"},

    {.path = "random_seed",
     .type = CONFIG_INT64,
     AT(random_seed),
     .set_offset = offsetof(pipeline_config, random_seed_given),
     .doc_default = "from `name` in backtests",
     .doc = "seeds `math.random` in this pipeline's scripts, so a strategy that draws random "
            "numbers makes the same decisions run after run. Backtests always seed: with this, "
            "else with a hash of `name`; `run` seeds only when it is given (see "
            "docs/lua-api.md)"},
    {.path = "history",
     .type = CONFIG_INT,
     AT(history),
     .def = 0,
     RANGE(0, 100000),
     .unit = "bars",
     .doc = "how many bars of each traded symbol the host keeps for `ctx.history(n)` (a ring "
            "per symbol, 72 bytes a bar); `ctx.history` asks for at most this many. 0: none"},
};
const int config_schema_count = (int)(sizeof config_schema / sizeof *config_schema);

/* The loader and validate write enums through int and strings through their size. */
_Static_assert(sizeof(broker_kind) == sizeof(int), "enums are read and written as int");
_Static_assert(sizeof(broker_feed) == sizeof(int), "enums are read and written as int");
_Static_assert(sizeof(paper_fill_model) == sizeof(int), "enums are read and written as int");
_Static_assert(sizeof(price_strategy) == sizeof(int), "enums are read and written as int");
_Static_assert(sizeof(exec_tool) == sizeof(int), "enums are read and written as int");
_Static_assert(sizeof(entry_order_type) == sizeof(int), "enums are read and written as int");
/* config_validate tells an absent script by the first byte of its script_ref. */
_Static_assert(offsetof(script_ref, file) == 0, "script_ref starts with its file");

/* --- lookups ------------------------------------------------------------------------- */

const config_field *config_schema_find(const char *path)
{
    for (int i = 0; i < config_schema_count; i++)
        if (strcmp(config_schema[i].path, path) == 0)
            return &config_schema[i];
    return NULL;
}

const char *config_field_name(const config_field *f)
{
    const char *dot = strrchr(f->path, '.');
    return dot ? dot + 1 : f->path;
}

bool config_field_is_child(const config_field *f, const char *parent)
{
    size_t n = strlen(parent);
    const char *rest = f->path;
    if (n) {
        if (strncmp(f->path, parent, n) != 0 || f->path[n] != '.')
            return false;
        rest = f->path + n + 1;
    }
    return *rest && !strchr(rest, '.');
}

void *config_field_ptr(void *base, const config_field *f)
{
    return (char *)base + f->offset;
}

const void *config_field_cptr(const void *base, const config_field *f)
{
    return (const char *)base + f->offset;
}

/* Levenshtein distance, for "did you mean"; names longer than 63 bytes are never close. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

const char *config_schema_suggest(const config_field *rows, int n, const char *parent,
                                  const char *name)
{
    const char *best = NULL;
    size_t best_d = 99;
    for (int i = 0; i < n; i++) {
        if (!config_field_is_child(&rows[i], parent))
            continue;
        const char *known = config_field_name(&rows[i]);
        /* a prefix ("max_risk" for "max_risk_pct") is as strong a hint as one typo */
        size_t d = strncmp(known, name, strlen(name)) == 0 ? 1 : edit_distance(known, name);
        if (d < best_d) {
            best_d = d;
            best = known;
        }
    }
    return best_d <= 3 ? best : NULL;
}

void config_schema_list(const config_field *rows, int n, const char *parent, char *out, size_t len)
{
    if (len == 0)
        return;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (!config_field_is_child(&rows[i], parent))
            continue;
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", used ? ", " : "", config_field_name(&rows[i]));
    }
}

/* --- defaults ------------------------------------------------------------------------ */

/* Writes v (d for NUMBER) into f's member at p; rows of other types are left alone. */
static void put_scalar(const config_field *f, void *p, int64_t v, double d)
{
    switch (f->type) {
    case CONFIG_BOOL:
        *(bool *)p = v != 0;
        break;
    case CONFIG_INT:
    case CONFIG_HHMM:
    case CONFIG_ENUM:
        *(int *)p = (int)v;
        break;
    case CONFIG_INT64:
    case CONFIG_MONEY:
    case CONFIG_PERCENT:
        *(int64_t *)p = v;
        break;
    case CONFIG_NUMBER:
        *(double *)p = d;
        break;
    default:
        break;
    }
}

void config_schema_defaults(pipeline_config *cfg)
{
    for (int i = 0; i < config_schema_count; i++) {
        const config_field *f = &config_schema[i];
        void *p = config_field_ptr(cfg, f);
        switch (f->type) {
        case CONFIG_STRING:
        case CONFIG_PATH:
            snprintf(p, f->size, "%s", f->def_string ? f->def_string : "");
            break;
        case CONFIG_INT_LIST:
            memcpy(p, f->def_list, (size_t)f->def_count * sizeof(int));
            *(int *)((char *)cfg + f->count_offset) = f->def_count;
            break;
        case CONFIG_CUSTOM:
            if (f->set_default)
                f->set_default(cfg);
            break;
        case CONFIG_SECTION:
        case CONFIG_STRING_LIST:
            break; /* nothing, or an empty list: config_defaults zeroed it */
        default:
            put_scalar(f, p, f->def, f->def_number);
            break;
        }
    }
}

void config_schema_settle(const config_field *f, void *base)
{
    int64_t v = f->def;
    double d = f->def_number;
    if (f->ranged && !(v >= f->lo && v <= f->hi) && !(v == 0 && (f->flags & CONFIG_F_ZERO_OK)))
        v = f->lo;
    if (f->ranged && !(d >= (double)f->lo && d <= (double)f->hi))
        d = (double)f->lo;
    put_scalar(f, config_field_ptr(base, f), v, d);
}

/* --- ranges -------------------------------------------------------------------------- */

/* The largest whole number money_from_double accepts, for the rows without a range. */
#define MONEY_WHOLE_MAX "92233720367"

void config_schema_range_text(const config_field *f, char *out, size_t len)
{
    const char *zero = (f->flags & CONFIG_F_ZERO_OK) ? "0, or " : "";
    char lo[40], hi[40];
    switch (f->type) {
    case CONFIG_INT:
    case CONFIG_INT_LIST:
    case CONFIG_INT64: {
        bool wide = f->type == CONFIG_INT64;
        int64_t l = f->ranged ? f->lo : wide ? INT64_MIN : -(int64_t)INT_MAX;
        int64_t h = f->ranged ? f->hi : wide ? INT64_MAX : INT_MAX;
        snprintf(out, len, "%sa whole number%s%s from %" PRId64 " to %" PRId64, zero,
                 f->unit ? " of " : "", f->unit ? f->unit : "", l, h);
        return;
    }
    case CONFIG_NUMBER:
        if (f->ranged)
            snprintf(out, len, "%sa number from %" PRId64 " to %" PRId64, zero, f->lo, f->hi);
        else
            snprintf(out, len, "a finite number");
        return;
    case CONFIG_MONEY:
        if (f->ranged)
            snprintf(out, len, "%sa value from %s to %s", zero,
                     money_format_trim(f->lo, 0, lo, sizeof lo),
                     money_format_trim(f->hi, 0, hi, sizeof hi));
        else
            snprintf(out, len, "a value from -" MONEY_WHOLE_MAX " to " MONEY_WHOLE_MAX);
        return;
    case CONFIG_PERCENT:
        /* said in the file's unit, a percent, not the fraction it is stored as */
        snprintf(out, len, "a percent above 0 and at most %s",
                 money_format_trim(f->ranged ? f->hi * 100 : MONEY(100), 0, hi, sizeof hi));
        return;
    case CONFIG_HHMM:
        snprintf(out, len, "\"HH:MM\" in UTC from \"%02d:%02d\" to \"%02d:%02d\"", (int)f->lo / 60,
                 (int)f->lo % 60, (int)f->hi / 60, (int)f->hi % 60);
        return;
    default:
        snprintf(out, len, "a value the field accepts");
        return;
    }
}

/* "<file>: <field>: <value> is out of range; use <range>". Returns 1 (one problem). */
static int out_of_range(const config_field *f, const char *file, const char *field,
                        const char *value, diag_list *d)
{
    char range[160];
    config_schema_range_text(f, range, sizeof range);
    diag_add(d, "%s: %s: %s is out of range; use %s", file, field, value, range);
    return 1;
}

static bool in_range(const config_field *f, int64_t v)
{
    return (v == 0 && (f->flags & CONFIG_F_ZERO_OK)) || (v >= f->lo && v <= f->hi);
}

int config_schema_check(const config_field *f, const void *base, const pipeline_config *cfg,
                        const char *file, const char *field, diag_list *d)
{
    if (!f->ranged || (f->applies && cfg && !f->applies(cfg)))
        return 0;
    const void *p = config_field_cptr(base, f);
    char vb[40];
    switch (f->type) {
    case CONFIG_INT:
    case CONFIG_HHMM: {
        int v = *(const int *)p;
        if (in_range(f, v))
            return 0;
        if (f->type == CONFIG_HHMM)
            snprintf(vb, sizeof vb, "minute %d of the day", v);
        else
            snprintf(vb, sizeof vb, "%d", v);
        return out_of_range(f, file, field, vb, d);
    }
    case CONFIG_INT64: {
        int64_t v = *(const int64_t *)p;
        if (in_range(f, v))
            return 0;
        snprintf(vb, sizeof vb, "%" PRId64, v);
        return out_of_range(f, file, field, vb, d);
    }
    case CONFIG_NUMBER: {
        double v = *(const double *)p;
        if (v >= (double)f->lo && v <= (double)f->hi)
            return 0;
        snprintf(vb, sizeof vb, "%.14g", v);
        return out_of_range(f, file, field, vb, d);
    }
    case CONFIG_MONEY: {
        money_t v = *(const money_t *)p;
        if (in_range(f, v))
            return 0;
        return out_of_range(f, file, field, money_format_trim(v, 0, vb, sizeof vb), d);
    }
    case CONFIG_PERCENT: {
        money_t v = *(const money_t *)p;
        if (v >= f->lo && v <= f->hi)
            return 0;
        money_t pct = v > INT64_MAX / 100 || v < INT64_MIN / 100 ? v : v * 100;
        return out_of_range(f, file, field, money_format_trim(pct, 0, vb, sizeof vb), d);
    }
    case CONFIG_INT_LIST: {
        const int *v = p;
        int n = *(const int *)((const char *)base + f->count_offset), problems = 0;
        for (int i = 0; i < n && i < f->max_count; i++) {
            if (v[i] >= f->lo && v[i] <= f->hi)
                continue;
            char item[200];
            snprintf(item, sizeof item, "%s[%d]", field, i + 1);
            snprintf(vb, sizeof vb, "%d", v[i]);
            problems += out_of_range(f, file, item, vb, d);
        }
        return problems;
    }
    default:
        return 0; /* no range: strings, booleans, enums (the loader refuses other names) */
    }
}

/* --- formatting for the docs and messages -------------------------------------------- */

void config_schema_format_money(int64_t v, char *out, size_t len)
{
    /* "1e9" reads better than "1000000000" in a range column */
    if (v >= MONEY(1000000) && v % MONEY(1) == 0) {
        int64_t whole = v / MONEY(1);
        int exp = 0;
        while (whole % 10 == 0) {
            whole /= 10;
            exp++;
        }
        if (whole == 1) {
            snprintf(out, len, "1e%d", exp);
            return;
        }
    }
    money_format_trim(v, 0, out, len);
}

void config_schema_format(const config_field *f, const void *base, char *out, size_t len)
{
    const void *p = config_field_cptr(base, f);
    char b[40];
    switch (f->type) {
    case CONFIG_BOOL:
        snprintf(out, len, "%s", *(const bool *)p ? "true" : "false");
        break;
    case CONFIG_INT:
        snprintf(out, len, "%d", *(const int *)p);
        break;
    case CONFIG_INT64:
        snprintf(out, len, "%" PRId64, *(const int64_t *)p);
        break;
    case CONFIG_NUMBER:
        snprintf(out, len, "%.14g", *(const double *)p);
        break;
    case CONFIG_MONEY:
        snprintf(out, len, "%s", money_format_trim(*(const money_t *)p, 0, b, sizeof b));
        break;
    case CONFIG_PERCENT: {
        money_t v = *(const money_t *)p;
        snprintf(out, len, "%s", money_format_trim(v * 100, 0, b, sizeof b));
        break;
    }
    case CONFIG_STRING:
    case CONFIG_PATH:
        snprintf(out, len, "\"%s\"", (const char *)p);
        break;
    case CONFIG_ENUM: {
        int v = *(const int *)p, n = 0;
        while (f->names[n])
            n++;
        snprintf(out, len, "\"%s\"", v >= 0 && v < n ? f->names[v] : "?");
        break;
    }
    case CONFIG_HHMM: {
        int v = *(const int *)p;
        snprintf(out, len, "\"%02d:%02d\"", v / 60, v % 60);
        break;
    }
    case CONFIG_INT_LIST: {
        const int *v = p;
        int n = *(const int *)((const char *)base + f->count_offset);
        size_t used = (size_t)snprintf(out, len, "{");
        for (int i = 0; i < n && used < len; i++)
            used += (size_t)snprintf(out + used, len - used, "%s %d", i ? "," : "", v[i]);
        if (used < len)
            snprintf(out + used, len - used, " }");
        break;
    }
    default:
        snprintf(out, len, "%s", "");
        break;
    }
}
