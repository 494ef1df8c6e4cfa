-- apex.ta (C, core/script/ta.c) against its Lua reference (tests/lua/ta_reference.lua),
-- value by value. Used by tests/lua/test_ta_c_vs_lua.lua (random and synthetic series) and
-- tests/ttr/test_ttr.c (TTR's ttrc bars, in the host's sandbox), so it needs nothing but
-- the sandbox's libraries.
--
--   local E = <this file>
--   local ok, report = E.compare(ta, ref, series)
--
-- series = { name = "...", close = {...}, high = {...}, low = {...} }. Every indicator of
-- CONFIGS is built in both implementations and fed the same bars; after each update the
-- returned values (count, Lua subtype, value) and every readable field must agree within
-- TOLERANCE relative (they are computed by the same operations, so in practice exactly;
-- the report says how many differed at all). An error must be the same error in both.
-- E.compare_errors(ta, ref) checks that bad arguments fail with the same message.

local E = {}

E.TOLERANCE = 1e-12

-- Constructor arguments per indicator; atr is fed high, low, close, the others the close.
E.CONFIGS = {
    { "sma", 1 }, { "sma", 2 }, { "sma", 10 }, { "sma", 30 }, { "sma", 200 },
    { "ema", 1 }, { "ema", 12 }, { "ema", 50 },
    { "rsi", 1 }, { "rsi", 2 }, { "rsi", 14 },
    { "atr", 1 }, { "atr", 14 }, { "atr", 14, { first_tr = "skip" } },
    { "atr", 3, { first_tr = "range" } },
    { "bollinger", 20 }, { "bollinger", 20, 2.5 }, { "bollinger", 1, 0 }, { "bollinger", 5, 1 },
    { "macd" }, { "macd", 12, 26, 9, { percent = true } }, { "macd", 2, 3, 2 },
    { "highest", 1 }, { "highest", 10 }, { "lowest", 10 }, { "lowest", 55 },
}

local FIELDS = {
    bollinger = { "value", "upper", "lower", "stdev", "width", "k", "n" },
    macd = { "value", "signal", "histogram", "percent", "n" },
}
local DEFAULT_FIELDS = { "value", "n" }

