-- attempt: signals with NaN, infinity, 2^63, a negative qty, a huge confidence, a table for a price, an unknown field
-- expect: survives; pipeline=failed; error~="nan"; error~="inf"; error~="out of range"; error~="unknown field"; at=@; control=unaffected
local M = {}
local calls = 0
local signals = {
    { side = "buy", qty = 0 / 0 },
    { side = "buy", qty = 1 / 0 },
    { side = "buy", qty = 2 ^ 63 },
    { side = "buy", qty = -5 },
    { side = "buy", confidence = 1e300 },
    { side = "buy", stop_loss = {} },
    { side = "buy", stoploss = 1 },
    { side = "buy", qty = 10, take_profit = 2 ^ 62 },
}

function M.on_bar(ctx, bar) -- @here
    calls = calls + 1
    return signals[calls]
end

return M
