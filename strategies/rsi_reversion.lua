--[[ rsi_reversion: buy oversold bounces, target the mean.

What it does
  Buys on the bar where RSI(rsi_period) crosses up through `oversold` (the selling is
  exhausting itself). The stop goes below the recent low (lowest low of low_lookback
  bars minus stop_buffer_atr ATRs), never farther than max_stop_atr ATRs and never
  nearer than min_stop_atr ATRs from the close. The target is the Bollinger middle band
  (the mean it reverts to) or, with target = "upper", the upper band. A setup whose
  target is less than min_reward_risk times the stop distance away is skipped.

  With allow_short = true the mirror image sells on RSI crossing down through
  `overbought`, stop above the recent high, target the middle (or lower) band.
  No signal while a position on this symbol is open.

Parameters (pipeline: strategy = { file = "rsi_reversion.lua", params = { ... } })
  rsi_period = 14        RSI period (Wilder)
  oversold = 30          RSI level to cross up through for a buy
  overbought = 70        RSI level to cross down through for a short
  bb_period = 20         Bollinger period
  bb_k = 2               Bollinger width in standard deviations
  atr_period = 14        ATR period
  low_lookback = 10      bars for the recent low / high
  stop_buffer_atr = 0.5  stop this many ATRs beyond the recent low / high
  min_stop_atr = 0.5     stop at least this many ATRs from the close
  max_stop_atr = 3       stop at most this many ATRs from the close
  target = "mid"         "mid" (Bollinger middle band) or "upper" (lower for shorts)
  min_reward_risk = 0.5  skip setups whose target is nearer than this x the stop distance
  allow_short = false    also trade the overbought side
  edge_scale = 0.10      edge() at full strength (compare exits.early_exit_edge, 0.02)

edge(ctx, position)
  The reversion still to come: distance from the close to the (moving) target in the
  position's favour, in ATRs, / 2, times edge_scale. It reaches 0 at the target and
  turns negative beyond it: the trade has done its job.

opportunity(ctx)
  How stretched the market is: (50 - RSI) / 20 for the long side (and the mirror for
  shorts when allowed), clamped to 0..1, times edge_scale.
]]

local ta = require("apex.ta")
local params = require("apex.params")

local NAME = "rsi_reversion"
-- Declared: the host fills ctx.params from these defaults and the pipeline's params,
-- checked against them at load, so `check` refuses an unknown or out-of-range one.
local PARAMS = {
    rsi_period = { type = "integer", default = 14, min = 2, max = 100000 },
    oversold = { type = "number", default = 30, min = 1, max = 99 },
    overbought = { type = "number", default = 70, min = 1, max = 99 },
    bb_period = { type = "integer", default = 20, min = 2, max = 100000 },
    bb_k = { type = "number", default = 2, min = 0.1, max = 10 },
    atr_period = { type = "integer", default = 14, min = 1, max = 100000 },
    low_lookback = { type = "integer", default = 10, min = 1, max = 100000 },
    stop_buffer_atr = { type = "number", default = 0.5, min = 0, max = 100 },
    min_stop_atr = { type = "number", default = 0.5, min = 0.01, max = 100 },
    max_stop_atr = { type = "number", default = 3 },
    target = { type = "string", default = "mid" },
    min_reward_risk = { type = "number", default = 0.5, min = 0, max = 100 },
    allow_short = { type = "boolean", default = false },
    edge_scale = { type = "number", default = 0.10, min = 0, max = 1 },
}

local function clamp(x, lo, hi)
    return x < lo and lo or (x > hi and hi or x)
end

