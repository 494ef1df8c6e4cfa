-- attempt: through pairs() on every library (string, table, math, os, utf8, coroutine, apex), wipe every field of whatever table comes back
-- with: probe, rule
-- expect: survives; pipeline=traded; rule=fired; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 1 then
        for _, lib in ipairs({ string, table, math, os, utf8, coroutine, apex }) do
            pcall(function()
                local iter, real, init = pairs(lib)
                if type(real) == "table" then
                    local keys = {}
                    for k in iter, real, init do keys[#keys + 1] = k end
                    for _, k in ipairs(keys) do real[k] = nil end
                end
            end)
        end
    elseif ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    end
end

return M
