-- attempt: signals with NaN and infinite quantities, a qty of 2^63, a confidence of 1e300 and an unknown field (five failures: within the five recorded per hour)
-- expect: survives; pipeline=failed; error~="nan"; error~="inf"; error~="out of range"; error~="unknown field"; at=@; control=unaffected
local M = {}
local calls = 0
local signals = {
    { side = "buy", qty = 0 / 0 },
    { side = "buy", qty = 1 / 0 },
    { side = "buy", qty = 2 ^ 63 },
    { side = "buy", confidence = 1e300 },
    { side = "buy", stoploss = 1 },
}

function M.on_bar(ctx, bar) -- @here
    calls = calls + 1
    return signals[calls]
end

return M