local function setup(ctx)
    local p = params.declared(PARAMS, ctx.params, NAME .. ".lua")
    params.range(p, "max_stop_atr", p.min_stop_atr, 100, NAME)
    if p.oversold >= p.overbought then
        error(string.format("%s: params.oversold (%g) must be below params.overbought (%g)",
                            NAME, p.oversold, p.overbought), 0)
    end
    if p.target ~= "mid" and p.target ~= "upper" then
        error(string.format("%s: params.target must be \"mid\" or \"upper\", got %q", NAME,
                            p.target), 0)
    end
    local key = string.format("%d:%d:%g:%d:%d", p.rsi_period, p.bb_period, p.bb_k, p.atr_period,
                              p.low_lookback)
    local s = ctx.state.rsi_reversion
    if s == nil or s.key ~= key then
        s = { key = key, rsi = ta.rsi(p.rsi_period), bb = ta.bollinger(p.bb_period, p.bb_k),
              atr = ta.atr(p.atr_period), low = ta.lowest(p.low_lookback),
              high = ta.highest(p.low_lookback), prev_rsi = nil, close = nil }
        ctx.state.rsi_reversion = s
    end
    ctx.state.rsi_reversion_params = p
    return s, p
end

local function state(ctx)
    local s, p = ctx.state.rsi_reversion, ctx.state.rsi_reversion_params
    if s == nil or p == nil then
        return setup(ctx)
    end
    return s, p
end

-- The target for a position in direction dir (+1 long, -1 short) from current bands.
local function target_for(s, p, dir)
    local bb = s.bb
    if bb.value == nil then
        return nil
    end
    if p.target == "mid" then
        return bb.value
    end
    return dir > 0 and bb.upper or bb.lower
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
    local close = bar.close
    local rsi = s.rsi:update(close)
    s.bb:update(close)
    local atr = s.atr:update(bar.high, bar.low, close)
    local low = s.low:update(bar.low)
    local high = s.high:update(bar.high)
    local prev_rsi = s.prev_rsi
    s.prev_rsi, s.close = rsi, close

    if rsi == nil or prev_rsi == nil or atr == nil or atr <= 0 or low == nil
        or s.bb.value == nil or ctx.position ~= nil then
        return nil
    end

    local dir, extreme, level
    if prev_rsi < p.oversold and rsi >= p.oversold then
        dir, extreme, level = 1, low, p.oversold
    elseif p.allow_short and prev_rsi > p.overbought and rsi <= p.overbought then
        dir, extreme, level = -1, high, p.overbought
    else
        return nil
    end

    -- stop beyond the recent extreme, kept between min_stop_atr and max_stop_atr away
    local dist = dir * (close - extreme) + p.stop_buffer_atr * atr
    dist = clamp(dist, p.min_stop_atr * atr, p.max_stop_atr * atr)
    local stop = close - dir * dist
    local target = target_for(s, p, dir)
    local reward = dir * (target - close)
    if reward < p.min_reward_risk * dist or stop <= 0 then
        ctx.log("%s: RSI crossed %g but the target %.2f is only %.2f away for a %.2f stop; skipped",
                NAME, level, target, reward, dist)
        return nil
    end
    return {
        side = dir > 0 and "buy" or "sell",
        stop_loss = stop,
        take_profit = target,
        confidence = clamp(reward / dist / 3, 0.3, 1),
        reason = string.format("RSI%d crossed %s %g (%.1f); stop %.2f beyond the %d-bar %s, "
                               .. "target Bollinger %s %.2f", p.rsi_period,
                               dir > 0 and "up through" or "down through", level, rsi, stop,
                               p.low_lookback, dir > 0 and "low" or "high", p.target, target),
    }
end

function M.edge(ctx, position)
    local s, p = state(ctx)
    local dir = position and position.side == "short" and -1 or 1
    local atr = s.atr.value
    local target = target_for(s, p, dir)
    if target == nil or atr == nil or atr <= 0 or s.close == nil then
        return p.edge_scale
    end
    return clamp(dir * (target - s.close) / atr / 2, -1, 1) * p.edge_scale
end

function M.opportunity(ctx)
    local s, p = state(ctx)
    local rsi = s.rsi.value
    if rsi == nil then
        return 0
    end
    local score = (50 - rsi) / 20
    if p.allow_short then
        score = math.abs(score)
    end
    return clamp(score, 0, 1) * p.edge_scale
end

return M
