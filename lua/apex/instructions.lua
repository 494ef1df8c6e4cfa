-- apex.instructions: compiles plain-English emergency-exit instructions into rules.
--
--   local rule, err = require("apex.instructions").compile("close if VIX > 40")
--   local fired, reason = rule.check(m, position)   --> true, "VIX 41.20 > 40"
--
-- Grammar (case-insensitive; a trailing "." is ignored):
--   [monitor position and] <action> [position|positions|all|all positions|everything]
--       (if|on|when) <cond> [(or|and) <cond>]...
--   <action> = close | exit | liquidate | sell          (all mean "close the position")
--   <cond>   = <SYMBOL> (>|>=|<|<=) N                   last price of SYMBOL (a symbol is
--                                                        A-Z a-z 0-9 . _ / ^ = - with a
--                                                        letter: ES=F, 7203.T, BRK_B)
--            | <SYMBOL> (drops|falls|rises|gains) [by] N% [intraday]   change since the
--                                                        session's first bar
--            | market crash                             = SPY drops 3%
--            | (high|medium|low)[-| ]impact news [for this symbol|for SYMBOL]
--                  [within N minutes]                   news impact 3/2/1 or more in the
--                                                        last 60 minutes (or N)
--            | loss (>|>=) N%  |  profit (>|>=) N%      the position's unrealized P&L
-- "and" binds tighter than "or", as in most languages.
--
-- A rule is { name = <the text>, check = function(m, position) -> fired, reason }, where
-- m = { price = fn(sym), change = fn(sym), news = fn(sym_or_nil, minutes), now = fn() }.
-- Missing data (no price yet, no position) makes a condition false, never an error: an
-- exit rule that raises would be worse than one that waits for data.

local M = {}

local EXAMPLES = "'close if VIX > 40', 'liquidate if SPY drops 3% intraday' or "
                 .. "'exit on high impact news'"

-- Supported sentence shapes, for documentation and `apex-host check` hints.
M.examples = {
    "close if VIX > 40",
    "exit if AAPL < 150",
    "liquidate if SPY drops 3% intraday",
    "close if QQQ rises 5%",
    "exit on high impact news",
    "exit on high impact news for this symbol",
    "close on medium impact news for AAPL within 30 minutes",
    "liquidate on market crash",
    "close if loss > 5%",
    "sell if profit >= 20%",
    "close if VIX > 40 or SPY drops 3% intraday",
    "monitor position and exit if VIX > 35 and SPY drops 2%",
}

local ACTIONS = { close = true, exit = true, liquidate = true, sell = true }
local CONNECTORS = { ["if"] = true, on = true, when = true }
-- Words after the action that name what to close; they change nothing.
local OBJECTS = { "all positions ", "the positions ", "the position ", "positions ",
                  "position ", "all ", "everything ", "it " }
local IMPACT_LEVEL = { low = 1, medium = 2, high = 3 }
local IMPACT_NAME = { "low", "medium", "high" }
-- Words that look like a symbol in "<SYMBOL> > N" but are not one.
local NOT_SYMBOLS = { price = true, pnl = true, vol = true, volume = true, news = true,
                      position = true, market = true }
-- A symbol as the data files spell it: A-Z a-z 0-9 . _ / ^ = - ("ES=F", "EURUSD=X",
-- "7203.T", "BRK_B", "BRK.B", "^VIX", "BTC/USD"). It is read upper-cased, like the rest
-- of the sentence is read case-insensitively.
local SYM = "[%w%.%-/%^=_]+"
local SYMBOL_MAX = 23

-- The symbol in s (a pattern capture), or nil and why not: a word without a letter reads
-- as a number ("40 > 30"), never as a symbol.
local function symbol(s)
    if not s:match("%a") then
        return nil, string.format("'%s' is not a symbol: a symbol has a letter", s)
    end
    if #s > SYMBOL_MAX then
        return nil, string.format("'%s' is not a symbol: at most %d characters", s, SYMBOL_MAX)
    end
    return s:upper()
end
local DEFAULT_NEWS_MINUTES = 60
local EPS = 1e-12

