--[[ trend_bias: trade with the trend of a long EMA.

What it does
  long     when the close is above EMA(period) and the EMA is rising
  short    when the close is below EMA(period) and the EMA is falling
  neutral  otherwise (price and slope disagree: no clear trend), and while warming up

  "Rising" means the EMA gained more than min_slope_atr ATRs over the last slope_bars
  bars, so a flat EMA wobbling by fractions of a cent does not count as a trend.
  The bias is asked when the strategy signals: "long" lets only buys through, "short"
  only sells, "neutral" both.

  confidence = distance of the close from the EMA in ATRs / 2, between 0.1 and 1.

Parameters (pipeline: bias = { file = "trend_bias.lua", params = { ... } })
  period = 50          EMA period, in bars
  slope_bars = 10      bars over which the EMA's direction is measured
  min_slope_atr = 0.05 the EMA must move at least this many ATRs over slope_bars
  atr_period = 14      ATR period used to normalise distances
  edge_scale = 0.10    edge()/opportunity() at full strength

edge(ctx, position) / opportunity(ctx)
  A bias module's callbacks are bias() and on_bar(); these two are here so the file
  can also serve as the strategy slot's edge source when copied into a strategy: the
  distance from the EMA in the position's favour, in ATRs / 2, times edge_scale.
]]

local ta = require("apex.ta")
local params = require("apex.params")

local NAME = "trend_bias"
-- Declared: the host fills ctx.params from these defaults and the pipeline's params,
-- checked against them at load, so `check` refuses an unknown or out-of-range one.
local PARAMS = {
    period = { type = "integer", default = 50, min = 2, max = 100000 },
    slope_bars = { type = "integer", default = 10, min = 1, max = 10000 },
    min_slope_atr = { type = "number", default = 0.05, min = 0, max = 100 },
    atr_period = { type = "integer", default = 14, min = 1, max = 100000 },
    edge_scale = { type = "number", default = 0.10, min = 0, max = 1 },
}

local function clamp(x, lo, hi)
    return x < lo and lo or (x > hi and hi or x)
end

local function setup(ctx)
    local p = params.declared(PARAMS, ctx.params, NAME .. ".lua")
    local key = string.format("%d:%d:%d", p.period, p.slope_bars, p.atr_period)
    local s = ctx.state.trend_bias
    if s == nil or s.key ~= key then
        -- past EMA values in a preallocated ring: the slope needs the EMA slope_bars ago
        local hist = {}
        for i = 1, p.slope_bars do
            hist[i] = 0.0
        end
        s = { key = key, ema = ta.ema(p.period), atr = ta.atr(p.atr_period), hist = hist,
              pos = 0, filled = 0, close = nil, past = nil, bars = 0 }
        ctx.state.trend_bias = s
    end
    ctx.state.trend_bias_params = p
    return s, p
end

local function state(ctx)
    local s, p = ctx.state.trend_bias, ctx.state.trend_bias_params
    if s == nil or p == nil then
        return setup(ctx)
    end
    return s, p
end

local M = { params = PARAMS }

function M.on_start(ctx)
    setup(ctx)
end

function M.on_reload(ctx)
    setup(ctx)
end

function M.on_bar(ctx, bar)
    local s, p = state(ctx)
    s.bars = s.bars + 1
    s.close = bar.close
    s.atr:update(bar.high, bar.low, bar.close)
    local e = s.ema:update(bar.close)
    if e == nil then
        return
    end
    -- the ring holds the last slope_bars EMA values; the slot about to be overwritten is
    -- the value from slope_bars bars ago
    local n = p.slope_bars
    local pos = s.pos % n + 1
    s.past = s.filled >= n and s.hist[pos] or nil
    s.hist[pos] = e
    s.pos = pos
    if s.filled < n then
        s.filled = s.filled + 1
    end
end

function M.bias(ctx)
    local s, p = state(ctx)
    local e, atr, past, close = s.ema.value, s.atr.value, s.past, s.close
    if e == nil or past == nil or atr == nil or atr <= 0 then
        return { direction = "neutral", confidence = 0,
                 reason = string.format("warming up: %d of %d bars", s.bars,
                                        p.period + p.slope_bars) }
    end
    local slope = e - past
    local min_move = p.min_slope_atr * atr
    local confidence = clamp(math.abs(close - e) / atr / 2, 0.1, 1)
    if close > e and slope > min_move then
        return { direction = "long", confidence = confidence,
                 reason = string.format("close %.2f above EMA%d %.2f, EMA rising %+.2f over %d bars",
                                        close, p.period, e, slope, p.slope_bars) }
    end
    if close < e and slope < -min_move then
        return { direction = "short", confidence = confidence,
                 reason = string.format("close %.2f below EMA%d %.2f, EMA falling %+.2f over %d bars",
                                        close, p.period, e, slope, p.slope_bars) }
    end
    return { direction = "neutral", confidence = 0.5,
             reason = string.format("no clear trend: close %.2f %s EMA%d %.2f, EMA %+.2f over %d bars",
                                    close, close >= e and "above" or "below", p.period, e, slope,
                                    p.slope_bars) }
end

local function strength(s, dir)
    local e, atr = s.ema.value, s.atr.value
    if e == nil or atr == nil or atr <= 0 or s.close == nil then
        return nil
    end
    return dir * (s.close - e) / atr
end

function M.edge(ctx, position)
    local s, p = state(ctx)
    local st = strength(s, position and position.side == "short" and -1 or 1)
    if st == nil then
        return p.edge_scale
    end
    return clamp(st / 2, -1, 1) * p.edge_scale
end

function M.opportunity(ctx)
    local s, p = state(ctx)
    local st = strength(s, 1)
    return st and clamp(math.abs(st) / 2, 0, 1) * p.edge_scale or 0
end

return M
