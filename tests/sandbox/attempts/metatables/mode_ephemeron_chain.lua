-- attempt: a weak-keyed (__mode = "k") table holding a 200,000-link ephemeron chain in shuffled order: each garbage collection's atomic phase then takes quadratic time in C, where no deadline reaches (built a slice per bar, then a collection per bar)
-- known limit (docs/security.md): the collector's atomic phase cannot be interrupted, so
-- the watchdog's backstop ends the process with exit code 6 and its message once the call
-- is 5 s past its deadline, instead of hanging every pipeline
-- expect: survives; exit=6; reached="ATTACK: collect"; error~="stuck in C code"; wall<=40
local M = {}
local N, SLICE = 200000, 10000
local weak
local keys, perm = {}, {}
local phase, i = 1, 1

local function step()
    local stop = math.min(i + SLICE - 1, N)
    if phase == 1 then         -- the keys
        for k = i, stop do keys[k] = {} ; perm[k] = k end
    elseif phase == 2 then     -- Fisher-Yates, from the top
        for k = N - i + 1, math.max(N - stop + 1, 2), -1 do
            local j = math.random(k)
            perm[k], perm[j] = perm[j], perm[k]
        end
    else                       -- the chain perm[1] -> perm[2] -> ...
        for k = i, math.min(stop, N - 1) do weak[keys[perm[k]]] = keys[perm[k + 1]] end
    end
    i = stop + 1
    if i > N then
        phase, i = phase + 1, 1
        -- Before the chain exists: a full collection now makes the keys old and resets the
        -- collector's base, so no automatic major collection (the quadratic one) falls in
        -- the middle of building the chain, however much the host allocates per bar.
        if phase == 3 then collectgarbage("collect") end
    end
end

function M.on_bar(ctx, bar)
    weak = weak or setmetatable({}, { __mode = "k" }) -- in a callback: a refusal fails the bar
    if phase <= 3 then
        step()
        if phase == 4 then
            ctx.state.root = keys[perm[1]] -- the chain stays reachable from here only
            keys, perm = nil, nil
        end
        return
    end
    if not ctx.state.said then
        print("ATTACK: collect with the chain in place")
        ctx.state.said = true
    end
    local t0 = os.clock()
    collectgarbage("collect")
    local dt = os.clock() - t0
    if dt > 1 then
        error(string.format("UNBOUNDED: one garbage collection took %.1f s of CPU", dt))
    end
end

return M