local function num_text(n)
    if n == math.floor(n) and math.abs(n) < 1e15 then
        return string.format("%d", n)
    end
    return string.format("%g", n)
end

local function parse_number(s)
    if not s or not s:match("^%d*%.?%d+$") and not s:match("^%d+%.$") then
        return nil
    end
    return tonumber(s)
end

local function compare(a, op, b)
    if op == ">" then
        return a > b
    elseif op == ">=" then
        return a >= b
    elseif op == "<" then
        return a < b
    end
    return a <= b
end

-- The market view may lack a function (a host bug or a test double); treat that as
-- "no data" like any other missing value.
local function call(m, field, ...)
    local f = type(m) == "table" and m[field] or nil
    if type(f) ~= "function" then
        return nil
    end
    local v = f(...)
    if type(v) ~= "number" or v ~= v then
        return nil
    end
    return v
end

--------------------------------------------------------------------------------
-- Condition builders. Each returns an evaluator fn(m, position) -> fired, reason,
-- or nil and a detail explaining what is wrong with this condition.

local function price_condition(sym, op, limit)
    local limit_text = num_text(limit)
    return function(m)
        local p = call(m, "price", sym)
        if p == nil then
            return false, "no price for " .. sym .. " yet"
        end
        if compare(p, op, limit) then
            return true, string.format("%s %.2f %s %s", sym, p, op, limit_text)
        end
        return false, string.format("%s %.2f, not %s %s", sym, p, op, limit_text)
    end
end

local function move_condition(sym, down, pct, intraday, label)
    local limit = pct / 100
    local suffix = intraday and " intraday" or ""
    local limit_text = num_text(pct) .. "%"
    return function(m)
        local c = call(m, "change", sym)
        if c == nil then
            return false, "no session change for " .. sym .. " yet"
        end
        local fired
        if down then
            fired = c <= -limit + EPS
        else
            fired = c >= limit - EPS
        end
        local reason = string.format("%s%s %s %.1f%%%s (limit %s)", label or "", sym,
                                     c < 0 and "down" or "up", math.abs(c) * 100, suffix,
                                     limit_text)
        return fired, reason
    end
end

local function news_condition(level, scope, minutes)
    -- scope: nil = any symbol (incl. market-wide "*"), true = the position's symbol,
    -- or a symbol string
    return function(m, position)
        local sym = scope
        if scope == true then
            sym = type(position) == "table" and position.symbol or nil
            if type(sym) ~= "string" then
                return false, "no position to check news for"
            end
        end
        local impact = call(m, "news", sym, minutes)
        if impact == nil then
            return false, "no news data"
        end
        local where = sym and (" for " .. sym) or " (any symbol)"
        local within = minutes ~= DEFAULT_NEWS_MINUTES
                       and string.format(" in the last %d minutes", minutes) or ""
        if impact >= level then
            local name = IMPACT_NAME[math.min(3, math.floor(impact))] or "high"
            return true, name .. " impact news" .. where .. within
        end
        return false, string.format("no %s impact news%s%s", IMPACT_NAME[level], where, within)
    end
end

local function pnl_condition(kind, op, pct)
    local limit = pct / 100
    local limit_text = num_text(pct) .. "%"
    return function(_, position)
        local v = type(position) == "table" and position.unrealized_pnl_pct or nil
        if type(v) ~= "number" or v ~= v then
            return false, "no open position"
        end
        -- a loss of 5% is pnl_pct -0.05: compare its magnitude, only when it is a loss
        local amount = kind == "loss" and -v or v
        local fired
        if op == ">" then
            fired = amount > limit
        else
            fired = amount >= limit - EPS
        end
        if amount > 0 then
            return fired, string.format("%s %.1f%% %s %s", kind, amount * 100,
                                        fired and op or ("not " .. op), limit_text)
        end
        return false, string.format("no %s (P&L %+.1f%%)", kind, v * 100)
    end
end

