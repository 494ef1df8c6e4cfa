-- Tests for lua/apex/instructions.lua: every condition form firing and not firing with
-- the reason a trader reads in the exit log, and/or combinations, case-insensitivity,
-- missing data (never an error), and every compile error.

local ROOT = APEX_SOURCE_DIR or os.getenv("APEX_SOURCE_DIR")
if not ROOT or ROOT == "" then
    ROOT = ((arg and arg[0] or ""):match("^(.-)/?tests/lua/[^/]*$") or "")
    if ROOT == "" then ROOT = "." end
end
package.path = ROOT .. "/lua/?.lua;" .. package.path
local T = dofile(ROOT .. "/tests/lua/harness.lua")
local I = require("apex.instructions")

-- A fake market view: prices and changes by symbol, news impact by symbol with "*" for
-- market-wide items; records the minutes asked for.
local function market(opts)
    opts = opts or {}
    local m = { asked_minutes = nil }
    m.price = function(sym) return (opts.prices or {})[sym] end
    m.change = function(sym) return (opts.changes or {})[sym] end
    m.news = function(sym, minutes)
        m.asked_minutes = minutes
        local news = opts.news or {}
        if sym == nil then
            local best = 0
            for _, v in pairs(news) do best = math.max(best, v) end
            return best
        end
        return news[sym] or 0
    end
    m.now = function() return 1709740800 end
    return m
end

local function position(sym, pnl_pct)
    return { execution_id = 7, symbol = sym, side = "long", qty = 100, entry_price = 180,
             current_price = 180 * (1 + pnl_pct), unrealized_pnl = 18000 * pnl_pct,
             unrealized_pnl_pct = pnl_pct, stop_loss = 170, take_profit = 200,
             opened_at = 1709740000 }
end

local function compile(text)
    local rule, err = I.compile(text)
    T.truthy(rule, "compile '" .. text .. "' failed: " .. tostring(err))
    return rule
end

T.test("a rule carries the sentence as its name", function()
    local rule = compile("close if VIX > 40")
    T.eq(rule.name, "close if VIX > 40")
    T.eq(type(rule.check), "function")
end)

T.test("VIX > 40 fires above 40 with the price in the reason", function()
    local rule = compile("close if VIX > 40")
    local fired, reason = rule.check(market { prices = { VIX = 41.2 } }, position("AAPL", 0))
    T.truthy(fired, "VIX 41.2")
    T.eq(reason, "VIX 41.20 > 40")
    fired, reason = rule.check(market { prices = { VIX = 40 } }, position("AAPL", 0))
    T.falsy(fired, "VIX exactly 40 is not > 40")
    T.eq(reason, "VIX 40.00, not > 40")
end)

T.test("every comparison operator against the last price", function()
    local m = market { prices = { AAPL = 150 } }
    local cases = {
        { "exit if AAPL < 150", false }, { "exit if AAPL <= 150", true },
        { "exit if AAPL > 149.5", true }, { "exit if AAPL >= 150.01", false },
        { "exit if AAPL<151", true }, { "exit if aapl>=150", true },
    }
    for _, c in ipairs(cases) do
        local fired = compile(c[1]).check(m, nil)
        T.eq(fired, c[2], c[1])
    end
    local _, reason = compile("exit if AAPL <= 150").check(m, nil)
    T.eq(reason, "AAPL 150.00 <= 150")
end)

T.test("a missing price makes a comparison false, not an error", function()
    local fired, reason = compile("close if VIX > 40").check(market {}, position("AAPL", 0))
    T.falsy(fired)
    T.eq(reason, "no price for VIX yet")
    -- a market view without the function at all behaves the same
    fired = compile("close if VIX > 40").check({}, nil)
    T.falsy(fired)
end)

T.test("SPY drops 3% intraday fires at or beyond -3% with a specific reason", function()
    local rule = compile("liquidate if SPY drops 3% intraday")
    local fired, reason = rule.check(market { changes = { SPY = -0.034 } }, position("AAPL", 0))
    T.truthy(fired)
    T.eq(reason, "SPY down 3.4% intraday (limit 3%)")
    T.truthy(rule.check(market { changes = { SPY = -0.03 } }, nil), "exactly -3% fires")
    fired, reason = rule.check(market { changes = { SPY = -0.012 } }, nil)
    T.falsy(fired, "down 1.2%")
    T.eq(reason, "SPY down 1.2% intraday (limit 3%)")
    T.falsy(rule.check(market { changes = { SPY = 0.05 } }, nil), "a rally is not a drop")
    T.falsy(rule.check(market {}, nil), "no change data")
end)

T.test("rises / falls / 'by' / without intraday", function()
    local m = market { changes = { QQQ = 0.052, TSLA = -0.08 } }
    local fired, reason = compile("close if QQQ rises 5%").check(m, nil)
    T.truthy(fired)
    T.eq(reason, "QQQ up 5.2% (limit 5%)")
    T.falsy(compile("close if QQQ gains 6%").check(m, nil))
    T.truthy(compile("close if TSLA falls by 7.5%").check(m, nil))
    T.falsy(compile("close if TSLA drops 10% intraday").check(m, nil))
end)

