-- sma_cross: the SMA(10)/SMA(30) crossover of bench/backtrader_compare.sh, the rules of
-- bench/bt/sma_cross_bt.py in apex-host: long only, a fixed 100 shares, buy on the bar
-- where SMA10 crosses above SMA30, close the whole position on the bar where it crosses
-- below (see on_bar for how). The orders are sent on that bar's close and fill at the next bar's open
-- (broker.fill = "next_open"), as backtrader's default broker fills market orders.
--
-- The pipeline switches off apex-host's own exits; the signal's stop and target must
-- still be valid prices, so they are set where no bar can reach them.
local ta = require("apex.ta")

local M = {}

local QTY = 100

function M.on_start(ctx)
    ctx.state.fast = ta.sma(10)
    ctx.state.slow = ta.sma(30)
end

function M.on_bar(ctx, bar)
    local s = ctx.state
    local fast, slow = s.fast:update(bar.close), s.slow:update(bar.close)
    local prev_fast, prev_slow = s.prev_fast, s.prev_slow
    s.prev_fast, s.prev_slow = fast, slow
    if ctx.position == nil then
        if ta.crossed_above(prev_fast, prev_slow, fast, slow) then
            return {
                side = "buy",
                qty = QTY,
                stop_loss = 0.01,
                take_profit = bar.close * 1000,
                reason = string.format("SMA10 %.4f crossed above SMA30 %.4f", fast, slow),
            }
        end
    elseif fast < slow then
        -- Out from the bar SMA10 crosses below SMA30: after an entry (on a cross above) the
        -- first bar below is the crossing bar. Returned on every bar below, not only the
        -- crossing one, because apex-host ignores a close while it has not yet seen the
        -- entry's fill: on the bar whose open filled it, on_bar still sees no position.
        return {
            side = "close",
            reason = string.format("SMA10 %.4f below SMA30 %.4f", fast, slow),
        }
    end
    return nil
end

return M