local function parse_percent(num, pct_sign, example)
    local n = parse_number(num)
    if n == nil then
        return nil, string.format("'%s' is not a number", tostring(num))
    end
    if pct_sign ~= "%" then
        return nil, "write the amount as a percentage, e.g. '" .. example .. "'"
    end
    if n <= 0 or n >= 100 then
        return nil, "the percentage must be between 0 and 100, e.g. '" .. example .. "'"
    end
    return n
end

-- Returns evaluator, or nil, detail (detail nil = "not a form I know").
local function parse_condition(c)
    if c == "market crash" or c == "a market crash" then
        return move_condition("SPY", true, 3, false, "market crash: ")
    end

    -- news
    local level, rest = c:match("^(%a+) impact news(.*)$")
    if level then
        local lv = IMPACT_LEVEL[level]
        if not lv then
            return nil, "news impact is high, medium or low"
        end
        local scope, minutes = nil, DEFAULT_NEWS_MINUTES
        local within = rest:match(" within (%d+) min[%a]*$") or rest:match(" in the last (%d+) min[%a]*$")
        if within then
            minutes = tonumber(within)
            if minutes < 1 or minutes > 7 * 24 * 60 then
                return nil, "the news window must be 1 to 10080 minutes"
            end
            rest = rest:gsub(" within %d+ min[%a]*$", ""):gsub(" in the last %d+ min[%a]*$", "")
        end
        if rest == " for this symbol" or rest == " for this position" then
            scope = true
        elseif rest ~= "" then
            local sym = rest:match("^ for (" .. SYM .. ")$")
            if not sym then
                return nil, "after 'news' write 'for this symbol', 'for SYMBOL' or "
                            .. "'within N minutes'"
            end
            local why
            scope, why = symbol(sym)
            if not scope then
                return nil, why
            end
        end
        return news_condition(lv, scope, minutes)
    end

    -- loss / profit on the position
    local kind, op, num, pct = c:match("^(%a+) ?([<>]=?) ?([%d%.]+) ?(%%?)$")
    if kind == "loss" or kind == "profit" then
        if op ~= ">" and op ~= ">=" then
            return nil, "use '" .. kind .. " > N%' (the size of the " .. kind .. ")"
        end
        local n, err = parse_percent(num, pct, kind .. " > 5%")
        if not n then
            return nil, err
        end
        return pnl_condition(kind, op, n)
    end

    -- moves: SYMBOL drops 3% intraday
    local sym, verb, amount, sign, tail =
        c:match("^(" .. SYM .. ") (%a+) ([%d%.]+) ?(%%?)(.*)$")
    if not sym then
        sym, verb, amount, sign, tail = c:match("^(" .. SYM .. ") (%a+) by ([%d%.]+) ?(%%?)(.*)$")
    end
    if sym and (verb == "drops" or verb == "falls" or verb == "rises" or verb == "gains"
                or verb == "drop" or verb == "fall" or verb == "rise" or verb == "gain") then
        if tail ~= "" and tail ~= " intraday" and tail ~= " today" then
            return nil, string.format("'%s' after the percentage is not understood; "
                                      .. "only 'intraday' may follow", tail:sub(2))
        end
        local name, why = symbol(sym)
        if not name then
            return nil, why
        end
        local down = verb:sub(1, 1) == "d" or verb:sub(1, 1) == "f"
        local n, err = parse_percent(amount, sign, name .. " " .. verb .. " 3%")
        if not n then
            return nil, err
        end
        return move_condition(name, down, n, tail ~= "")
    end

    -- comparisons: SYMBOL > 40
    local csym, cop, cnum, crest = c:match("^(" .. SYM .. ") ?([<>]=?) ?([%d%.]+)(.*)$")
    if csym then
        if NOT_SYMBOLS[csym] then
            return nil, string.format("'%s' is not a symbol; compare a symbol's price, "
                                      .. "e.g. 'AAPL < 150'", csym)
        end
        local name, why = symbol(csym)
        if not name then
            return nil, why
        end
        if crest == "%" then
            return nil, "a price is not a percentage; for a move write e.g. '"
                        .. name .. " drops 3%'"
        end
        local n = parse_number(cnum)
        if n == nil or crest ~= "" then
            return nil, string.format("'%s' is not a number", cnum .. crest)
        end
        return price_condition(name, cop, n)
    end
    return nil, nil
