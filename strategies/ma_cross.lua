--[[ ma_cross: moving-average crossover entries with ATR stops.

What it does
  Buys on the bar where the fast moving average crosses above the slow one (golden
  cross). On a death cross it sells short, but only with params.allow_short = true (the
  pipeline's risk.allow_short must allow it too); without it a death cross emits nothing
  and the open long's edge turns negative so the exit engine can close it
  (edge_disappeared). Signals are emitted only on the crossing bar, and not while a
  position on this symbol is open.

  stop_loss   = close -+ stop_atr * ATR(atr_period)          (default 2 x ATR(14))
  take_profit = close +- reward_risk * (stop distance)        (default 2:1)

Parameters (pipeline: strategy = { file = "ma_cross.lua", params = { ... } })
  fast = 10          fast moving-average period, in bars
  slow = 30          slow moving-average period, in bars (must be > fast)
  kind = "sma"       "sma" or "ema"
  atr_period = 14    ATR period for the stop distance
  stop_atr = 2       stop distance in ATRs
  reward_risk = 2    target distance as a multiple of the stop distance
  allow_short = false  sell short on a death cross
  edge_scale = 0.10  edge() at full trend strength (compare exits.early_exit_edge, 0.02)

edge(ctx, position)
  How far the close is beyond the slow average in the position's favour, in ATRs,
  clamped to 2 ATRs and scaled to edge_scale: 1 ATR = 0.05 with the defaults. Once the
  averages cross back against the position it is negative (the reason to hold is gone).

opportunity(ctx)
  The same strength for a fresh entry in the trend's direction, 0..edge_scale.
]]

local ta = require("apex.ta")
local params = require("apex.params")

local NAME = "ma_cross"

local M = {}

-- Declared, so the host checks the pipeline's params (and --param) against it when it
-- loads the file, and `check` refuses a misspelt or out-of-range one before any bar.
M.params = {
    fast = { type = "integer", default = 10, min = 1, max = 100000,
             doc = "fast moving-average period, in bars" },
    slow = { type = "integer", default = 30, min = 2, max = 100000,
             doc = "slow moving-average period, in bars (must be > fast)" },
    kind = { type = "string", default = "sma", one_of = { "sma", "ema" },
             doc = "moving-average kind" },
    atr_period = { type = "integer", default = 14, min = 1, max = 100000,
                   doc = "ATR period for the stop distance" },
    stop_atr = { type = "number", default = 2, min = 0.01, max = 100,
                 doc = "stop distance in ATRs" },
    reward_risk = { type = "number", default = 2, min = 0.01, max = 100,
                    doc = "target distance as a multiple of the stop distance" },
    allow_short = { type = "boolean", default = false, doc = "sell short on a death cross" },
    edge_scale = { type = "number", default = 0.10, min = 0, max = 1,
                   doc = "edge() at full trend strength" },
}

local function clamp(x, lo, hi)
    return x < lo and lo or (x > hi and hi or x)
end

-- Indicators live in ctx.state so they survive a hot reload; they are rebuilt only when
-- the parameters that shape them change.
local function setup(ctx)
    -- The host already filled ctx.params from M.params; declared() again is a cheap
    -- no-op there and gives the defaults when the module runs outside the host (tests).
    local p = params.declared(M.params, ctx.params, NAME .. ".lua")
    if p.fast >= p.slow then
        error(string.format("%s: params.fast (%d) must be smaller than params.slow (%d)", NAME,
                            p.fast, p.slow), 0)
    end
    local key = string.format("%s:%d:%d:%d", p.kind, p.fast, p.slow, p.atr_period)
    local s = ctx.state.ma_cross
    if s == nil or s.key ~= key then
        local ma = p.kind == "ema" and ta.ema or ta.sma
        s = { key = key, fast = ma(p.fast), slow = ma(p.slow), atr = ta.atr(p.atr_period),
              prev_fast = nil, prev_slow = nil, close = nil }
        ctx.state.ma_cross = s
    end
    ctx.state.ma_cross_params = p
    return s, p
end

local function state(ctx)
    local s, p = ctx.state.ma_cross, ctx.state.ma_cross_params
    if s == nil or p == nil then
        return setup(ctx)
    end
    return s, p
end

function M.on_start(ctx)
    setup(ctx)
end

function M.on_reload(ctx)
    local s, p = setup(ctx)
    ctx.log("ma_cross reloaded: %s %d/%d, %s", p.kind, p.fast, p.slow,
            s.fast:ready() and "indicators kept" or "warming up")
end

function M.on_bar(ctx, bar)
    local s, p = state(ctx)
    local close = bar.close
    local fast = s.fast:update(close)
    local slow = s.slow:update(close)
    local atr = s.atr:update(bar.high, bar.low, close)
    local prev_fast, prev_slow = s.prev_fast, s.prev_slow
    s.prev_fast, s.prev_slow, s.close = fast, slow, close

    if fast == nil or slow == nil or atr == nil or atr <= 0 or ctx.position ~= nil then
        return nil
    end
    local up = ta.crossed_above(prev_fast, prev_slow, fast, slow)
    local down = not up and p.allow_short and ta.crossed_below(prev_fast, prev_slow, fast, slow)
    if not up and not down then
        return nil -- the common case: keep it cheap, this runs on every bar
    end
    local label = p.kind:upper()
    local risk = p.stop_atr * atr
    -- confidence grows with how decisively price has left the slow average
    local confidence = clamp(0.5 + math.abs(close - slow) / atr / 4, 0.5, 1)

    if up then
        return {
            side = "buy",
            stop_loss = close - risk,
            take_profit = close + p.reward_risk * risk,
            confidence = confidence,
            reason = string.format("golden cross: %s%d %.2f above %s%d %.2f, ATR %.2f", label,
                                   p.fast, fast, label, p.slow, slow, atr),
        }
    end
    if down then
        return {
            side = "sell",
            stop_loss = close + risk,
            take_profit = math.max(close - p.reward_risk * risk, close * 0.01),
            confidence = confidence,
            reason = string.format("death cross: %s%d %.2f below %s%d %.2f, ATR %.2f", label,
                                   p.fast, fast, label, p.slow, slow, atr),
        }
    end
    return nil
end

-- Trend strength in the given direction (+1 long, -1 short), in ATRs beyond the slow
-- average, or nil while warming up.
local function strength(s, dir)
    local slow, atr = s.slow.value, s.atr.value
    if slow == nil or atr == nil or atr <= 0 or s.close == nil then
        return nil
    end
    return dir * (s.close - slow) / atr
end

function M.edge(ctx, position)
    local s, p = state(ctx)
    local dir = position and position.side == "short" and -1 or 1
    local st = strength(s, dir)
    if st == nil then
        return p.edge_scale -- no view yet: do not push the position out
    end
    local e = clamp(st / 2, -1, 1) * p.edge_scale
    local fast, slow = s.fast.value, s.slow.value
    if fast ~= nil and dir * (fast - slow) < 0 then
        -- the averages crossed back: the setup that justified the trade is gone
        return math.min(e, -0.01 * p.edge_scale - 1e-6)
    end
    return e
end

function M.opportunity(ctx)
    local s, p = state(ctx)
    local fast, slow = s.fast.value, s.slow.value
    if fast == nil or slow == nil then
        return 0
    end
    local dir = fast >= slow and 1 or -1
    if dir < 0 and not p.allow_short then
        return 0
    end
    local st = strength(s, dir)
    return st and clamp(st / 2, 0, 1) * p.edge_scale or 0
end

return M
