-- news_exit: close a position on high impact news about its symbol, or on market-wide
-- high impact news while the position is losing.
--
-- The sentence "exit on high impact news for this symbol" covers the first half; this
-- file shows how a rule combines conditions a sentence cannot express (news scope
-- depending on the position's P&L). Use it with
--     instructions = { { file = "instructions/news_exit.lua" } }
-- See vix_spike.lua for what m provides.

local WINDOW_MINUTES = 30 -- news older than this is priced in
local HIGH = 3

return {
    name = "news exit",
    check = function(m, position)
        if position == nil then
            return false, "no position"
        end
        local own = m.news(position.symbol, WINDOW_MINUTES) or 0
        if own >= HIGH then
            return true, string.format("high impact news for %s in the last %d minutes",
                                       position.symbol, WINDOW_MINUTES)
        end
        local pnl = position.unrealized_pnl_pct or 0
        if pnl < 0 then
            local any = m.news("*", WINDOW_MINUTES) or 0
            if any >= HIGH then
                return true, string.format("market-wide high impact news while %s is down %.1f%%",
                                           position.symbol, -pnl * 100)
            end
        end
        return false, "no high impact news for " .. position.symbol
    end,
}