end

-- Splits s on a connector word (" or " / " and ") into a list of trimmed parts.
local function split_on(s, word)
    local parts = {}
    local sep = " " .. word .. " "
    local start = 1
    while true do
        local i, j = s:find(sep, start, true)
        if not i then
            parts[#parts + 1] = s:sub(start)
            break
        end
        parts[#parts + 1] = s:sub(start, i - 1)
        start = j + 1
    end
    return parts
end

local function fail(text, detail)
    if detail then
        return nil, string.format("cannot understand '%s': %s; write e.g. %s", text, detail,
                                  EXAMPLES)
    end
    return nil, string.format("cannot understand '%s'; write e.g. %s", text, EXAMPLES)
end

--- Compiles one instruction sentence.
-- Returns a rule { name = text, check = function(m, position) -> fired, reason }, or nil
-- and an error that quotes the text and suggests forms that work.
function M.compile(text)
    if type(text) ~= "string" then
        return nil, string.format("an instruction must be a sentence (a string) like %s; got %s",
                                  EXAMPLES, type(text))
    end
    local s = text:lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""):gsub("[%.!;]+$", "")
    s = s:gsub("high%-impact", "high impact"):gsub("medium%-impact", "medium impact")
         :gsub("low%-impact", "low impact")
    if s == "" then
        return nil, "empty instruction; write e.g. " .. EXAMPLES
    end
    s = s:gsub("^monitor the positions? and ", ""):gsub("^monitor positions? and ", "")

    local action, rest = s:match("^(%a+) (.*)$")
    if not action or not ACTIONS[action] then
        return fail(text, "start with an action: close, exit, liquidate or sell")
    end
    for _, obj in ipairs(OBJECTS) do
        if rest:sub(1, #obj) == obj then
            rest = rest:sub(#obj + 1)
            break
        end
    end
    local connector, conds = rest:match("^(%a+) (.+)$")
    if not connector or not CONNECTORS[connector] then
        return fail(text, "after '" .. action .. "' write 'if <condition>' or 'on <event>'")
    end

    -- "a or b and c" = a or (b and c)
    local groups = {}
    local nconds = 0
    for _, alt in ipairs(split_on(conds, "or")) do
        local group = {}
        for _, part in ipairs(split_on(alt, "and")) do
            if part == "" then
                return fail(text, "a condition is missing around 'and'/'or'")
            end
            nconds = nconds + 1
            local eval, detail = parse_condition(part)
            if not eval then
                if detail == nil and part ~= conds then
                    detail = "'" .. part .. "' is not a condition I know"
                end
                return fail(text, detail)
            end
            group[#group + 1] = eval
        end
        groups[#groups + 1] = group
    end

    local function check(m, position)
        local last_reason = nil
        for g = 1, #groups do
            local group = groups[g]
            local reasons = {}
            local all = true
            for i = 1, #group do
                local fired, reason = group[i](m, position)
                if not fired then
                    all = false
                    last_reason = reason
                    break
                end
                reasons[#reasons + 1] = reason
            end
            if all then
                return true, table.concat(reasons, " and ")
            end
        end
        return false, last_reason or "not fired"
    end

    return { name = text, check = check, conditions = nconds }
end

--- Checks the shape of a rule (from a rule file). Returns true, or nil and an error
-- naming where (e.g. the file) and the expected shape.
function M.validate(rule, where)
    where = where or "rule"
    if type(rule) ~= "table" then
        return nil, string.format("%s: must return a table { name = \"...\", check = "
                                  .. "function(m, position) ... end }, got %s", where, type(rule))
    end
    if type(rule.name) ~= "string" or rule.name == "" then
        return nil, where .. ": name must be a non-empty string, e.g. name = \"vix spike\""
    end
    if type(rule.check) ~= "function" then
        return nil, where .. ": check must be a function(m, position) returning fired, reason"
    end
    return true
end

return M
