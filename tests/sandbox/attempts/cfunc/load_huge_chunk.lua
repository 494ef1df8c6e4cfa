-- attempt: load() of a 16 MB chunk of empty statements, again and again in one call (the parser is C: no hook runs while it parses)
-- expect: survives; pipeline=failed; at=@; control=unaffected
local M = {}
local src = string.rep(";", 1 << 20)
local loads = 0

function M.on_bar(ctx, bar)
    if #src < 16 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = src .. src
        src = doubled
        return
    end
    loads = loads + 1
    if loads <= 2 then
        for i = 1, 20 do
            load(src, "=semicolons") -- @here
        end
        ctx.state.after = loads -- an unbounded load fails only here, or on the loop
    end
end

return M
