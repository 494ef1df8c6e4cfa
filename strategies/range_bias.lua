--[[ range_bias: allow mean-reversion longs only while the market is ranging.

What it does
  Measures the Bollinger band width ((upper - lower) / middle) over bb_period bars.
  long     the bands are narrow (width <= max_width) and the close is inside them:
           a ranging market, where buying dips towards the mean works
  short    the bands are wide (width > max_width) and the close is below the lower band:
           a breakdown, where buying dips is catching a falling knife
  neutral  anything else (a wide, trending or breaking-out market), and while warming up

  Pair it with rsi_reversion: the bias stops oversold entries during breakdowns.
  confidence (long) = 1 - width / max_width, at least 0.2.

Parameters (pipeline: bias = { file = "range_bias.lua", params = { ... } })
  bb_period = 20       Bollinger period, in bars
  bb_k = 2             Bollinger width in standard deviations
  max_width = 0.012    widest band (fraction of the middle band) that still counts as a
                       range; 1-minute bars of a calm large cap are typically 0.2%-0.8%
  edge_scale = 0.10    edge()/opportunity() at full strength

edge(ctx, position) / opportunity(ctx)
  Here so the file can double as an edge source when copied into a strategy: for a
  long, the room left to the middle band in band half-widths, times edge_scale.
]]

local ta = require("apex.ta")
local params = require("apex.params")

local NAME = "range_bias"
-- Declared: the host fills ctx.params from these defaults and the pipeline's params,
-- checked against them at load, so `check` refuses an unknown or out-of-range one.
local PARAMS = {
    bb_period = { type = "integer", default = 20, min = 2, max = 100000 },
    bb_k = { type = "number", default = 2, min = 0.1, max = 10 },
    max_width = { type = "number", default = 0.012, min = 0.00001, max = 10 },
    edge_scale = { type = "number", default = 0.10, min = 0, max = 1 },
}

local function clamp(x, lo, hi)
    return x < lo and lo or (x > hi and hi or x)
end

local function setup(ctx)
    local p = params.declared(PARAMS, ctx.params, NAME .. ".lua")
    local key = string.format("%d:%g", p.bb_period, p.bb_k)
    local s = ctx.state.range_bias
    if s == nil or s.key ~= key then
        s = { key = key, bb = ta.bollinger(p.bb_period, p.bb_k), close = nil, bars = 0 }
        ctx.state.range_bias = s
    end
    ctx.state.range_bias_params = p
    return s, p
end

local function state(ctx)
    local s, p = ctx.state.range_bias, ctx.state.range_bias_params
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
    local s = state(ctx)
    s.bars = s.bars + 1
    s.close = bar.close
    s.bb:update(bar.close)
end

function M.bias(ctx)
    local s, p = state(ctx)
    local bb, close = s.bb, s.close
    if bb.value == nil then
        return { direction = "neutral", confidence = 0,
                 reason = string.format("warming up: %d of %d bars", s.bars, p.bb_period) }
    end
    local width = bb.width
    local pct = width * 100
    local limit = p.max_width * 100
    if width <= p.max_width and close >= bb.lower and close <= bb.upper then
        return { direction = "long", confidence = clamp(1 - width / p.max_width, 0.2, 1),
                 reason = string.format("ranging: band width %.2f%% <= %.2f%%, close %.2f inside "
                                        .. "%.2f-%.2f", pct, limit, close, bb.lower, bb.upper) }
    end
    if width > p.max_width and close < bb.lower then
        return { direction = "short", confidence = clamp(width / p.max_width - 1, 0.2, 1),
                 reason = string.format("breaking down: close %.2f below the lower band %.2f, "
                                        .. "band width %.2f%% > %.2f%%", close, bb.lower, pct,
                                        limit) }
    end
    local why
    if width > p.max_width then
        why = string.format("not ranging: band width %.2f%% > %.2f%%", pct, limit)
    else
        why = string.format("close %.2f outside the bands %.2f-%.2f", close, bb.lower, bb.upper)
    end
    return { direction = "neutral", confidence = 0.5, reason = why }
end

function M.edge(ctx, position)
    local s, p = state(ctx)
    local bb = s.bb
    if bb.value == nil or s.close == nil or bb.stdev == nil or bb.stdev <= 0 then
        return p.edge_scale
    end
    local dir = position and position.side == "short" and -1 or 1
    local half = bb.upper - bb.value
    return clamp(dir * (bb.value - s.close) / half, -1, 1) * p.edge_scale
end

function M.opportunity(ctx)
    local s, p = state(ctx)
    local bb = s.bb
    if bb.value == nil or bb.width > p.max_width or bb.stdev <= 0 then
        return 0
    end
    return clamp((bb.value - s.close) / (bb.upper - bb.value), 0, 1) * p.edge_scale
end

return M