local function label(cfg)
    local parts = {}
    for i = 2, #cfg do
        local a = cfg[i]
        if type(a) == "table" then
            local k, v = next(a)
            parts[#parts + 1] = string.format("{%s=%s}", k, tostring(v))
        else
            parts[#parts + 1] = tostring(a)
        end
    end
    return string.format("%s(%s)", cfg[1], table.concat(parts, ","))
end

-- "file:line: message" -> "message": the two raise from different frames.
local function strip_where(msg)
    msg = tostring(msg)
    return (msg:gsub("^[^:\n]*:%d+: ", ""))
end

-- 0 when equal (same subtype, same value); the relative difference when both are numbers;
-- nil when they cannot be compared (a type or subtype mismatch).
local function difference(a, b)
    if type(a) ~= type(b) then
        return nil
    end
    if type(a) ~= "number" then
        return a == b and 0 or nil
    end
    if math.type(a) ~= math.type(b) then
        return nil
    end
    if a == b then
        return 0
    end
    local scale = math.max(math.abs(a), math.abs(b))
    return math.abs(a - b) / scale
end

local function describe(v)
    if type(v) == "number" then
        return string.format("%.17g (%s)", v, math.type(v))
    end
    return tostring(v)
end

function E.compare(ta, ref, series)
    local closes, highs, lows = series.close, series.high, series.low
    local lines, ok = {}, true
    local total_values, inexact, worst = 0, 0, 0
    for _, cfg in ipairs(E.CONFIGS) do
        local kind = cfg[1]
        local c = ta[kind](table.unpack(cfg, 2))
        local r = ref[kind](table.unpack(cfg, 2))
        local fields = FIELDS[kind] or DEFAULT_FIELDS
        local failure
        local function check(what, a, b, bar)
            total_values = total_values + 1
            local d = difference(a, b)
            if d == nil or d > E.TOLERANCE then
                failure = failure or string.format("%s, bar %d, %s: C %s, Lua %s", label(cfg),
                                                   bar, what, describe(a), describe(b))
                return false
            end
            if d > 0 then
                inexact = inexact + 1
                worst = math.max(worst, d)
            end
            return true
        end
        for i = 1, #closes do
            local cr, lr
            if kind == "atr" then
                cr = table.pack(pcall(c.update, c, highs[i], lows[i], closes[i]))
                lr = table.pack(pcall(r.update, r, highs[i], lows[i], closes[i]))
            else
                cr = table.pack(pcall(c.update, c, closes[i]))
                lr = table.pack(pcall(r.update, r, closes[i]))
            end
            if cr[1] ~= lr[1] then
                failure = string.format("%s, bar %d: C %s, Lua %s", label(cfg), i,
                                        cr[1] and "returned" or "raised " .. tostring(cr[2]),
                                        lr[1] and "returned" or "raised " .. tostring(lr[2]))
                break
            end
            if not cr[1] then
                -- the same error in both ends this indicator's run (e.g. a percent MACD
                -- whose slow EMA reached 0)
                check("error", strip_where(cr[2]), strip_where(lr[2]), i)
                break
            end
            if not check("number of results", cr.n, lr.n, i) then break end
            for k = 2, cr.n do
                check("result " .. (k - 1), cr[k], lr[k], i)
            end
            for _, f in ipairs(fields) do
                check(f, c[f], r[f], i)
            end
            check("ready()", c:ready(), r:ready(), i)
            if failure then break end
        end
        if failure then
            ok = false
            lines[#lines + 1] = "FAIL " .. failure
        end
    end
    -- crossings of two pairs of averages, bar by bar
    local pairs_checked = 0
    local f1, s1, f2, s2 = ta.sma(10), ta.sma(30), ta.ema(5), ta.ema(13)
    local pf1, ps1, pf2, ps2
    for i = 1, #closes do
        local a1, b1 = f1:update(closes[i]), s1:update(closes[i])
        local a2, b2 = f2:update(closes[i]), s2:update(closes[i])
        for _, q in ipairs({ { pf1, ps1, a1, b1 }, { pf2, ps2, a2, b2 } }) do
            for _, fn in ipairs({ "crossed_above", "crossed_below" }) do
                local cv = ta[fn](q[1], q[2], q[3], q[4])
                local lv = ref[fn](q[1], q[2], q[3], q[4])
                pairs_checked = pairs_checked + 1
                if cv ~= lv then
                    ok = false
                    lines[#lines + 1] = string.format("FAIL %s at bar %d: C %s, Lua %s", fn, i,
                                                      tostring(cv), tostring(lv))
                end
            end
        end
        pf1, ps1, pf2, ps2 = a1, b1, a2, b2
    end
    lines[#lines + 1] = string.format(
        "%s: %d bars, %d indicators, %d values and %d crossings compared; %d values "
        .. "differ in the last bits (worst relative %.3g), the rest are identical",
        series.name, #closes, #E.CONFIGS, total_values, pairs_checked, inexact, worst)
    return ok, table.concat(lines, "\n")
end

-- Calls that must fail, with the same message in both implementations.
E.BAD_CALLS = {
    { "sma", 0 }, { "sma", 2.5 }, { "sma", "14" }, { "sma" }, { "sma", -3 }, { "sma", 1e7 + 1 },
    { "sma", 0 / 0 }, { "sma", math.huge }, { "ema", true }, { "rsi", 1.5 },
    { "atr", 14, { firsttr = "skip" } }, { "atr", 14, { first_tr = "ttr" } },
    { "atr", 14, "skip" }, { "atr", 14, { first_tr = 1 } }, { "atr", 0 },
    { "bollinger", 20, -1 }, { "bollinger", 20, 0 / 0 }, { "bollinger", 20, math.huge },
    { "bollinger", 20, "2" }, { "bollinger", 0, 2 },
    { "macd", 26, 12, 9 }, { "macd", 12, 12 }, { "macd", 0 }, { "macd", 12, 26, 0 },
    { "macd", 12, 26, 9, { pct = true } }, { "macd", 12, 26, 9, { percent = "yes" } },
    { "macd", 12, 26, 9, 5 }, { "highest", 0 }, { "lowest", "x" },
}

-- update() arguments that must fail, per indicator.
E.BAD_INPUTS = {
    { "sma", { 3 }, { nil } }, { "sma", { 3 }, { 0 / 0 } }, { "ema", { 3 }, { math.huge } },
    { "rsi", { 3 }, { -math.huge } }, { "bollinger", { 3 }, { "1" } },
    { "macd", {}, { false } }, { "highest", { 3 }, { 0 / 0 } }, { "lowest", { 3 }, { nil } },
    { "atr", { 3 }, { nil, 1, 1 } }, { "atr", { 3 }, { 2, 0 / 0, 1 } },
    { "atr", { 3 }, { 2, 1, math.huge } }, { "atr", { 3 }, { 2, 1 } },
}

function E.compare_errors(ta, ref)
    local lines, ok, checked = {}, true, 0
    local function same(what, cf, lf, ...)
        local cok, cerr = pcall(cf, ...)
        local lok, lerr = pcall(lf, ...)
        checked = checked + 1
        if cok or lok or strip_where(cerr) ~= strip_where(lerr) then
            ok = false
            lines[#lines + 1] = string.format("FAIL %s: C %s, Lua %s", what,
                                              cok and "succeeded" or describe(cerr),
                                              lok and "succeeded" or describe(lerr))
        end
    end
    for _, call in ipairs(E.BAD_CALLS) do
        same("ta." .. label(call), ta[call[1]], ref[call[1]], table.unpack(call, 2))
    end
    for _, b in ipairs(E.BAD_INPUTS) do
        local c = ta[b[1]](table.unpack(b[2]))
        local r = ref[b[1]](table.unpack(b[2]))
        same(b[1] .. ":update", c.update, r.update, c, table.unpack(b[3], 1, 3))
        -- and the object is unharmed: the same next value in both
        local x = 100
        local cv, lv
        if b[1] == "atr" then
            cv, lv = c:update(101, 99, x), r:update(101, 99, x)
        else
            cv, lv = c:update(x), r:update(x)
        end
        if cv ~= lv then
            ok = false
            lines[#lines + 1] = string.format("FAIL %s after a refused update: C %s, Lua %s",
                                              b[1], describe(cv), describe(lv))
        end
    end
    lines[#lines + 1] = string.format("%d bad calls fail with the same message in both", checked)
    return ok, table.concat(lines, "\n")
end

return E
