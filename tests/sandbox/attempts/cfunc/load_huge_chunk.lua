-- attempt: load() of 32 MB of empty statements from a string, and of 128 MB through a reader handing over 32 MB pieces (the parser is C: no hook runs while it parses); timed inside a coroutine, whose own hook lets a few hundred instructions run after the deadline
-- expect: survives; pipeline=failed; error~="deadline"; control=unaffected
local M = {}
local src = string.rep(";", 1 << 20)
local loads = 0

local function timed(what, chunk)
    local t0 = os.clock()
    local f, err = load(chunk, "=semicolons")
    local dt = os.clock() - t0
    if dt > 1.0 then
        error(string.format("UNBOUNDED: load of %s ran %.2f s of CPU in one call", what, dt), 0)
    end
    if not f then
        error(err, 0) -- a bounded load gives up with the deadline's message
    end
end

function M.on_bar(ctx, bar)
    if #src < 32 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = src .. src
        src = doubled
        return
    end
    loads = loads + 1
    if loads == 1 then
        coroutine.wrap(function()
            for i = 1, 4 do timed("a 32 MB string", src) end
        end)()
    elseif loads == 2 then
        coroutine.wrap(function()
            local n = 0
            timed("128 MB from a reader", function()
                n = n + 1
                if n <= 4 then return src end
            end)
        end)()
    end
end

return M
