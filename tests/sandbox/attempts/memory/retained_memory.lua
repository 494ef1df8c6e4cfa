-- attempt: keep 60 MB in ctx.state, so every later call of the pipeline (its bias probe, its instruction rule) runs out of memory
-- with: rule
-- expect: survives; pipeline=failed; error~="memory limit of 65536 KiB|not enough memory|deadline"; control=unaffected
local M = {}

function M.on_bar(ctx, bar)
    ctx.state.n = (ctx.state.n or 0) + 1
    if ctx.state.n == 3 then
        return { side = "buy", qty = 10, stop_loss = bar.close * 0.8, take_profit = bar.close * 1.5 }
    elseif ctx.state.n >= 4 and ctx.state.n <= 9 then -- 10 MB a bar
        ctx.state.hog = ctx.state.hog or {}
        for i = 1, 10 do
            local hog = ctx.state.hog
            hog[#hog + 1] = string.rep(string.char(64 + #hog % 26), 1 << 20)
        end
    end
    local t = {}
    for i = 1, 1e5 do t[i] = { i } end -- fails once the hog is complete
end

return M
