-- attempt: fail on every bar with a new 1 KB message (a new failed execution each time unless failures are rate-limited)
-- expect: survives; pipeline=failed; at=@; failed<=10; control=unaffected
local M = {}
local n = 0

function M.on_bar(ctx, bar)
    n = n + 1
    error(string.format("failure %d at %d: %s", n, bar.time, string.rep("#", 1000))) -- @here
end

return M
