--[[ breakout_stop: a channel breakout entered with a buy stop, and a stop the strategy moves.

What it does
  On each bar while flat it reads the last `lookback` bars with ctx.history and places a
  buy stop one tick above their highest high (entry = "stop"), with the stop loss at
  their lowest low and the target `target_r` times that risk above the entry. The order
  rests for `expires` bars; if the price never trades through it, the execution is
  cancelled (expired) and the next bar places a new one.
  Once the trade is 1R up, stop() moves the stop to break-even and from then on trails
  the lowest low of the last `trail` bars. The host never lets it loosen.

Parameters (pipeline: strategy = { file = "breakout_stop.lua", params = { ... } })
  lookback = 20    bars of the channel (the pipeline's `history` must be at least this)
  trail = 10       bars of the trailing low once at break-even (also <= `history`)
  expires = 3      bars the buy stop rests before it is cancelled
  target_r = 3     the target, in multiples of the initial risk
  qty = 0          shares per entry; 0 lets the risk stage size it
]]

local params = require("apex.params")

local NAME = "breakout_stop"
-- Declared: the host fills ctx.params from these defaults and the pipeline's params,
-- checked against them at load, so `check` refuses an unknown or out-of-range one.
local PARAMS = {
    lookback = { type = "integer", default = 20, min = 2, max = 100000 },
    trail = { type = "integer", default = 10, min = 1, max = 100000 },
    expires = { type = "integer", default = 3, min = 1, max = 1000000 },
    target_r = { type = "number", default = 3, min = 0.1, max = 100 },
    qty = { type = "number", default = 0, min = 0, max = 1e9 },
}

local M = { params = PARAMS }

function M.on_start(ctx)
    local p = params.declared(PARAMS, ctx.params, NAME .. ".lua")
    ctx.state.p = p
end

---@param ctx apex.Ctx
---@param bar apex.Bar
---@return apex.Signal?
function M.on_bar(ctx, bar)
    local p = ctx.state.p
    if ctx.position then
        return nil -- in a trade
    end
    -- two flat arrays, cheaper than p.lookback bar tables
    local highs, lows = ctx.history(p.lookback, "high"), ctx.history(p.lookback, "low")
    if #highs < p.lookback then
        return nil -- not enough bars yet
    end
    local hh, ll = -math.huge, math.huge
    for i = 1, #highs do
        hh, ll = math.max(hh, highs[i]), math.min(ll, lows[i])
    end
    local entry = hh + 0.01
    return {
        side = "buy",
        entry = "stop",
        price = entry,
        expires = { bars = p.expires },
        stop_loss = ll,
        take_profit = entry + p.target_r * (entry - ll),
        qty = p.qty > 0 and p.qty or nil,
        reason = string.format("above the %d-bar high %.2f", p.lookback, hh),
    }
end

---@param ctx apex.Ctx
---@param position apex.Position
---@return number?
function M.stop(ctx, position)
    local p = ctx.state.p
    local r = position.entry_price - position.stop_loss
    if position.side ~= "long" or r <= 0 then
        return nil
    end
    if position.current_price < position.entry_price + r and not position.trailing_stop then
        return nil -- not 1R up yet: the bracket's stop stands
    end
    local low = math.huge
    for _, l in ipairs(ctx.history(p.trail, "low")) do
        low = math.min(low, l)
    end
    return math.max(position.entry_price, low)
end

return M