T.test("market crash means SPY down 3%", function()
    local rule = compile("liquidate on market crash")
    local fired, reason = rule.check(market { changes = { SPY = -0.041 } }, nil)
    T.truthy(fired)
    T.eq(reason, "market crash: SPY down 4.1% (limit 3%)")
    T.falsy(rule.check(market { changes = { SPY = -0.02 } }, nil))
end)

T.test("high impact news for this symbol looks at the position's symbol only", function()
    local rule = compile("exit on high impact news for this symbol")
    local m = market { news = { AAPL = 3, ["*"] = 3 } }
    local fired, reason = rule.check(m, position("AAPL", 0))
    T.truthy(fired)
    T.eq(reason, "high impact news for AAPL")
    T.eq(m.asked_minutes, 60, "default window is 60 minutes")
    T.falsy(rule.check(market { news = { MSFT = 3, AAPL = 2 } }, position("AAPL", 0)),
            "medium news on AAPL, high on MSFT")
    local f2, r2 = rule.check(m, nil)
    T.falsy(f2, "no position")
    T.eq(r2, "no position to check news for")
end)

T.test("high impact news without scope includes market-wide items", function()
    local rule = compile("exit on high impact news")
    local fired, reason = rule.check(market { news = { ["*"] = 3 } }, position("MSFT", 0))
    T.truthy(fired)
    T.eq(reason, "high impact news (any symbol)")
    T.falsy(rule.check(market { news = { ["*"] = 2 } }, position("MSFT", 0)))
end)

T.test("medium impact news fires on medium or high; custom window; named symbol", function()
    local rule = compile("close on medium-impact news for AAPL within 30 minutes")
    local m = market { news = { AAPL = 2 } }
    local fired, reason = rule.check(m, position("MSFT", 0))
    T.truthy(fired)
    T.eq(reason, "medium impact news for AAPL in the last 30 minutes")
    T.eq(m.asked_minutes, 30)
    T.truthy(rule.check(market { news = { AAPL = 3 } }, nil), "high is at least medium")
    T.falsy(rule.check(market { news = { AAPL = 1 } }, nil), "low is not medium")
end)

T.test("loss > N% and profit > N% read the position's unrealized P&L fraction", function()
    local loss = compile("close if loss > 5%")
    local fired, reason = loss.check(market {}, position("AAPL", -0.062))
    T.truthy(fired)
    T.eq(reason, "loss 6.2% > 5%")
    T.falsy(loss.check(market {}, position("AAPL", -0.04)), "4% loss")
    T.falsy(loss.check(market {}, position("AAPL", 0.08)), "a profit is no loss")
    T.falsy(loss.check(market {}, nil), "no position")
    local profit = compile("sell if profit >= 20%")
    fired, reason = profit.check(market {}, position("AAPL", 0.20))
    T.truthy(fired, "exactly 20%")
    T.eq(reason, "profit 20.0% >= 20%")
    T.falsy(profit.check(market {}, position("AAPL", -0.3)))
end)

T.test("or fires when any side fires; and needs both; and binds tighter", function()
    local either = compile("close if VIX > 40 or SPY drops 3% intraday")
    local fired, reason = either.check(market { prices = { VIX = 30 }, changes = { SPY = -0.035 } }, nil)
    T.truthy(fired)
    T.eq(reason, "SPY down 3.5% intraday (limit 3%)")
    T.falsy(either.check(market { prices = { VIX = 30 }, changes = { SPY = -0.01 } }, nil))

    local both = compile("exit if VIX > 35 and SPY drops 2%")
    fired, reason = both.check(market { prices = { VIX = 36 }, changes = { SPY = -0.025 } }, nil)
    T.truthy(fired)
    T.eq(reason, "VIX 36.00 > 35 and SPY down 2.5% (limit 2%)")
    fired, reason = both.check(market { prices = { VIX = 36 }, changes = { SPY = -0.01 } }, nil)
    T.falsy(fired)
    T.eq(reason, "SPY down 1.0% (limit 2%)", "the reason names the condition that held it back")

    -- a or (b and c)
    local mixed = compile("close if loss > 10% or VIX > 35 and SPY drops 2%")
    T.truthy(mixed.check(market {}, position("X", -0.11)), "first alternative alone")
    T.falsy(mixed.check(market { prices = { VIX = 36 } }, position("X", 0)), "b without c")
    T.truthy(mixed.check(market { prices = { VIX = 36 }, changes = { SPY = -0.02 } },
                         position("X", 0)), "b and c")
end)

T.test("actions, case, leading 'monitor position and', objects and punctuation", function()
    local m = market { prices = { VIX = 45 } }
    for _, text in ipairs { "close if VIX > 40", "EXIT IF vix > 40", "Liquidate if VIX > 40.",
                            "sell if VIX > 40", "Monitor position and close if VIX > 40",
                            "close all positions if VIX > 40", "close position when VIX > 40",
                            "  close   if VIX  >  40  " } do
        local rule = compile(text)
        T.truthy(rule.check(m, nil), text)
        T.eq(rule.name, text, "name keeps the original text")
    end
end)

