---@meta apex
-- Type annotations for the apex-host Lua API, for lua-language-server (sumneko).
-- Nothing here runs: the host provides the real `apex` global. The repository's
-- .luarc.json points the language server at this folder, so editors opened at the
-- repository root complete ctx., bar., apex.ta. and check field names.
-- Reference: docs/lua-api.md; every pipeline field: docs/configuration.md.

---------------------------------------------------------------------------------------
-- Market data and trading objects

---One bar of market data. Prices are floats converted from the host's fixed point.
---@class apex.Bar
---@field time integer Bar time, Unix seconds (data time).
---@field symbol string The symbol, e.g. "AAPL".
---@field open number
---@field high number
---@field low number
---@field close number
---@field volume number A float, like the prices.
---@field bid number? Best bid when the data has quote columns (and it is not 0), else nil.
---@field ask number? Best ask when the data has quote columns (and it is not 0), else nil.

---An entry signal returned by a strategy's on_bar. Any other field is an error (a typo
---such as `stoploss` would otherwise trade without a stop). Ignored while the pipeline
---already has an execution open on the symbol.
---@class apex.Signal
---@field side "buy"|"sell" "buy" opens a long, "sell" opens a short (needs risk.allow_short).
---@field stop_loss number? Stop price (> 0); nil = exits.stop_loss_pct from the entry. Rounded to the tick; a price that rounds to 0 is an error, never the default.
---@field take_profit number? Target price (> 0); nil = exits.take_profit_pct from the entry. Rounded to the tick.
---@field entry (number|"market"|"limit"|"stop")? A number: the reference entry price (> 0; default the bar's close) for default levels and sizing, the limit price when execution.entry = "limit". A string: the entry order's type; "limit" and "stop" need `price` ("stop" buys above the market on a breakout, "limit" below it).
---@field price number? With entry = "limit" or "stop": the order's price, also the reference for default levels and sizing.
---@field expires apex.Expiry? With entry = "limit" or "stop": cancel the entry unfilled after this ({ bars = n } or { seconds = n }); the execution is then `cancelled` with the reason. nil: it rests until filled.
---@field qty number? Quantity (> 0); nil = the risk stage sizes it. Still capped by risk.max_position_pct and rounded down to the lot; a qty below one lot (or below 0.00000001) is an error, never "size it for me".
---@field confidence number? 0..1, default 1.
---@field reason string? Why; shown in the log, the execution's events and `apex-host status`.

---When a resting "limit" or "stop" entry is cancelled unfilled: one of the two.
---@class apex.Expiry
---@field bars integer? After this many bars of the symbol (1 .. 1000000), counted from the first bar after the order was sent.
---@field seconds integer? This many seconds (1 .. 31622400) of host-clock time after the signal's bar.

---What stop(ctx, position) returns to loosen the stop: a number alone can only tighten it.
---@class apex.StopLevel
---@field price number The stop price (> 0), rounded to the tick away from the market.
---@field loosen boolean? true: the stop may move away from the market (down for a long). Default false.

---A close of the open position on the symbol, returned by a strategy's on_bar: the exit
---engine carries it out as the exit `strategy_exit` at exits.strategy_exit_priority
---(default CRITICAL: a market order). Without qty or fraction it closes everything; give
---at most one of them. Any other field is an error. Ignored (a debug line) without an
---open position; while another exit works it takes over (more urgent, closing all) or
---waits for that exit to end.
---@class apex.Close
---@field side "close"
---@field qty number? Quantity to close, > 0 and at most ctx.position.qty; rounded down to the lot.
---@field fraction number? Share of the open quantity to close, above 0 and at most 1 (0.5 = half); rounded down to the lot.
---@field reason string? Why; recorded as the exit's detail "strategy_exit: <reason>" and shown in the log and `apex-host status`.

---An open position as scripts see it (ctx.position, edge(), rules, on_exit). A fresh copy
---per call: changing it changes nothing. In on_exit it is already flat (qty 0).
---@class apex.Position
---@field execution_id integer The execution that opened it.
---@field symbol string
---@field side "long"|"short"
---@field qty number Positive for longs and shorts alike.
---@field entry_price number Average entry price.
---@field current_price number Last price the monitor saw.
---@field unrealized_pnl number In account currency.
---@field unrealized_pnl_pct number Fraction of the entry value: 0.05 = +5%.
---@field stop_loss number The execution's stop price.
---@field take_profit number
---@field trailing_stop number? The trailing stop (built-in, or the level stop() set); nil until there is one.
---@field opened_at integer Unix seconds.

---A fill reported to on_fill.
---@class apex.Fill
---@field side "buy"|"sell"
---@field qty number Positive for longs and shorts alike.
---@field price number

---What on_exit receives.
---@class apex.ExitInfo
---@field reason string Why the position closed, as the log shows it, e.g. "take_profit leg filled at 175.52", "instruction \"close if VIX > 40\": VIX 42.55 > 40", "position closed at the broker outside apex-host".
---@field position apex.Position The position once flat (qty 0), with its entry price and levels.

---The table bias() may return instead of a plain direction.
---@class apex.BiasResult
---@field direction "long"|"short"|"neutral"
---@field confidence number? 0..1.
---@field reason string? Shown in the execution log.

---@alias apex.BiasDirection "long"|"short"|"neutral"

---One ctx per module per symbol.
---@class apex.Ctx
---@field symbol string The symbol this ctx belongs to.
---@field params table The module's params from the pipeline (strategy/bias `params`); {} when none. With a params declaration: every declared default, the pipeline's values over them.
---@field state table Per-symbol table owned by the host; survives hot reloads. Keep indicators here.
---@field now number Unix seconds by the host clock (data time in backtests and replays).
---@field position apex.Position? The open position on this symbol; nil until the entry has filled.
local Ctx = {}

---string.format(fmt, ...) then logged with the pipeline name and symbol. A line is cut at
---1024 bytes; a pipeline writes at most 200 lines and 64 KiB a minute (print and the logs).
---@param fmt string
---@param ... any
function Ctx.log(fmt, ...) end

---The last n bars of this ctx's symbol, oldest first (the last one is the bar being
---handled), from a ring the host keeps: a new table of { time, open, high, low, close,
---volume } tables. Fewer than n while the symbol has fewer bars. n may be at most the
---pipeline's `history`; more is an error naming that setting. The ring survives hot reloads.
---With field ("time", "open", "high", "low", "close" or "volume"), a flat array of that
---value instead: one table instead of n + 1.
---@param n integer
---@param field ("time"|"open"|"high"|"low"|"close"|"volume")?
---@return apex.HistoryBar[]|number[]
function Ctx.history(n, field) end

---@class apex.HistoryBar
---@field time number Unix seconds (bar open time).
---@field open number
---@field high number
---@field low number
---@field close number
---@field volume number

---------------------------------------------------------------------------------------
-- Modules

---One declared parameter of a strategy or bias (module.params.NAME). The host fills
---ctx.params from the defaults and the pipeline's params, checked against these, at load.
---@class apex.ParamDecl
---@field type "integer"|"number"|"string"|"boolean"|"list"
---@field of? "integer"|"number"|"string"|"boolean" A list's element type (type = "list" only).
---@field default any The value when the pipeline sets none; must fit the declaration.
---@field min? number Smallest allowed value (numbers; each element of a list).
---@field max? number Largest allowed value (numbers; each element of a list).
---@field one_of? any[] The allowed values (each element of a list).
---@field doc? string What it means, for people reading the file.

