-- attempt: load() in a coroutine (whose own hook lets hundreds of instructions run after the deadline): 4 MB chunks of empty statements loaded over and over, then one load of 256 MB handed over by a reader in 4 MB pieces (the parser is C: no hook runs while it parses)
-- expect: survives; pipeline=failed; error~="deadline"; reached="ATTACK: load"; control=unaffected
local M = {}
local src = string.rep(";", 1 << 20)
local loads = 0

local function timed(what, f)
    local t0 = os.clock()
    f(function()
        local dt = os.clock() - t0
        if dt > 1.0 then
            error(string.format("UNBOUNDED: %s ran %.2f s of CPU past a 250 ms deadline", what, dt), 0)
        end
    end)
end

function M.on_bar(ctx, bar)
    if #src < 4 << 20 then -- doubled a bar at a time (a failed step is retried)
        local doubled = src .. src
        src = doubled
        return
    end
    loads = loads + 1
    if loads == 1 then
        print("ATTACK: load of 4 MB chunks, over and over, in a coroutine")
        coroutine.wrap(timed)("load of 4 MB chunks in a loop", function(check)
            for i = 1, 64 do
                local f, err = load(src, "=semicolons")
                if not f then error(err, 0) end -- a bounded load gives up with the deadline's message
                check()
            end
        end)
    elseif loads == 2 then
        print("ATTACK: load of 256 MB from a reader, in a coroutine")
        coroutine.wrap(timed)("one load of 256 MB from a reader", function(check)
            local n = 0
            local f, err = load(function()
                n = n + 1
                if n <= 64 then return src end
            end, "=reader")
            check()
            if not f then error(err, 0) end
        end)
    end
end

return M
