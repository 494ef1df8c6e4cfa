---@meta apex
-- Type annotations for the apex-host Lua API, for lua-language-server (sumneko).
-- Nothing here runs: the host provides the real `apex` global. The repository's
-- .luarc.json points the language server at this folder, so editors opened at the
-- repository root complete ctx., bar., apex.ta. and check field names.
-- Reference: docs/lua-api.md.

---------------------------------------------------------------------------------------
-- Market data and trading objects

---One bar of market data. Prices are floats converted from the host's fixed point.
---@class apex.Bar
---@field time integer Bar time, Unix seconds (simulated time in backtests).
---@field symbol string The symbol, e.g. "AAPL".
---@field open number
---@field high number
---@field low number
---@field close number
---@field volume number
---@field bid number? Best bid when the data has quotes, else nil.
---@field ask number? Best ask when the data has quotes, else nil.

---An entry signal returned by a strategy's on_bar.
---@class apex.Signal
---@field side "buy"|"sell" "buy" opens (or adds to) a long, "sell" opens a short.
---@field stop_loss number? Stop price; nil = exits.stop_loss_pct from the entry.
---@field take_profit number? Target price; nil = exits.take_profit_pct from the entry.
---@field entry number? Limit price for execution.entry = "limit"; nil = market.
---@field qty number? Quantity; nil = the risk stage sizes it from stop distance and limits.
---@field confidence number? 0..1, default 1.
---@field reason string? Why; shown in the execution log and dashboard.

---An open position as scripts see it (ctx.position, edge(), rules). Read-only.
---@class apex.Position
---@field execution_id integer The execution that opened it.
---@field symbol string
---@field side "long"|"short"
---@field qty number
---@field entry_price number Average entry price.
---@field current_price number Last price the monitor saw.
---@field unrealized_pnl number In account currency.
---@field unrealized_pnl_pct number Fraction of the entry value: 0.05 = +5%.
---@field stop_loss number Current stop (the trailing stop once armed).
---@field take_profit number
---@field opened_at integer Unix seconds.

---A fill reported to on_fill.
---@class apex.Fill
---@field side "buy"|"sell"
---@field qty number
---@field price number

---What on_exit receives.
---@class apex.ExitInfo
---@field reason string The exit condition, e.g. "stop_loss", "profit_target", "instruction".
---@field position apex.Position The position as it was when the exit was decided.

---The table bias() may return instead of a plain direction.
---@class apex.BiasResult
---@field direction "long"|"short"|"neutral"
---@field confidence number? 0..1.
---@field reason string? Shown in the execution log.

---@alias apex.BiasDirection "long"|"short"|"neutral"

---One ctx per module per symbol.
---@class apex.Ctx
---@field symbol string The symbol this ctx belongs to.
---@field params table The module's params from the pipeline (strategy/bias `params`).
---@field state table Per-symbol table owned by the host; survives hot reloads. Keep indicators here.
---@field now number Unix seconds; simulated time in backtests.
---@field position apex.Position? The open position on this symbol, or nil.
local Ctx = {}

---string.format(fmt, ...) then logged with the pipeline name and symbol.
---@param fmt string
---@param ... any
function Ctx.log(fmt, ...) end

---------------------------------------------------------------------------------------
-- Modules

---A strategy module: the file's chunk returns this table. Only on_bar is required.
---@class apex.Strategy
---@field on_start? fun(ctx: apex.Ctx) Once per symbol, before that symbol's first bar.
---@field on_bar fun(ctx: apex.Ctx, bar: apex.Bar): apex.Signal? Every bar of every symbol; return a signal to enter.
---@field edge? fun(ctx: apex.Ctx, position: apex.Position): number Current edge of an open position (fraction); below exits.early_exit_edge -> early_exit, below 0 -> edge_disappeared.
---@field opportunity? fun(ctx: apex.Ctx): number Opportunity score for rebalancing.
---@field on_fill? fun(ctx: apex.Ctx, fill: apex.Fill)
---@field on_exit? fun(ctx: apex.Ctx, info: apex.ExitInfo)
---@field on_reload? fun(ctx: apex.Ctx) Per symbol after a hot reload replaced the module.

---A bias module: the file's chunk returns this table.
---@class apex.Bias
---@field on_start? fun(ctx: apex.Ctx)
---@field on_bar? fun(ctx: apex.Ctx, bar: apex.Bar) Keep indicators current; the return value is ignored.
---@field bias fun(ctx: apex.Ctx): apex.BiasDirection|apex.BiasResult Asked when the strategy signals. "long" allows buys only, "short" sells only, "neutral" both.
---@field on_reload? fun(ctx: apex.Ctx)

---The market view given to instruction rules (same data as apex.*).
---@class apex.Market
---@field price fun(symbol: string): number? Last price, nil before the first bar.
---@field change fun(symbol: string): number? Fraction since the session's first bar (-0.03 = down 3%).
---@field news fun(symbol: string?, minutes: number): integer Highest news impact 0..3 in the last `minutes` (nil symbol = any, incl. market-wide "*").
---@field now fun(): number Unix seconds.