---A strategy module: the file's chunk returns this table. Only on_bar is required. A
---function under any other name (not starting with _) is a load error ("did you mean").
---@class apex.Strategy
---@field params? table<string, apex.ParamDecl> The parameters it takes; undeclared ones are errors.
---@field on_start? fun(ctx: apex.Ctx) Once per symbol, lazily, before this module's first callback for it (usually its first bar); after a hot reload of a module without on_reload, again on the kept ctx.state, so fill only what is missing (x = x or ...). If it raises, the symbol is not traded until the file is fixed and reloaded (it is not retried per bar).
---@field on_bar fun(ctx: apex.Ctx, bar: apex.Bar): (apex.Signal|apex.Close)? Every bar of the pipeline's symbols, after the bias's on_bar; return a signal to enter, or a close to exit the open position.
---@field edge? fun(ctx: apex.Ctx, position: apex.Position): number? Current edge of an open position (fraction); called at each monitoring check of an open position (0 <= edge < exits.early_exit_edge -> early_exit, edge < 0 -> edge_disappeared).
---@field stop? fun(ctx: apex.Ctx, position: apex.Position): (number|apex.StopLevel)? The stop price the strategy wants now (ATR, chandelier, swing low, break-even after +1R), asked at each monitoring check of an open position. nil keeps the stop. It never loosens (a long's only rises) unless returned as { price = p, loosen = true }. Fires as `trailing_stop` (HIGH); the execution's stop_loss stays below it. An error keeps the last stop.
---@field score? fun(ctx: apex.Ctx, signal: apex.ScoredSignal): number? Ranks an entry signal among those of the same bar time (the coordinator); higher goes first; nil = confidence x reward/risk. An error fails that signal only.
---@field opportunity? fun(ctx: apex.Ctx): number? Opportunity score for rebalancing; called only at risk.max_positions, for the position's symbol and the free symbols (rebalance when best free - position >= exits.rebalance_min_improvement).
---@field on_fill? fun(ctx: apex.Ctx, fill: apex.Fill) After each fill of the execution's orders.
---@field on_exit? fun(ctx: apex.Ctx, info: apex.ExitInfo) Once the broker shows the position closed.
---@field on_reload? fun(ctx: apex.Ctx) Per symbol after a hot reload replaced the module; ctx.state is kept. A module that defines it gets no second on_start.

---The entry signal as score() sees it: the default stop and target are filled in.
---@class apex.ScoredSignal
---@field symbol string
---@field side "buy"|"sell"
---@field entry number The limit entry, or the bar's close for a market entry.
---@field stop_loss number
---@field take_profit number
---@field qty? number Nil when the risk stage sizes it.
---@field confidence number 0..1 (1 when the signal gave none).
---@field reason string

---A bias module: the file's chunk returns this table.
---@class apex.Bias
---@field params? table<string, apex.ParamDecl> The parameters it takes; undeclared ones are errors.
---@field on_start? fun(ctx: apex.Ctx) Once per symbol, lazily, before this module's first callback for it.
---@field on_bar? fun(ctx: apex.Ctx, bar: apex.Bar) Runs before the strategy's on_bar; keep indicators current. The return value is ignored.
---@field bias? fun(ctx: apex.Ctx): (apex.BiasDirection|apex.BiasResult)? Asked when the strategy signals. "long" allows buys only, "short" sells only, "neutral" (or nil, or no bias function) both; an opposed signal is skipped.
---@field on_reload? fun(ctx: apex.Ctx)

---The market view given to instruction rules (same data as apex.*).
---@class apex.Market
---@field price fun(symbol: string): number? Last price, nil before the first bar.
---@field change fun(symbol: string): number? Change from the open of the symbol's first bar of the UTC day, as a fraction (-0.03 = down 3%).
---@field news fun(symbol: string?, minutes: number?): integer Highest news impact 0..3 in the last `minutes` (default 60). A symbol counts its own and market-wide "*" items; nil counts all.
---@field now fun(): number Unix seconds.

---An emergency-exit rule: what a rule file returns and what instructions compile to.
---@class apex.Rule
---@field name string? Shown in the exit log (a rule file's default: its file name).
---@field check fun(m: apex.Market, position: apex.Position?): boolean, string Returns fired and a reason such as "VIX 41.20 > 40".

---------------------------------------------------------------------------------------
-- Pipeline

-- BEGIN GENERATED config-doc pipeline: edit core/config/schema.c, then run `make config-docs`
-- The pipeline fields: every row of core/config/schema.c.

---A module file and the parameters it gets as ctx.params.
---@class apex.ModuleRef
---@field file string Path relative to the pipeline file.
---@field params table? Becomes ctx.params: strings, numbers, booleans and nested tables.

---One entry of data.http.
---@class apex.HttpSource
---@field symbol string The symbol the price is for, as the rules and `apex.price` name it (`VIX`, `^VIX`); it is not traded. Range 1 to 23 characters.
---@field url string The endpoint: `https://`, or plain `http://` to `127.0.0.1` or `localhost` only; no user name or password in it (use `header_env`). Range at most 2048 characters.
---@field price string The path to the value in the JSON answer: keys separated by `.`, array positions as numbers from 0 (`"data.0.last"`). Range at most 255 characters.
---@field time string? The path to the value's time (RFC 3339 / ISO-8601, or Unix seconds); left out, or not a time in an answer, the bar gets the time the answer arrived. A time older than the pipeline's newest bar is raised to it. Default time of receipt. Range at most 255 characters.
---@field every_seconds integer? How often to ask. Default 60. Range 1 .. 86400.
---@field header_env string? The NAME of an environment variable holding one header line to send (`Authorization: Bearer ...`); the value is redacted from every log line. Default none. Range letters, digits and '_'; at most 63 characters.
---@field timeout_seconds integer? How long one attempt may take; a failed attempt is retried within the period. Default 10. Range 1 .. 300.

---One entry of exits.partial_exits.stages.
---@class apex.PartialStage
---@field name string? Shown in the exit log. Default `stage_N`. Range at most 31 characters.
---@field profit_threshold number Unrealized profit, as a fraction, that triggers the stage (0.15 = +15%); thresholds must rise from stage to stage. Range > 0 .. 100.
---@field exit_percentage number Percent of the original quantity to sell (50 = half); the stages together may sell at most 100%. Range > 0 .. 100.

---One entry of notifications.webhooks.
---@class apex.NotifyWebhook
---@field url string The endpoint: `https://`, or plain `http://` to `127.0.0.1` or `localhost` only; no user name or password in it (use `header_env`). Range at most 2048 characters.
---@field template string? The JSON body with `{{field}}` placeholders (docs/notifications.md lists the fields); strings are JSON-escaped, money is a decimal number. Default every field. Range at most 2047 characters.
---@field header_env string? The NAME of an environment variable holding one header line to send (`Authorization: Bearer ...`); the value is redacted from every log line. Default none. Range letters, digits and '_'; at most 63 characters.

---One entry of instruments.
---@class apex.InstrumentRules
---@field tick number? Price increment; signal prices are rounded to it. Default 0.01. Range > 0 .. 10000.
---@field lot number? Quantity increment; sizes are rounded down to whole lots. Default 1. Range > 0 .. 1e6.

---Where the bars and the news come from.
---@class apex.DataConfig
---@field files (string|string[])? Bar CSV files (`timestamp,symbol,open,high,low,close,volume[,bid,ask]`); each must exist and be readable. Several files are merged in time order. With `live`, `run` reads them beside the broker's bars (with `follow`, for symbols the broker does not serve, such as an index); `backtest` replays only them. Default required unless `live`.
---@field news string? News CSV (`timestamp,symbol,impact,headline`, impact `low`, `medium` or `high`, symbol `*` = market-wide); feeds `apex.news()` and the news instructions. Default none.
---@field speed number? Replay speed of `run` when `--speed` is not given (the first pipeline's); 0 = as fast as possible. `backtest` always runs as fast as possible. Default 1. Range 0 .. 1000000.
---@field follow boolean? Keep reading rows appended to the files, like `tail -f`; `run` then uses the wall clock and runs until SIGINT or SIGTERM (files are polled every 200 ms). Default false.
---@field live boolean? `run` takes the bars of `symbols` from the broker's market data (Alpaca: history for the warm-up, then the live stream, with a catch-up after every gap; docs/brokers.md) and runs until SIGINT or SIGTERM. Bars are `timeframe` long (default `"1m"`). `backtest` replays `files` instead. Default false.
---@field warmup_bars integer? Live: history bars per symbol fetched at start-up to warm indicators up; they run `on_bar` but are never traded on. Default 200. Range 0 .. 10000.
---@field live_news boolean? Live: also the broker's news naming the symbols, for `apex.news()` and the news instructions. Default true.
---@field news_impact ("low"|"medium"|"high")? Live news carries no impact rating: the impact every live item gets. `"medium"` keeps an instruction about high-impact news from firing on every headline. Default `"medium"`. Range `"low"`, `"medium"`, `"high"`.
---@field timeframe string? The bars' interval: a whole number and a unit `s`, `m`, `h` or `d` (`"1m"`, `"5m"`, `"1h"`, `"1d"`). Left out, it is the shortest gap between two bars of one symbol seen so far. Conditions about the time within a session (`time_based_urgent` and no entries inside that window) apply only to bars shorter than `exits.time_urgent_minutes`. Default detected. Range at most 15 characters.
---@field http apex.HttpSource[]? `run`: prices of symbols nobody trades (an index such as VIX) polled from HTTP(S) JSON endpoints, for `apex.price` and the instructions; `run` then uses the wall clock and runs until SIGINT or SIGTERM (docs/data-sources.md). `backtest` ignores them and replays `files`. Default none.

---The broker the pipeline trades with; the fee and fill settings are the paper broker's.
---@class apex.BrokerConfig
---@field kind ("paper"|"alpaca")? `"paper"`: the embedded paper broker. `"alpaca"`: Alpaca's trading API with the key and secret from the environment or `credentials_file` (docs/brokers.md); a backtest of an Alpaca pipeline simulates on the paper broker. Default `"paper"`. Range `"paper"`, `"alpaca"`.
---@field starting_cash number? Cash of a new paper account. Default 100000. Range 1 .. 1e9.
---@field fill ("next_open"|"close")? When a market order fills. `"next_open"`: at the open of the next bar of its symbol that arrives after the order was accepted (no look-ahead); `"close"`: at once, at the close of the bar the signal came from. Costs apply on the taker's side either way (docs/configuration.md, *Fills and costs*). Default `"next_open"`. Range `"next_open"`, `"close"`.
---@field spread_bps number? Spread in basis points assumed when a bar has no bid/ask; a market order pays half of it. Default 2. Range 0 .. 1000.
---@field slippage_bps number? Basis points charged against the taker on market orders and triggered stops. Default 1. Range 0 .. 1000.
---@field fee_per_share number? Cash per unit of quantity. Default 0. Range 0 .. 100.
---@field fee_bps number? Basis points of notional. Default 0. Range 0 .. 1000.
---@field fee_min number? Minimum fee per fill, when any fee applies; fees are rounded to the nearest cent. Default 0. Range 0 .. 1000.
---@field state string? Where the paper account persists in `run`. `""`: beside the store as `<db>.<pipeline>.paper`. A path keeps it there (`--fresh` does not delete it); pipelines naming the same path share one account (one process at a time may use it); `":memory:"` keeps nothing. A backtest always trades an account in memory. Default `""`.
---@field base_url string? A real broker's trading API. Alpaca: `"https://paper-api.alpaca.markets"` (paper, the default) or `"https://api.alpaca.markets"` (live money). `https://` only; `http://` is accepted for 127.0.0.1 and localhost (a test server). Unused by the paper broker. Default the venue's paper URL. Range at most 511 characters.
---@field data_url string? A real broker's market data API. Alpaca: `"https://data.alpaca.markets"`; the same scheme rule as `base_url`. Default the venue's. Range at most 511 characters.
---@field feed ("iex"|"sip")? Alpaca's market data feed: `"iex"` (free plans) or `"sip"` (every US exchange; a paid plan). Default `"iex"`. Range `"iex"`, `"sip"`.
---@field key_env string? The name of the environment variable (or of the line in `credentials_file`) holding the API key id, never the key itself. Default `"APCA_API_KEY_ID"` for Alpaca. Range letters, digits and '_'; at most 63 characters.
---@field secret_env string? The name of the environment variable (or of the line in `credentials_file`) holding the API secret. Default `"APCA_API_SECRET_KEY"` for Alpaca. Range letters, digits and '_'; at most 63 characters.
---@field credentials_file string? A file of `NAME=value` lines holding the key and the secret under the names above (shell-sourceable; `#` comments). It must not be readable by group or others (`chmod 600`). `""`: the environment. Default `""`.

---Sizing and limits (seed 004).
---@class apex.RiskConfig
---@field capital number? Capital to size against; 0 = the account's equity. Default 0. Range 0, or 1 .. 1e9.
---@field max_risk_pct number? Cash at risk per trade (entry to stop) as a fraction of capital. Default 0.01. Range > 0 .. 1.
---@field max_position_pct number? Largest position value as a fraction of capital. Default 0.05. Range > 0 .. 1.
---@field max_positions integer? Open executions in this pipeline; a signal beyond it is `skipped`. Default 10. Range 1 .. 100000.
---@field daily_loss_limit_pct number? Circuit breaker: once the day's loss (realized and unrealized, as a fraction of the start-of-day equity) reaches it, every position of the pipeline is closed (CRITICAL, market) and new entries are `skipped` until the next UTC trading day. Default 0.03. Range > 0 .. 1.
---@field allow_short boolean? `false` skips `"sell"` signals. Default true.
---@field pdt_check boolean? Pattern-day-trader rule, applied while equity is below 25000. Default true.
---@field pdt_day_trade_limit integer? Day trades allowed in 5 business days under the PDT rule. Default 3. Range 0 .. 1000.
---@field max_heat_pct number? Portfolio heat: the open risk to the stops (qty x |entry - stop| of every open position and working entry of every pipeline on the same broker account) as a fraction of the account's equity; a trade that would exceed it is `skipped` (docs/risk.md). Default 0.06. Range > 0 .. 1.
---@field heat_shrink boolean? `true` shrinks a trade that would exceed a heat limit to the whole lots that fit, instead of skipping it. Default false.
---@field max_cluster_heat_pct number? The open risk of a cluster of correlated symbols (the candidate and every symbol with open risk whose returns correlate with it above `risk.correlation_threshold`) as a fraction of equity; 0 = no cluster limit. Default 0. Range 0, or 0 .. 1.
---@field correlation_threshold number? Pearson's r of simple returns of closes, aligned by bar time, above which two symbols count as one cluster. Default 0.7. Range > 0 .. 1.
---@field correlation_window integer? Bars of returns the correlation is computed over; a pair with fewer than half of them in common is not correlated. Default 60. Range 4 .. 10000.
---@field max_drawdown_pct number? Drawdown breaker: once the pipeline's equity falls this fraction below its peak, new entries are `skipped` until `apex-host resume` or `risk.drawdown_resume_hours`; 0 = off. Default 0. Range 0, or 0 .. 1.
---@field drawdown_close_all boolean? `true`: the drawdown breaker also closes every position of the pipeline (CRITICAL, market). Default false.
---@field drawdown_resume_hours integer? Entries resume this many hours after the drawdown breaker tripped; 0 = only by hand (`apex-host resume`). Default 0. Range 0, or 0 .. 100000.

---A stop that follows the peak once the position is in profit (HIGH).
---@class apex.TrailingStopConfig
---@field enabled boolean? Use the trailing stop. Default true.
---@field activation_pct number? Profit that arms the trailing stop. Default 0.05. Range 0 .. 100.
---@field distance_pct number? With `mode = "percent"`: distance from the peak; the stop never loosens. Default 0.03. Range > 0 .. < 1.
---@field mode ("percent"|"atr"|"chandelier")? `"percent"`: `distance_pct` behind the peak. `"atr"`: `multiplier` x ATR(`period`) behind the peak. `"chandelier"`: `multiplier` x ATR(`period`) behind the highest high of the last `period` bars (lowest low for a short). ATR is Wilder's, of the symbol's bars; the stop never loosens. Default `"percent"`. Range `"percent"`, `"atr"`, `"chandelier"`.
---@field period integer? With `"atr"` and `"chandelier"`: the ATR's period and the chandelier's window; the stop arms only once the symbol has this many bars. Default 22. Range 1 .. 1000.
---@field multiplier number? With `"atr"` and `"chandelier"`: how many ATRs the stop sits behind. Default 3. Range > 0 .. 100.

---Sell parts of the position at profit thresholds (MEDIUM).
---@class apex.PartialExitsConfig
---@field enabled boolean? Use the partial exit stages. Default true.
---@field stages apex.PartialStage[]? Listing `stages` replaces the default stages; a stage is spent when it triggers and never fires twice. Default 50% at +15%, 25% at +25%. Range at most 8.

---When the market for the symbol has dried up (HIGH `liquidity_dried_up`).
---@class apex.LiquidityConfig
---@field max_spread number? A spread above this fires; in price units. Only quotes from the data or the venue count: the spread the paper broker adds to bars without bid/ask never fires. Default 0 (off). Range 0 .. 1e6.
---@field max_spread_pct number? A spread above this fraction of the mid price fires (0.01 = 1%: 5 cents on a $5 stock, $3 on a $300 one); 0 = off. The tighter of the two limits applies. Default 0.01. Range 0 .. 1.
---@field min_volume number? A bar volume below this fires. Default 50. Range 0 .. 1e9.

---How exits of this priority are worked.
---@class apex.ExitExecution
---@field timeout_seconds integer? How long one order may work before it is walked or escalated. Default 5 / 10 / 30 / 60 (CRITICAL / HIGH / MEDIUM / LOW). Range 1 .. 3600.
---@field max_walks integer? Times the limit moves one step toward the market, one per timeout. Default 0 / 2 / 5 / 10 (CRITICAL / HIGH / MEDIUM / LOW). Range 0 .. 100.
---@field price ("market"|"aggressive"|"fair"|"conservative")? Where the first order goes: at the market, or a limit placed aggressively, fairly or conservatively. Default "market" / "aggressive" / "fair" / "conservative" (CRITICAL / HIGH / MEDIUM / LOW). Range `"market"`, `"aggressive"`, `"fair"`, `"conservative"`.
---@field market_after_walks boolean? Send a market order once the walks are spent (otherwise a MEDIUM exit escalates to HIGH and a LOW one to MEDIUM). Default true / true / false / false (CRITICAL / HIGH / MEDIUM / LOW).

---How exits are worked, one table per priority.
---@class apex.ExitExecutionByPriority
---@field CRITICAL apex.ExitExecution? How exits of this priority are worked.
---@field HIGH apex.ExitExecution? How exits of this priority are worked.
---@field MEDIUM apex.ExitExecution? How exits of this priority are worked.
---@field LOW apex.ExitExecution? How exits of this priority are worked.

---The prioritised exit engine (seed 003); every field is in effect.
---@class apex.ExitsConfig
---@field stop_loss_pct number? The stop's distance from the entry when a signal has no `stop_loss`. Default 0.04. Range > 0 .. < 1.
---@field take_profit_pct number? The target's distance from the entry when a signal has no `take_profit`. Default 0.1. Range > 0 .. 100.
---@field trailing_stop apex.TrailingStopConfig? A stop that follows the peak once the position is in profit (HIGH).
---@field partial_exits apex.PartialExitsConfig? Sell parts of the position at profit thresholds (MEDIUM).
---@field liquidity apex.LiquidityConfig? When the market for the symbol has dried up (HIGH `liquidity_dried_up`).
---@field early_exit_edge number? LOW `early_exit` fires when 0 <= the strategy's `edge` < this (`edge` < 0 fires `edge_disappeared`). Default 0.02.
---@field time_urgent_minutes integer? HIGH `time_based_urgent` fires this long before `session_close`. Default 5. Range 0 .. 1440.
---@field session_close string? The session's close in UTC (21:00 is 16:00 New York in winter; use "20:00" for US summer dates in file data). In `run` on a venue with a calendar (Alpaca) the day's real close from the venue replaces it (daylight saving and early closes included); this is the fallback when the calendar cannot be read. Default `"21:00"`. Range `"00:00"` .. `"23:59"`.
---@field rebalance_min_improvement number? LOW `rebalance`, at `risk.max_positions`: the best free symbol's `opportunity` must beat the position's by at least this. Default 0.1.
---@field strategy_exit_priority ("CRITICAL"|"HIGH"|"MEDIUM"|"LOW")? The priority of a close the strategy returns from `on_bar` (`{ side = "close" }`, exit `strategy_exit`): `exits.execution.<PRIORITY>` says how it is worked (CRITICAL: a market order) and whether it may take over an exit already working. Default `"CRITICAL"`. Range `"CRITICAL"`, `"HIGH"`, `"MEDIUM"`, `"LOW"`.
---@field execution apex.ExitExecutionByPriority? How exits are worked, one table per priority.

---How near a level makes checks urgent.
---@class apex.UrgentConditions
---@field near_stop_loss_pct number? Distance to the stop, as a fraction of the price. Default 0.02. Range 0 .. 1.
---@field near_profit_target_pct number? Distance to the target. Default 0.02. Range 0 .. 1.
---@field near_trailing_stop_pct number? Distance to the trailing stop. Default 0.02. Range 0 .. 1.
---@field near_distance_fraction number? And nearer than this part of the level's own distance: from the entry for the stop and the target, from the peak for the trailing stop. An intraday stop 0.5% away is urgent in its last 0.125%, not all the time; 1 keeps only the `_pct` rules. Default 0.25. Range 0 .. 1.

---How open positions are watched.
---@class apex.MonitoringConfig
---@field normal_frequency integer? Between checks of an open position. Default 30. Range 1 .. 86400.
---@field urgent_frequency integer? Between checks while the price is near a level; at most `normal_frequency`. Default 5. Range 1 .. 86400.
---@field urgent_conditions apex.UrgentConditions? How near a level makes checks urgent.
---@field price_cache_ttl_seconds integer? How long a broker price is reused. Default 10. Range 0 .. 3600.
---@field max_api_calls_per_minute integer? Sliding-window limit on every broker call of the pipeline, the paper broker included (backtests obey it in simulated time: raise it for backtests with many symbols). Pipelines sharing one broker account (the same Alpaca account, or the same paper broker.state) share one limiter: the smallest of their limits, for all of them together, with a warning (log and a rate_limit event) when their values differ. Default 60. Range 1 .. 100000.
---@field retry_backoff integer[]? Delay after each consecutive broker failure; the last step repeats. When the retry after the last step fails too, the execution is flagged (its reason starts `BROKER OUTAGE, flagged`, a `broker_outage` event, an OUTAGE line) and still monitored. Default `{ 60, 120, 240, 480, 960 }`. Range at most 10, each 1 .. 86400.
---@field persist_interval integer? Unrealized P&L is written to the store on a change of state and at most this often otherwise (live runs only; a backtest writes on changes of state). Default 60. Range 1 .. 86400.
---@field reconcile_seconds integer? How often the broker is asked, at ROUTINE priority, for every non-final order of the active executions (a fill the stream and polling both missed is recorded) and for its positions (one closed by hand completes its execution as `closed_at_broker`; one no execution knows is reported as `unknown_position` and never traded). 0 = at start-up only. A backtest reconciles positions only, on the first check after each period. Default 300. Range 0 .. 86400.

---A Telegram bot writing to one or more chats.
---@class apex.TelegramConfig
---@field token_env string? The name of the environment variable (or of the line in `token_file`) holding the bot token, never the token; `run` stops with an error naming it when it is unset. Default none. Range letters, digits and '_'; at most 63 characters.
---@field token_file string? A file of `NAME=value` lines holding the token under `token_env`'s name (shell-sourceable; `#` comments), readable by its owner only (`chmod 600`). `""`: the environment. Default `""`.
---@field chat_id (string|string[])? The chat (or chats) to write to: a numeric id (`123456789`, a group's `-1001234567890`) or `"@channelname"`; every chat gets every message. Default none.
---@field api_url string? The Bot API's address: `https://`, or plain `http://` to `127.0.0.1` only (a test server). Default `"https://api.telegram.org"`. Range at most 511 characters.

---Which events are sent: `true` or `false` per kind.
---@class apex.NotifyEvents
---@field entry boolean? An entry order accepted: symbol, side, quantity, price, stop and target. Default true.
---@field fill boolean? A fill: side, quantity, price, fee, the order's role. Default true.
---@field exit boolean? An execution closed: its realized P&L, the reason and the exit's priority. Default true.
---@field skip boolean? A signal skipped, with the reason (off by default: they can be many). Default false.
---@field error boolean? An execution failed (a script error, a rejected order), an exit failed, a flood of script failures was summarised, or a durable write failed. Default true.
---@field circuit_breaker boolean? The daily-loss circuit breaker tripped. Default true.
---@field instruction boolean? An instruction (emergency rule) fired an exit. Default true.
---@field reload_failed boolean? A hot reload failed (the old code keeps running). Default true.
---@field broker_outage boolean? The broker failed a position's checks through every retry. Default true.

---Where to report what the pipeline does (`run` only; a backtest never sends): Telegram and outgoing webhooks, queued in the store and delivered without blocking; see docs/notifications.md. Secrets come from the environment or a secrets file, never this file.
---@class apex.NotificationsConfig
---@field telegram apex.TelegramConfig? A Telegram bot writing to one or more chats.
---@field webhooks ((string|apex.NotifyWebhook)[])? URLs to post each notification to as JSON, or `{ url, template, header_env }` (see *notifications.webhooks* below). Default none.
---@field events apex.NotifyEvents? Which events are sent: `true` or `false` per kind.
---@field rate_limit_per_minute integer? Messages per channel (a chat, a webhook) in any 60 seconds; what does not fit is folded into one summary message ("37 more notifications: 30 error, 7 fill"). Default 10. Range 1 .. 600.
---@field max_attempts integer? Tries per message and channel, with backoff (2 s doubling to 5 min, jittered), before it is marked failed with the reason. Default 8. Range 1 .. 100.

---How entries are sent.
---@class apex.ExecutionConfig
---@field tool ("broker"|"webhook")? `"broker"`: orders go to the broker and the position is monitored until it closes. `"webhook"`: the signal is posted to `webhook_url` and the execution completes when the receiver answers 2xx, with no order and no monitoring (docs/configuration.md, *The webhook tool*). Default `"broker"`. Range `"broker"`, `"webhook"`.
---@field entry ("market"|"limit")? `"limit"` places the entry at the signal's `entry`, or at the bar's close when the signal has none. Default `"market"`. Range `"market"`, `"limit"`.
---@field webhook_url string? Required with `tool = "webhook"`: an `http://` or `https://` URL. Logs and events show only its scheme and host, since such URLs often carry a token. Default `""`. Range at most 511 characters.
---@field webhook_template string? The body posted, with `{{field}}` placeholders: `pipeline`, `execution_id`, `symbol`, `side`, `qty`, `entry`, `stop_loss`, `take_profit`, `reason`, `time`. Text fields are inserted JSON-escaped without quotes, numbers as exact decimals. Default every field as JSON. Range at most 2047 characters.
---@field webhook_secret_env string? The environment variable holding the HMAC-SHA256 key; when set, each post carries `X-Apex-Signature: sha256=<hex of HMAC(key, body)>`. `""`: unsigned. Default `""`. Range letters, digits and '_'; at most 63 characters.
---@field webhook_timeout_seconds integer? How long one attempt may take, connection included. Default 10. Range 1 .. 300.
---@field webhook_retries integer? Attempts after the first when the receiver fails (a timeout, a reset, 429 or 5xx), with exponential backoff; every attempt carries the same `Idempotency-Key`, so a receiver can drop a repeat. Default 3. Range 0 .. 10.
---@field mode ("auto"|"approval")? `"auto"`: a signal that passes the risk stage is sent at once. `"approval"`: it waits for a trader's answer (Telegram buttons, `apex-host approve ID`, `apex-host reject ID`) for `approval_timeout` seconds; no answer skips it. `backtest` refuses it, as nobody can answer on a simulated clock (docs/approval.md). Default `"auto"`. Range `"auto"`, `"approval"`.
---@field approval_timeout integer? How long an approval request waits on the run's clock (wall time for live data); then the execution is `skipped` as expired. Default 300. Range 1 .. 86400.
---@field approval_user_ids (string|string[])? The Telegram user ids (as strings of digits) whose button presses answer an approval request; a press from anyone else is answered "not allowed" and recorded as an `approval_denied` event. Default anyone in the chat.
---@field approval_tolerance_pct number? At approval the last price is compared with the entry the request showed: a move of more than this fraction (either way) refuses the signal as stale. Default 0.01. Range 0 .. 1.

---How results are measured: the summary, `backtest --report` and the JSON API (docs/analytics.md).
---@class apex.ReportConfig
---@field risk_free_rate number? Annual risk-free rate as a fraction (`0.04` = 4%), the hurdle of the Sharpe and Sortino ratios, compounded down to one period. Default 0. Range 0 .. 0.5.
---@field periods_per_year integer? Periods of the daily return series in a year, which annualise the return, volatility, Sharpe and Sortino: 252 trading days; 365 for a market open every day. Default 252. Range 1 .. 366.

---The table a pipeline file returns: `return apex.pipeline { ... }` (see strategies/examples/reference.lua and docs/configuration.md).
---@class apex.Pipeline
---@field name string Names the pipeline in logs, the store and `apex-host status`; unique among the pipelines started together. Range letters, digits, '_', '.' and '-'; at most 63 characters.
---@field symbols string[] The symbols this pipeline trades. Other symbols in the data only update prices (`apex.price("VIX")`). Range 1 to 23 characters each, no duplicates.
---@field data apex.DataConfig Where the bars and the news come from.
---@field broker apex.BrokerConfig? The broker the pipeline trades with; the fee and fill settings are the paper broker's.
---@field bias (string|apex.ModuleRef)? A bias module; a string is the file with no params. Default none.
---@field strategy string|apex.ModuleRef The strategy module.
---@field risk apex.RiskConfig? Sizing and limits (seed 004).
---@field exits apex.ExitsConfig? The prioritised exit engine (seed 003); every field is in effect.
---@field monitoring apex.MonitoringConfig? How open positions are watched.
---@field instructions ((string|{ file: string })[])? Emergency exits, checked at every monitoring pass: sentences (`"close if VIX > 40"`) or `{ file = "rule.lua" }`; see `instructions/README.md`. Default none.
---@field notifications apex.NotificationsConfig? Where to report what the pipeline does (`run` only; a backtest never sends): Telegram and outgoing webhooks, queued in the store and delivered without blocking; see docs/notifications.md. Secrets come from the environment or a secrets file, never this file.
---@field execution apex.ExecutionConfig? How entries are sent.
---@field report apex.ReportConfig? How results are measured: the summary, `backtest --report` and the JSON API (docs/analytics.md).
---@field instruments table<string, apex.InstrumentRules>? Tick and lot per symbol, `SYMBOL = { tick, lot }`; `default = { ... }` applies to every symbol not listed. Default tick 0.01, lot 1.
---@field random_seed integer? Seeds `math.random` in this pipeline's scripts, so a strategy that draws random numbers makes the same decisions run after run. Backtests always seed: with this, else with a hash of `name`; `run` seeds only when it is given (see docs/lua-api.md). Default from `name` in backtests.
---@field history integer? How many bars of each traded symbol the host keeps for `ctx.history(n)` (a ring per symbol, 72 bytes a bar); `ctx.history` asks for at most this many. 0: none. Default 0. Range 0 .. 100000.
-- END GENERATED config-doc pipeline

---------------------------------------------------------------------------------------
-- apex.ta

---@class apex.ta.Object
---@field value number? The last value (the first of update's returns); nil until warmed up.
local Object = {}
---@return boolean
function Object:ready() end

---@class apex.ta.Indicator: apex.ta.Object
---@field n integer The period.

---@class apex.ta.SMA: apex.ta.Indicator
local SMA = {}
---@param x number
---@return number? sma
function SMA:update(x) end

---@class apex.ta.EMA: apex.ta.Indicator
local EMA = {}
---@param x number
---@return number? ema
function EMA:update(x) end

---@class apex.ta.RSI: apex.ta.Indicator
local RSI = {}
---@param x number
---@return number? rsi 0..100 (needs n + 1 values)
function RSI:update(x) end

---@class apex.ta.ATR: apex.ta.Indicator
local ATR = {}
---@param high number
---@param low number
---@param close number
---@return number? atr
function ATR:update(high, low, close) end

---@class apex.ta.Bollinger: apex.ta.Indicator
---@field k number Band width in standard deviations.
---@field upper number? Last upper band.
---@field lower number? Last lower band.
---@field stdev number? Last population standard deviation.
---@field width number? (upper - lower) / |mid|.
---@field typical boolean True when built with { typical = true }.
local Bollinger = {}
---@param x number The value; the high with { typical = true }.
---@param low number? With { typical = true }: the low.
---@param close number? With { typical = true }: the close.
---@return number? mid
---@return number? upper
---@return number? lower
function Bollinger:update(x, low, close) end

---`n` is the slow period.
---@class apex.ta.MACD: apex.ta.Indicator
---@field signal number? Last signal-line value.
---@field histogram number? Last histogram value.
---@field percent boolean True when built with { percent = true }.
local MACD = {}
---@param x number
---@return number? macd
---@return number? signal
---@return number? histogram
function MACD:update(x) end

---@class apex.ta.Extreme: apex.ta.Indicator
local Extreme = {}
---@param x number
---@return number? extreme Highest / lowest of the last n values.
function Extreme:update(x) end

---@class apex.ta.ATROptions
---"range" (default): the first bar, with no previous close, counts its high - low as its
---true range; the first value comes at bar n. "skip": it gives none (TTR, TA-Lib); the
---first value comes at bar n + 1.
---@field first_tr ("range"|"skip")?

---@class apex.ta.BollingerOptions
---false (default): bands of the value fed. true (TTR's default): update(high, low, close)
---and bands of the typical price (high + low + close) / 3.
---@field typical boolean?

---@class apex.ta.MACDOptions
---false (default): macd = EMA(fast) - EMA(slow), in price units. true: macd =
---100 * (EMA(fast) / EMA(slow) - 1), in percent (TTR's default).
---@field percent boolean?

---@class apex.ta.WMA: apex.ta.Indicator
local WMA = {}
---@param x number
---@return number? wma
function WMA:update(x) end

---@class apex.ta.DEMA: apex.ta.Indicator
local DEMA = {}
---@param x number
---@return number? dema
function DEMA:update(x) end

---@class apex.ta.TEMA: apex.ta.Indicator
local TEMA = {}
---@param x number
---@return number? tema
function TEMA:update(x) end

---@class apex.ta.KAMA: apex.ta.Indicator
---@field fast integer
---@field slow integer
local KAMA = {}
---@param x number
---@return number? kama
function KAMA:update(x) end

---@class apex.ta.HMA: apex.ta.Indicator
local HMA = {}
---@param x number
---@return number? hma
function HMA:update(x) end

---@class apex.ta.Stoch: apex.ta.Indicator
---@field k number? Last %K.
---@field d number? Last %D.
---@field d_n integer
---@field smooth integer
local Stoch = {}
---@param high number
---@param low number
---@param close number
---@return number? k %K 0..100
---@return number? d %D 0..100
function Stoch:update(high, low, close) end

---@class apex.ta.StochRSI: apex.ta.Indicator
---@field k number? Last %K.
---@field d number? Last %D.
---@field rsi_n integer
---@field k_n integer
---@field d_n integer
local StochRSI = {}
---@param x number
---@return number? k %K 0..100
---@return number? d %D 0..100
function StochRSI:update(x) end

---@class apex.ta.WillR: apex.ta.Indicator
local WillR = {}
---@param high number
---@param low number
---@param close number
---@return number? willr
function WillR:update(high, low, close) end

---@class apex.ta.CCI: apex.ta.Indicator
---@field c number
local CCI = {}
---@param high number
---@param low number
---@param close number
---@return number? cci
function CCI:update(high, low, close) end

---@class apex.ta.ROC: apex.ta.Indicator
---@field type "percent"|"discrete"|"continuous"
local ROC = {}
---@param x number
---@return number? roc
function ROC:update(x) end

---@class apex.ta.Momentum: apex.ta.Indicator
local Momentum = {}
---@param x number
---@return number? momentum
function Momentum:update(x) end

---@class apex.ta.MFI: apex.ta.Indicator
local MFI = {}
---@param high number
---@param low number
---@param close number
---@param volume number
---@return number? mfi
function MFI:update(high, low, close, volume) end

---@class apex.ta.Stdev: apex.ta.Indicator
---@field sample boolean
local Stdev = {}
---@param x number
---@return number? stdev
function Stdev:update(x) end

---@class apex.ta.Keltner: apex.ta.Indicator
---@field upper number? Last upper band.
---@field lower number? Last lower band.
---@field k number
---@field atr_n integer? nil when it is n.
---@field first_tr "range"|"skip"
local Keltner = {}
---@param high number
---@param low number
---@param close number
---@return number? middle
---@return number? upper
---@return number? lower
function Keltner:update(high, low, close) end

---@class apex.ta.Donchian: apex.ta.Indicator
---@field upper number? Last upper band.
---@field lower number? Last lower band.
local Donchian = {}
---@param high number
---@param low number
---@return number? middle
---@return number? upper
---@return number? lower
function Donchian:update(high, low) end

---@class apex.ta.ADX: apex.ta.Indicator
---@field plus_di number? Last +DI.
---@field minus_di number? Last -DI.
---@field dx number? Last DX.
local ADX = {}
---@param high number
---@param low number
---@param close number
---@return number? adx
---@return number? plus_di
---@return number? minus_di
---@return number? dx
function ADX:update(high, low, close) end

---@class apex.ta.Aroon: apex.ta.Indicator
---@field up number? Last Aroon up.
---@field down number? Last Aroon down.
local Aroon = {}
---@param high number
---@param low number
---@return number? oscillator up - down
---@return number? up 0..100
---@return number? down 0..100
function Aroon:update(high, low) end

---@class apex.ta.Supertrend: apex.ta.Indicator
---@field direction integer? Last direction, 1 or -1.
---@field upper number? Last upper band.
---@field lower number? Last lower band.
---@field k number
---@field first_tr "range"|"skip"
local Supertrend = {}
---@param high number
---@param low number
---@param close number
---@return number? line The lower band in an up trend, the upper in a down trend.
---@return number? direction 1 up, -1 down (integer).
---@return number? upper
---@return number? lower
function Supertrend:update(high, low, close) end

---@class apex.ta.PSAR: apex.ta.Object
---@field direction integer? Last direction, 1 or -1.
---@field step number
---@field max number
---@field first_gap number?
local PSAR = {}
---@param high number
---@param low number
---@return number? sar
---@return number? direction 1 long, -1 short (integer).
function PSAR:update(high, low) end

---@class apex.ta.Ichimoku: apex.ta.Object
---@field tenkan integer The tenkan period (obj.value is the line).
---@field kijun number? Last kijun line.
---@field span_a number?
---@field span_b number?
---@field cloud_a number?
---@field cloud_b number?
---@field senkou integer
local Ichimoku = {}
---@param high number
---@param low number
---@return number? tenkan
---@return number? kijun
---@return number? span_a
---@return number? span_b
---@return number? cloud_a nil until displaced.
---@return number? cloud_b nil until displaced.
function Ichimoku:update(high, low) end

---@class apex.ta.Pivots: apex.ta.Object
---@field r1 number?
---@field s1 number?
---@field r2 number?
---@field s2 number?
---@field r3 number?
---@field s3 number?
local Pivots = {}
---@param high number
---@param low number
---@param close number
---@param session number?
---@return number? pivot
---@return number? r1
---@return number? s1
---@return number? r2
---@return number? s2
---@return number? r3
---@return number? s3
function Pivots:update(high, low, close, session) end

---@class apex.ta.VWAP: apex.ta.Object
---@field n integer? nil for the session VWAP.
local VWAP = {}
---@param high number
---@param low number
---@param close number
---@param volume number
---@param session number?
---@return number? vwap
function VWAP:update(high, low, close, volume, session) end

---@class apex.ta.OBV: apex.ta.Object
local OBV = {}
---@param close number
---@param volume number
---@return number? obv
function OBV:update(close, volume) end

---@class apex.ta.ZScore: apex.ta.Indicator
---@field mean number? Last mean.
---@field stdev number? Last standard deviation.
---@field sample boolean
local ZScore = {}
---@param x number
---@return number? z
---@return number? mean
---@return number? stdev
function ZScore:update(x) end

---@class apex.ta.Correlation: apex.ta.Indicator
local Correlation = {}
---@param x number
---@param y number
---@return number? r
function Correlation:update(x, y) end

---@class apex.ta.Beta: apex.ta.Indicator
local Beta = {}
---@param asset number
---@param benchmark number
---@return number? beta
function Beta:update(asset, benchmark) end

---@class apex.ta.ROCOptions
---"percent" (default) 100 (x / x[n ago] - 1); "discrete" x / x[n ago] - 1; "continuous" log(x / x[n ago]) (TTR's default).
---@field type ("percent"|"discrete"|"continuous")?

---@class apex.ta.StdevOptions
---true: divide by n - 1 (TTR's runSD default).
---@field sample boolean?

---@class apex.ta.PSAROptions
---How far below the first low the first stop is; default (high - low) / sqrt 2 of the first bar.
---@field first_gap number?

---@class apex.ta.VWAPOptions
---Over the last n bars instead of the session.
---@field n integer?

---Incremental indicators: O(1) per update, no allocation per update.
---@class apex.ta
local ta = {}

---Simple moving average over n values.
---@param n integer
---@return apex.ta.SMA
function ta.sma(n) end

---Exponential moving average (alpha = 2/(n+1)), seeded with the SMA of the first n values.
---@param n integer
---@return apex.ta.EMA
function ta.ema(n) end

---Wilder's RSI over n changes.
---@param n integer
---@return apex.ta.RSI
function ta.rsi(n) end

---Wilder's average true range; update(high, low, close).
---@param n integer
---@param opts apex.ta.ATROptions? { first_tr = "skip" } for TTR's first bar.
---@return apex.ta.ATR
function ta.atr(n, opts) end

---Bollinger bands: mid = SMA(n), bands at k population standard deviations.
---@param n integer
---@param k number? Default 2.
---@param opts apex.ta.BollingerOptions? { typical = true } for TTR's typical price.
---@return apex.ta.Bollinger
function ta.bollinger(n, k, opts) end

---MACD: EMA(fast) - EMA(slow), signal = EMA(signal) of it.
---@param fast integer? Default 12.
---@param slow integer? Default 26.
---@param signal integer? Default 9.
---@param opts apex.ta.MACDOptions? { percent = true } for TTR's percent MACD.
---@return apex.ta.MACD
function ta.macd(fast, slow, signal, opts) end

---Highest of the last n values.
---@param n integer
---@return apex.ta.Extreme
function ta.highest(n) end

---Lowest of the last n values.
---@param n integer
---@return apex.ta.Extreme
function ta.lowest(n) end

---Weighted moving average: weights 1 (oldest) .. n (newest). update(x).
---@param n integer? Default 10.
---@return apex.ta.WMA
function ta.wma(n) end

---Double EMA: 2 EMA(x) - EMA(EMA(x)). update(x).
---@param n integer? Default 10.
---@return apex.ta.DEMA
function ta.dema(n) end

---Triple EMA: 3 e1 - 3 e2 + e3. update(x).
---@param n integer? Default 10.
---@return apex.ta.TEMA
function ta.tema(n) end

---Kaufman's adaptive moving average. update(x).
---@param n integer? Efficiency ratio period, default 10.
---@param fast integer? Default 2.
---@param slow integer? Default 30.
---@return apex.ta.KAMA
function ta.kama(n, fast, slow) end

---Hull moving average: WMA(2 WMA(x, n/2) - WMA(x, n), sqrt n); n >= 2. update(x).
---@param n integer? Default 20.
---@return apex.ta.HMA
function ta.hma(n) end

---Stochastic oscillator, percent; smooth = 3 for the slow one. update(high, low, close).
---@param n integer? Default 14.
---@param d_n integer? %D period, default 3.
---@param smooth integer? %K smoothing, default 1.
---@return apex.ta.Stoch
function ta.stoch(n, d_n, smooth) end

---Stochastic RSI, percent. update(x).
---@param rsi_n integer? Default 14.
---@param n integer? Default 14.
---@param k_n integer? Default 3.
---@param d_n integer? Default 3.
---@return apex.ta.StochRSI
function ta.stochrsi(rsi_n, n, k_n, d_n) end

---Williams %R, -100 .. 0. update(high, low, close).
---@param n integer? Default 14.
---@return apex.ta.WillR
function ta.willr(n) end

---Commodity channel index over the typical price; O(n) per update. update(high, low, close).
---@param n integer? Default 20.
---@param c number? Default 0.015.
---@return apex.ta.CCI
function ta.cci(n, c) end

---Rate of change over n bars; percent by default. update(x).
---@param n integer? Default 10.
---@param opts apex.ta.ROCOptions?
---@return apex.ta.ROC
function ta.roc(n, opts) end

---x - x[n ago]. update(x).
---@param n integer? Default 10.
---@return apex.ta.Momentum
function ta.momentum(n) end

---Money flow index, 0..100. update(high, low, close, volume).
---@param n integer? Default 14.
---@return apex.ta.MFI
function ta.mfi(n) end

---Standard deviation of the last n values (population by default). update(x).
---@param n integer? Default 20.
---@param opts apex.ta.StdevOptions?
---@return apex.ta.Stdev
function ta.stdev(n, opts) end

---Keltner channel: EMA(typical price, n) +/- k ATR(atr_n). update(high, low, close).
---@param n integer? Default 20.
---@param k number? Default 2.
---@param atr_n integer? Default n.
---@param opts apex.ta.ATROptions?
---@return apex.ta.Keltner
function ta.keltner(n, k, atr_n, opts) end

---Donchian channel: highest high and lowest low of n bars. update(high, low).
---@param n integer? Default 20.
---@return apex.ta.Donchian
function ta.donchian(n) end

---Average directional index with +DI and -DI (Wilder). update(high, low, close).
---@param n integer? Default 14.
---@return apex.ta.ADX
function ta.adx(n) end

---Aroon up/down over n + 1 bars, and their difference. update(high, low).
---@param n integer? Default 25.
---@return apex.ta.Aroon
function ta.aroon(n) end

---Supertrend over ATR(n) bands k wide (TradingView's). update(high, low, close).
---@param n integer? Default 10.
---@param k number? Default 3.
---@param opts apex.ta.ATROptions?
---@return apex.ta.Supertrend
function ta.supertrend(n, k, opts) end

---Parabolic stop and reverse (Wilder; TTR's sar.c). update(high, low).
---@param step number? Default 0.02.
---@param max number? Default 0.2.
---@param opts apex.ta.PSAROptions?
---@return apex.ta.PSAR
function ta.psar(step, max, opts) end

---Ichimoku lines; spans as computed on this bar, cloud = spans from kijun bars ago. update(high, low).
---@param tenkan integer? Default 9.
---@param kijun integer? Default 26.
---@param senkou integer? Default 52.
---@return apex.ta.Ichimoku
function ta.ichimoku(tenkan, kijun, senkou) end

---Classic floor pivot points from the previous session. update(high, low, close, session).
---@return apex.ta.Pivots
function ta.pivots() end

---Session VWAP of the typical price; { n = k } for TTR's rolling VWAP. update(high, low, close, volume, session).
---@param opts apex.ta.VWAPOptions?
---@return apex.ta.VWAP
function ta.vwap(opts) end

---On-balance volume. update(close, volume).
---@return apex.ta.OBV
function ta.obv() end

---(x - mean) / sd over the last n values, x included. update(x).
---@param n integer? Default 20.
---@param opts apex.ta.StdevOptions?
---@return apex.ta.ZScore
function ta.zscore(n, opts) end

---Pearson's correlation of the last n pairs. update(x, y).
---@param n integer? Default 20.
---@return apex.ta.Correlation
function ta.correlation(n) end

---cov(asset, benchmark) / var(benchmark) over the last n pairs. update(asset, benchmark).
---@param n integer? Default 20.
---@return apex.ta.Beta
function ta.beta(n) end

---True on the update where a went from <= b to > b. Any nil gives false.
---@param prev_a number?
---@param prev_b number?
---@param a number?
---@param b number?
---@return boolean
function ta.crossed_above(prev_a, prev_b, a, b) end

---True on the update where a went from >= b to < b. Any nil gives false.
---@param prev_a number?
---@param prev_b number?
---@param a number?
---@param b number?
---@return boolean
function ta.crossed_below(prev_a, prev_b, a, b) end

---------------------------------------------------------------------------------------
-- apex.instructions and apex.params (require "apex.instructions" / "apex.params")

---@class apex.instructions
---@field examples string[] Every supported sentence shape.
local instructions = {}

---Compiles a sentence like "close if VIX > 40" into a rule.
---@param text string
---@return apex.Rule? rule
---@return string? err Quotes the text and suggests forms that work.
function instructions.compile(text) end

---Checks a rule file's table.
---@param rule any
---@param where string? Names the file in the error.
---@return true? ok
---@return string? err
function instructions.validate(rule, where) end

---@class apex.params
local params = {}

---Merges params over defaults; unknown names and wrong types are errors naming them.
---@param given table?
---@param defaults table
---@param who string Module name for errors.
---@return table
function params.resolve(given, defaults, who) end

---Raises an error naming the parameter unless p[name] is a number in [lo, hi].
---@param p table
---@param name string
---@param lo number
---@param hi number
---@param who string
function params.range(p, name, lo, hi, who) end

---Like range, for whole numbers (periods, bar counts).
---@param p table
---@param name string
---@param lo integer
---@param hi integer
---@param who string
function params.period(p, name, lo, hi, who) end

---------------------------------------------------------------------------------------
-- The apex global

---@class apex
---@field version string The host's version.
---@field ta apex.ta Same as require "apex.ta".
apex = {}

---string.format(fmt, ...) then logged with the pipeline name. A line is cut at 1024 bytes;
---a pipeline writes at most 200 lines and 64 KiB a minute (print and the logs).
---@param fmt string
---@param ... any
function apex.log(fmt, ...) end

---Unix seconds by the host clock (data time in backtests and replays).
---@return number
function apex.now() end

---Last close of symbol (any symbol in the data files), or nil before its first bar.
---@param symbol string
---@return number?
function apex.price(symbol) end

---Change from the open of symbol's first bar of the UTC day, as a fraction; nil without data.
---@param symbol string
---@return number?
function apex.change(symbol) end

---Highest news impact (0 none, 1 low, 2 medium, 3 high) in the last `minutes`.
---@param symbol string? The symbol's items and market-wide "*" items; nil = every item.
---@param minutes number? Default 60.
---@return integer
function apex.news(symbol, minutes) end

---Checks that t is a table and returns it; a pipeline file ends with `return apex.pipeline { ... }`.
---@param t apex.Pipeline
---@return apex.Pipeline
function apex.pipeline(t) end

---require reaches only the host's embedded modules.
---@overload fun(name: "apex.ta"): apex.ta
---@overload fun(name: "apex.instructions"): apex.instructions
---@overload fun(name: "apex.params"): apex.params
---@param name string
---@return any
function require(name) end
