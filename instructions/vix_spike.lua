-- vix_spike: close every position when volatility spikes, not only when it is high.
--
-- "close if VIX > 40" reacts to a level. This rule also catches a fast jump from a calm
-- level: VIX above 30 and up more than 25% since the session's first bar, which is how
-- panics start. Use it in a pipeline with
--     instructions = { { file = "instructions/vix_spike.lua" } }
--
-- A rule file returns { name = "...", check = function(m, position) ... end }:
--   m.price(sym)          last price, or nil before the first bar
--   m.change(sym)         fraction since the session's first bar (-0.03 = down 3%), or nil
--   m.news(sym, minutes)  highest news impact 0..3 in the last `minutes` (nil sym = any)
--   m.now()               unix seconds (simulated time in backtests)
-- check returns fired (boolean) and a reason that ends up in the exit log. Missing data
-- must return false: an exit rule that raises cannot protect anything.

local LEVEL = 40       -- close outright above this
local SPIKE_FLOOR = 30 -- a spike counts only above this level...
local SPIKE_UP = 0.25  -- ...and after a rise of this fraction today

return {
    name = "vix spike",
    check = function(m, position)
        local vix = m.price("VIX")
        if vix == nil then
            return false, "no VIX price yet"
        end
        if vix > LEVEL then
            return true, string.format("VIX %.2f > %d", vix, LEVEL)
        end
        local change = m.change("VIX")
        if change ~= nil and vix > SPIKE_FLOOR and change > SPIKE_UP then
            return true, string.format("VIX spiking: %.2f, up %.0f%% today (limits %d and +%.0f%%)",
                                       vix, change * 100, SPIKE_FLOOR, SPIKE_UP * 100)
        end
        return false, string.format("VIX %.2f calm", vix)
    end,
}