---An emergency-exit rule: what a rule file returns and what instructions compile to.
---@class apex.Rule
---@field name string Shown in the exit log.
---@field check fun(m: apex.Market, position: apex.Position?): boolean, string Returns fired and a reason such as "VIX 41.20 > 40".

---------------------------------------------------------------------------------------
-- Pipeline

---@class apex.DataConfig
---@field files string|string[] Bar CSV file(s): timestamp,symbol,open,high,low,close,volume[,bid,ask]. Required.
---@field news string? News CSV: timestamp,symbol,impact,headline ("*" = market-wide).
---@field speed number? Replay speed for `run` (default 1).
---@field follow boolean? Keep reading appended rows (default false).

---@class apex.BrokerConfig
---@field kind "paper"? Default "paper".
---@field starting_cash number? Default 100000.
---@field spread_bps number? Default 2.
---@field slippage_bps number? Default 1.
---@field fee_per_share number? Default 0.
---@field fee_bps number? Default 0.
---@field fee_min number? Default 0.
---@field state string? File keeping the paper account across runs ("" = none).

---@class apex.ModuleRef
---@field file string Path relative to the pipeline file.
---@field params table? Becomes ctx.params.

---@class apex.RiskConfig
---@field capital number? 0 = account equity (default).
---@field max_risk_pct number? Risk per trade, fraction of capital (default 0.01).
---@field max_position_pct number? Largest position, fraction of capital (default 0.05).
---@field max_positions integer? Default 10.
---@field daily_loss_limit_pct number? Circuit breaker (default 0.03).
---@field allow_short boolean? Default true.
---@field pdt_check boolean? Default true.
---@field pdt_day_trade_limit integer? Default 3.

---@class apex.TrailingStopConfig
---@field enabled boolean? Default true.
---@field activation_pct number? Default 0.05.
---@field distance_pct number? Default 0.03.

---@class apex.PartialStage
---@field name string
---@field profit_threshold number Fraction, e.g. 0.15.
---@field exit_percentage number Whole percent of the original quantity, e.g. 50.

---@class apex.PartialExitsConfig
---@field enabled boolean? Default true.
---@field stages apex.PartialStage[]? Default 50% at +15%, 25% at +25%.

---@class apex.ExitExecution
---@field timeout_seconds number?
---@field max_walks integer?

---@class apex.ExitsConfig
---@field stop_loss_pct number? Default 0.04 (when a signal has no stop).
---@field take_profit_pct number? Default 0.10.
---@field trailing_stop apex.TrailingStopConfig?
---@field partial_exits apex.PartialExitsConfig?
---@field liquidity { max_spread: number?, min_volume: number? }? Defaults 0.03 and 50.
---@field early_exit_edge number? Default 0.02.
---@field time_urgent_minutes integer? Default 5.
---@field session_close string? UTC "HH:MM", default "21:00".
---@field rebalance_min_improvement number? Default 0.10.
---@field execution table<"CRITICAL"|"HIGH"|"MEDIUM"|"LOW", apex.ExitExecution>?

---@class apex.MonitoringConfig
---@field normal_frequency number? Seconds, default 30.
---@field urgent_frequency number? Seconds, default 5.
---@field urgent_conditions { near_stop_loss_pct: number?, near_profit_target_pct: number?, near_trailing_stop_pct: number? }?
---@field price_cache_ttl_seconds number? Default 10.
---@field max_api_calls_per_minute integer? Default 60.
---@field retry_backoff number[]? Seconds, default { 60, 120, 240, 480, 960 }.
---@field persist_interval number? Seconds, default 60.

---@class apex.NotificationsConfig
---@field telegram { token_env: string, chat_id: string }?
---@field webhooks string[]?

---@class apex.ExecutionConfig
---@field tool "broker"? Default "broker".
---@field entry "market"|"limit"? Default "market".

---@class apex.InstrumentRules
---@field tick number Price increment.
---@field lot number Quantity increment.

---The table a pipeline file returns (see strategies/examples/reference.lua).
---@class apex.Pipeline
---@field name string Required; [A-Za-z0-9_.-], at most 63 characters.
---@field symbols string[] Required.
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
---@field upper number? Last upper band.
---@field lower number? Last lower band.
---@field stdev number? Last population standard deviation.
---@field width number? (upper - lower) / mid.
local Bollinger = {}
---@param x number
---@return number? mid
---@return number? upper
---@return number? lower
function Bollinger:update(x) end

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

---Unix seconds by the host clock (simulated in backtests).
---@return number
function apex.now() end

---Last price of symbol, or nil before its first bar.
---@param symbol string
---@return number?
function apex.price(symbol) end

---Change of symbol since the session's first bar, as a fraction; nil without data.
---@param symbol string
---@return number?
function apex.change(symbol) end

---Highest news impact (0 none, 1 low, 2 medium, 3 high) in the last `minutes`.
---@param symbol string? nil = any symbol, including market-wide "*".
---@param minutes number
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
