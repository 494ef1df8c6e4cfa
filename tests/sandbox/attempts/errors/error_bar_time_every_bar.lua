-- attempt: fail on every bar with a message carrying the bar's time, so no two failures are alike (120 bars)
-- expect: survives; pipeline=failed; at=@; failed<=10; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    error("bad bar at " .. bar.time .. " close " .. bar.close) -- @here
end

return M
