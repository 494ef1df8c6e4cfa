-- attempt: swap coroutine.create/wrap (the guarded versions that carry the deadline hook) through pairs(coroutine), then loop in a coroutine
-- with: probe
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local M = {}
local calls = 0

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        pcall(function()
            local _, real = pairs(coroutine)
            local resume = real.resume
            real.wrap = function(f)
                local co = real.create(f)
                return function(...) return select(2, resume(co, ...)) end
            end
            real.create = function(f) return resume and real.running() end
        end)
    elseif calls <= 3 then
        coroutine.wrap(function()
            while true do end -- @here
        end)()
    end
end

return M
