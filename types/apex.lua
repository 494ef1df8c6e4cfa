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
---@field stop_loss number? Stop price (> 0); nil = exits.stop_loss_pct from the entry. Rounded to the tick.
---@field take_profit number? Target price (> 0); nil = exits.take_profit_pct from the entry. Rounded to the tick.
---@field entry number? Reference entry price (> 0; default the bar's close) for default levels and sizing; the limit price when execution.entry = "limit".
---@field qty number Positive for longs and shorts alike.? Quantity (> 0); nil = the risk stage sizes it. Still capped by risk.max_position_pct and rounded down to the lot.
---@field confidence number? 0..1, default 1.
---@field reason string? Why; shown in the log, the execution's events and `apex-host status`.

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
---@field params table The module's params from the pipeline (strategy/bias `params`); {} when none.
---@field state table Per-symbol table owned by the host; survives hot reloads. Keep indicators here.
---@field now number Unix seconds by the host clock (data time in backtests and replays).
---@field position apex.Position? The open position on this symbol; nil until the entry has filled.
local Ctx = {}

---string.format(fmt, ...) then logged with the pipeline name and symbol.
---@param fmt string
---@param ... any
function Ctx.log(fmt, ...) end

---------------------------------------------------------------------------------------
-- Modules

---A strategy module: the file's chunk returns this table. Only on_bar is required.
---@class apex.Strategy
---@field on_start? fun(ctx: apex.Ctx) Once per symbol, lazily, before this module's first callback for it (usually its first bar). Not run again after a hot reload.
---@field on_bar fun(ctx: apex.Ctx, bar: apex.Bar): apex.Signal? Every bar of the pipeline's symbols, after the bias's on_bar; return a signal to enter.
---@field edge? fun(ctx: apex.Ctx, position: apex.Position): number? Current edge of an open position (fraction); called at each monitoring check of an open position (0 <= edge < exits.early_exit_edge -> early_exit, edge < 0 -> edge_disappeared).
---@field opportunity? fun(ctx: apex.Ctx): number? Opportunity score for rebalancing; called only at risk.max_positions, for the position's symbol and the free symbols (rebalance when best free - position >= exits.rebalance_min_improvement).
---@field on_fill? fun(ctx: apex.Ctx, fill: apex.Fill) After each fill of the execution's orders.
---@field on_exit? fun(ctx: apex.Ctx, info: apex.ExitInfo) Once the broker shows the position closed.
---@field on_reload? fun(ctx: apex.Ctx) Per symbol after a hot reload replaced the module; ctx.state is kept.

---A bias module: the file's chunk returns this table.
---@class apex.Bias
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

---@class apex.DataConfig
---@field files string|string[] Bar CSV file(s): timestamp,symbol,open,high,low,close,volume[,bid,ask]. Required.
---@field news string? News CSV: timestamp,symbol,impact(low|medium|high),headline ("*" = market-wide).
---@field speed number? >= 0, default 1. Replay speed of `run` when --speed is not given.
---@field follow boolean? Keep reading appended rows; `run` then runs until SIGINT/SIGTERM (default false).

---@class apex.BrokerConfig
---@field kind ("paper"|"alpaca")? Default "paper"; only "paper" loads in this build.
---@field starting_cash number? Default 100000.
---@field spread_bps number? Default 2; used when bars have no bid/ask (market orders pay half).
---@field slippage_bps number? Default 1.
---@field fee_per_share number? Default 0.
---@field fee_bps number? Default 0.
---@field fee_min number? Default 0 (per fill, when any fee applies).
---@field state string? Paper account file. "" (default) = "<db>.<pipeline>.paper" in `run`, in memory in `backtest`; ":memory:" = keep nothing.
---@field base_url string? Reserved for real broker adapters.
---@field key_env string? Reserved: name of the environment variable holding the API key.
---@field secret_env string? Reserved: name of the environment variable holding the API secret.

---@class apex.ModuleRef
---@field file string Path relative to the pipeline file.
---@field params table? Becomes ctx.params.

---@class apex.RiskConfig
---@field capital number? 0 = account equity (default).
---@field max_risk_pct number? Risk per trade, fraction of capital (default 0.01).
---@field max_position_pct number? Largest position, fraction of capital (default 0.05).
---@field max_positions integer? Default 10.
---@field daily_loss_limit_pct number? Circuit breaker (default 0.03): closes all positions (CRITICAL) and blocks entries until the next UTC trading day.
---@field allow_short boolean? Default true.
---@field pdt_check boolean? Default true; applies while equity < 25000.
---@field pdt_day_trade_limit integer? Day trades per 5 business days under PDT (default 3).

---@class apex.TrailingStopConfig
---@field enabled boolean? Default true.
---@field activation_pct number? Default 0.05.
---@field distance_pct number? Default 0.03.

---@class apex.PartialStage
---@field name string? Default "stage_N".
---@field profit_threshold number Fraction, e.g. 0.15.
---@field exit_percentage number Whole percent of the original quantity, e.g. 50.

---@class apex.PartialExitsConfig
---@field enabled boolean? Default true.
---@field stages apex.PartialStage[]? Default 50% at +15%, 25% at +25%.

---@class apex.ExitExecution
---@field timeout_seconds integer? 1..3600; defaults 5 / 10 / 30 / 60 (CRITICAL..LOW).
---@field max_walks integer? 0..100; defaults 0 / 2 / 5 / 10.
---@field price ("market"|"aggressive"|"fair"|"conservative")? Defaults market / aggressive / fair / conservative.
---@field market_after_walks boolean? Defaults true / true / false / false.

---All fields are in effect (the prioritised exit engine).
---@class apex.ExitsConfig
---@field stop_loss_pct number? Default 0.04 (when a signal has no stop).
---@field take_profit_pct number? Default 0.10 (when a signal has no target).
---@field trailing_stop apex.TrailingStopConfig?
---@field partial_exits apex.PartialExitsConfig?
---@field liquidity { max_spread: number?, min_volume: number? }? Defaults 0.03 (price units) and 50.
---@field early_exit_edge number? Default 0.02.
---@field time_urgent_minutes integer? Default 5.
---@field session_close string? UTC "HH:MM", default "21:00".
---@field rebalance_min_improvement number? Default 0.10.
---@field execution table<"CRITICAL"|"HIGH"|"MEDIUM"|"LOW", apex.ExitExecution>?

---@class apex.MonitoringConfig
---@field normal_frequency integer? Seconds, default 30.
---@field urgent_frequency integer? Seconds, default 5; at most normal_frequency.
---@field urgent_conditions { near_stop_loss_pct: number?, near_profit_target_pct: number?, near_trailing_stop_pct: number? }?
---@field price_cache_ttl_seconds integer? Default 10.
---@field max_api_calls_per_minute integer? Default 60; limits every broker call of the pipeline, paper broker (simulated time) included.
---@field retry_backoff integer[]? Seconds after consecutive broker failures, default { 60, 120, 240, 480, 960 }; the last repeats. At most 10.
---@field persist_interval integer? Seconds between unrealized P&L writes, default 60 (live runs; backtests write on state changes).

---Accepted and validated; nothing is delivered yet.
---@class apex.NotificationsConfig
---@field telegram { token_env: string, chat_id: string|integer }?
---@field webhooks string|string[]?

---@class apex.ExecutionConfig
---@field tool ("broker"|"webhook")? Default "broker"; "webhook" is refused in this build.
---@field entry ("market"|"limit")? Default "market"; "limit" uses the signal's entry (or the bar's close).
---@field webhook_url string? Required with tool = "webhook".

