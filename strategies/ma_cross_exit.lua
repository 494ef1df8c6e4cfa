--[[ ma_cross_exit: a moving-average crossover that closes its own trade.

What it does
  Buys on the bar where the fast simple moving average crosses above the slow one, and
  closes the position on the bar where it crosses back below: on_bar returns
  { side = "close", reason = ... }, which the exit engine carries out as the exit
  strategy_exit at exits.strategy_exit_priority (default CRITICAL: a market order).
  The bracket's stop and target (exits.stop_loss_pct / take_profit_pct, or stop_pct here)
  stay in place until then, and the other exits keep watching the position.

  With params.take_half = true the first cross back only closes half (fraction = 0.5) and
  the second one the rest, to show a partial close.

Parameters (pipeline: strategy = { file = "ma_cross_exit.lua", params = { ... } })
  fast = 10        fast SMA period, in bars
  slow = 30        slow SMA period, in bars (must be > fast)
  qty = 0          shares per entry; 0 lets the risk stage size it
  stop_pct = 0     stop distance below the entry as a fraction; 0 = exits.stop_loss_pct
  take_half = false  close half on the first cross back, the rest on the next one
]]

local ta = require("apex.ta")
local params = require("apex.params")

local NAME = "ma_cross_exit"
-- Declared: the host fills ctx.params from these defaults and the pipeline's params,
-- checked against them at load, so `check` refuses an unknown or out-of-range one.
local PARAMS = {
    fast = { type = "integer", default = 10, min = 1, max = 100000 },
    slow = { type = "integer", default = 30, min = 2, max = 100000 },
    qty = { type = "number", default = 0, min = 0, max = 1e9 },
    stop_pct = { type = "number", default = 0, min = 0, max = 0.99 },
    take_half = { type = "boolean", default = false },
}

local function setup(ctx)
    local p = params.declared(PARAMS, ctx.params, NAME .. ".lua")
    if p.fast >= p.slow then
        error(string.format("%s: params.fast (%d) must be smaller than params.slow (%d)", NAME,
                            p.fast, p.slow), 0)
    end
    local s = ctx.state
    if s.key ~= p.fast .. "/" .. p.slow then
        s.key = p.fast .. "/" .. p.slow
        s.fast, s.slow = ta.sma(p.fast), ta.sma(p.slow)
        s.prev_fast, s.prev_slow = nil, nil
    end
    s.p = p
end

-- The reason is formatted only on the bar that signals: formatting it on every bar was a
-- sixth of a daily backtest's time.
local function label(p, fast, slow, dir)
    return string.format("SMA%d %.2f %s SMA%d %.2f", p.fast, fast, dir, p.slow, slow)
end

local M = { params = PARAMS }

M.on_start = setup
M.on_reload = setup

function M.on_bar(ctx, bar)
    local s = ctx.state
    local p = s.p
    local fast, slow = s.fast:update(bar.close), s.slow:update(bar.close)
    local prev_fast, prev_slow = s.prev_fast, s.prev_slow
    s.prev_fast, s.prev_slow = fast, slow

    if ctx.position == nil then
        s.halved = false
        if ta.crossed_above(prev_fast, prev_slow, fast, slow) then
            return {
                side = "buy",
                qty = p.qty > 0 and p.qty or nil,
                stop_loss = p.stop_pct > 0 and bar.close * (1 - p.stop_pct) or nil,
                reason = "averages crossed: " .. label(p, fast, slow, "above"),
            }
        end
        return nil
    end
    if ctx.position.side == "long" and ta.crossed_below(prev_fast, prev_slow, fast, slow) then
        local why = "averages crossed back: " .. label(p, fast, slow, "below")
        if p.take_half and not s.halved then
            s.halved = true
            return { side = "close", fraction = 0.5, reason = why }
        end
        return { side = "close", reason = why }
    end
    return nil
end

return M