T.test("compile errors quote the text and suggest working forms", function()
    local cases = {
        { "close when moon is full",
          "cannot understand 'close when moon is full'; write e.g. 'close if VIX > 40', "
          .. "'liquidate if SPY drops 3% intraday' or 'exit on high impact news'" },
        { "VIX > 40", "start with an action: close, exit, liquidate or sell" },
        { "buy if VIX > 40", "cannot understand 'buy if VIX > 40': start with an action" },
        { "close VIX > 40", "after 'close' write 'if <condition>' or 'on <event>'" },
        { "close if", "after 'close' write 'if <condition>'" },
        { "close if VIX > 40 or moon", "'moon' is not a condition I know" },
        { "close if VIX > 40 and", "cannot understand 'close if VIX > 40 and'" },
        { "close if SPY drops 3", "write the amount as a percentage, e.g. 'SPY drops 3%'" },
        { "close if SPY drops 0%", "the percentage must be between 0 and 100" },
        { "close if SPY drops 150%", "the percentage must be between 0 and 100" },
        { "close if SPY drops 3% tomorrow", "'tomorrow' after the percentage is not understood" },
        { "close if loss > 5", "write the amount as a percentage, e.g. 'loss > 5%'" },
        { "close if loss < 5%", "use 'loss > N%'" },
        { "close if price > 100", "'price' is not a symbol" },
        { "close if VIX > 40%", "a price is not a percentage" },
        { "close if VIX > 4.0.1", "'4.0.1' is not a number" },
        { "exit on huge impact news", "news impact is high, medium or low" },
        { "exit on high impact news for", "after 'news' write 'for this symbol'" },
        { "exit on high impact news within 0 minutes", "the news window must be 1 to 10080" },
    }
    for _, c in ipairs(cases) do
        local rule, err = I.compile(c[1])
        T.eq(rule, nil, "'" .. c[1] .. "' must not compile")
        T.contains(err, c[2], c[1])
        if c[1]:match("%S") then
            T.contains(err, "'" .. c[1] .. "'", "the error quotes the text")
        end
        T.contains(err, "write e.g.", "the error suggests a working form")
    end
    local rule, err = I.compile("")
    T.eq(rule, nil)
    T.contains(err, "empty instruction; write e.g. 'close if VIX > 40'")
    rule, err = I.compile(42)
    T.eq(rule, nil)
    T.contains(err, "got number")
end)

-- Every symbol the data files accept can be named (issue 8: '=', '_' and a leading digit
-- used to make the sentence unreadable), in each condition that names one.
T.test("symbols with = _ . and a leading digit in comparisons, moves and news", function()
    for _, sym in ipairs({ "ES=F", "EURUSD=X", "7203.T", "BRK_B", "BRK.B", "BRK-B", "^VIX",
                           "BTC/USD" }) do
        local m = market { prices = { [sym] = 41 }, changes = { [sym] = -0.04 },
                           news = { [sym] = 3 } }
        local fired, reason = compile("close if " .. sym .. " > 40").check(m, nil)
        T.truthy(fired, sym .. " > 40")
        T.eq(reason, sym .. " 41.00 > 40")
        fired = compile("exit if " .. sym:lower() .. ">=41").check(m, nil)
        T.truthy(fired, sym .. " >= 41, written in lower case and without spaces")
        fired, reason = compile("liquidate if " .. sym .. " drops 3% intraday").check(m, nil)
        T.truthy(fired, sym .. " drops 3%")
        T.contains(reason, sym .. " down 4.0%")
        fired, reason = compile("exit on high impact news for " .. sym).check(m, nil)
        T.truthy(fired, "news for " .. sym)
        T.eq(reason, "high impact news for " .. sym)
    end
    local cases = {
        { "close if 40 > 30", "'40' is not a symbol: a symbol has a letter" },
        { "close if 7203 drops 3%", "'7203' is not a symbol" },
        { "exit on high impact news for 7203", "'7203' is not a symbol" },
        { "close if ABCDEFGHIJKLMNOPQRSTUVWXYZ > 1", "at most 23 characters" },
    }
    for _, c in ipairs(cases) do
        local rule, err = I.compile(c[1])
        T.eq(rule, nil, "'" .. c[1] .. "' must not compile")
        T.contains(err, c[2], c[1])
    end
end)

T.test("every documented example compiles", function()
    for _, text in ipairs(I.examples) do compile(text) end
    T.truthy(#I.examples >= 10)
end)

T.test("validate checks the shape of rule files", function()
    T.truthy(I.validate({ name = "vix", check = function() return false, "" end }, "vix.lua"))
    local ok, err = I.validate(nil, "vix.lua")
    T.falsy(ok)
    T.contains(err, "vix.lua: must return a table")
    ok, err = I.validate({ check = function() end }, "vix.lua")
    T.contains(err, "vix.lua: name must be a non-empty string")
    ok, err = I.validate({ name = "x", check = 1 }, "vix.lua")
    T.contains(err, "vix.lua: check must be a function")
end)

return T.finish()