---@class apex.InstrumentRules
---@field tick number? Price increment (default 0.01).
---@field lot number? Quantity increment (default 1).

---The table a pipeline file returns (see strategies/examples/reference.lua).
---@class apex.Pipeline
---@field name string Required; [A-Za-z0-9_.-], at most 63 characters; unique per process.
---@field symbols string[] Required; the symbols traded (others in the data only update prices).
---@field data apex.DataConfig Required.
---@field broker apex.BrokerConfig?
---@field bias (string|apex.ModuleRef)?
---@field strategy string|apex.ModuleRef Required.
---@field risk apex.RiskConfig?
---@field exits apex.ExitsConfig?
---@field monitoring apex.MonitoringConfig?
---@field instructions (string|{ file: string })[]? Sentences or rule files.
---@field notifications apex.NotificationsConfig?
---@field execution apex.ExecutionConfig?
---@field instruments table<string, apex.InstrumentRules>? "default" applies to unlisted symbols.

---------------------------------------------------------------------------------------
-- apex.ta

---@class apex.ta.Indicator
---@field n integer The period.
---@field value number? The last value; nil until warmed up.
local Indicator = {}
---@return boolean
function Indicator:ready() end

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
local Bollinger = {}
---@param x number
---@return number? mid
---@return number? upper
---@return number? lower
function Bollinger:update(x) end

---`n` is the slow period.
---@class apex.ta.MACD: apex.ta.Indicator
---@field signal number? Last signal-line value.
---@field histogram number? Last histogram value.
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
---@return apex.ta.ATR
function ta.atr(n) end

---Bollinger bands: mid = SMA(n), bands at k population standard deviations.
---@param n integer
---@param k number? Default 2.
---@return apex.ta.Bollinger
function ta.bollinger(n, k) end

---MACD: EMA(fast) - EMA(slow), signal = EMA(signal) of it.
---@param fast integer? Default 12.
---@param slow integer? Default 26.
---@param signal integer? Default 9.
---@return apex.ta.MACD
function ta.macd(fast, slow, signal) end

---Highest of the last n values.
---@param n integer
---@return apex.ta.Extreme
function ta.highest(n) end

---Lowest of the last n values.
---@param n integer
---@return apex.ta.Extreme
function ta.lowest(n) end

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

---string.format(fmt, ...) then logged with the pipeline name.
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
