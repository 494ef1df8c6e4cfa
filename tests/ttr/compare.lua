-- apex.ta against R's TTR, value by value, over TTR's ttrc bars.
--
-- tests/ttr/test_ttr.c loads this file into the host's own sandbox (the state strategies
-- run in, whose require reaches only the modules embedded in the binary), so what is
-- checked is the apex.ta the host ships. It hands over the CSV tests/ttr/reference.R
-- wrote as one string, because the sandbox has no io.
--
-- Every check feeds one indicator all the bars, then for each of its outputs:
--   - counts the leading bars each side leaves undefined (the warm-up); they must be
--     equal, or differ by exactly the documented `lead` (docs/lua-api.md, Conventions);
--   - compares every bar where both are defined: |apex - ttr| <= TOL * max(|ttr|, 1),
--     i.e. relative, and absolute below 1 (MACD crosses zero, where only an absolute
--     error means anything);
--   - fails on a bar defined on one side only once both have warmed up (a NaN from TTR,
--     a gap in apex.ta).

local ta = require("apex.ta")

local M = {}

local TOL = 1e-9
local abs, max, huge = math.abs, math.max, math.huge

local cols, nbars
local BAR_COLUMNS = { date = true, open = true, high = true, low = true, close = true,
                      volume = true }

-- Parses the CSV: a header line, then one line per bar; "NA" (TTR warming up) and "NaN"
-- become nil. Returns the number of bars.
function M.load(csv)
    local names, rows = nil, 0
    cols = {}
    for line in csv:gmatch("[^\n]+") do
        if names == nil then
            names = {}
            for name in line:gmatch("[^,]+") do
                names[#names + 1] = name
                cols[name] = {}
            end
        else
            rows = rows + 1
            local k = 0
            for field in line:gmatch("[^,]+") do
                k = k + 1
                local col = cols[names[k]]
                if col == nil then
                    error(string.format("reference line %d: more fields than the header's %d",
                                        rows + 1, #names))
                end
                col[rows] = names[k] == "date" and field or tonumber(field)
            end
            if k ~= #names then
                error(string.format("reference line %d: %d fields, the header has %d", rows + 1, k,
                                    #names))
            end
        end
    end
    if rows < 1000 then
        error(string.format("reference has %d bars; ttrc has 5550", rows))
    end
    nbars = rows
    return rows
end

local function column(name)
    local c = cols[name]
    if c == nil then
        error("reference has no column " .. name .. " (tests/ttr/reference.R writes it)")
    end
    return c
end

-- What each indicator's update() is given on bar i.
local inputs = {
    close = function(i) return cols.close[i] end,
    high = function(i) return cols.high[i] end,
    low = function(i) return cols.low[i] end,
    hlc = function(i) return cols.high[i], cols.low[i], cols.close[i] end,
    -- TTR's BBands default price, fed by the caller (apex.ta's bollinger takes one value)
    typical = function(i) return (cols.high[i] + cols.low[i] + cols.close[i]) / 3 end,
}

-- name: the apex.ta call; ttr: the TTR call that gave the reference (tests/ttr/reference.R).
-- outputs: col = reference column; ret = which return value of update, or field = which
-- field of the object; lead = extra warm-up bars apex.ta takes on purpose.
--
-- on_close("sma", 10, "SMA"): ta.sma(10) fed closes against TTR's SMA(close, n = 10),
-- in the column "sma10".
local function on_close(ctor, n, ttr_fn)
    return { name = string.format("ta.%s(%d)", ctor, n),
             ttr = string.format("%s(close, n = %d)", ttr_fn, n), input = "close",
             make = function() return ta[ctor](n) end,
             outputs = { { col = ctor .. n, ret = 1 } } }
end

local checks = {
    on_close("sma", 10, "SMA"),
    on_close("sma", 50, "SMA"),
    on_close("sma", 200, "SMA"),
    on_close("ema", 10, "EMA"),
    on_close("ema", 50, "EMA"),
    on_close("rsi", 14, "RSI"),
    on_close("rsi", 2, "RSI"),
    { name = "ta.atr(14)",
      ttr = "EMA(tr, n = 14, wilder = TRUE), tr = ATR(HLC)'s true ranges, tr[1] = high - low",
      input = "hlc", make = function() return ta.atr(14) end,
      outputs = { { col = "atr14", ret = 1 } } },
    { name = 'ta.atr(14, { first_tr = "skip" })', ttr = "ATR(HLC, n = 14) (TTR's default)",
      input = "hlc", make = function() return ta.atr(14, { first_tr = "skip" }) end,
      outputs = { { col = "atr14_skip", ret = 1 } } },
    { name = "ta.bollinger(20, 2)", ttr = "BBands(close, n = 20, sd = 2)", input = "close",
      make = function() return ta.bollinger(20, 2) end,
      outputs = { { col = "bb_mid", ret = 1 }, { col = "bb_upper", ret = 2 },
                  { col = "bb_lower", ret = 3 }, { col = "bb_width", field = "width" } } },
    { name = "ta.bollinger(20, 2) fed (high + low + close) / 3",
      ttr = "BBands(HLC, n = 20, sd = 2) (TTR's default)", input = "typical",
      make = function() return ta.bollinger(20, 2) end,
      outputs = { { col = "bbtyp_mid", ret = 1 }, { col = "bbtyp_upper", ret = 2 },
                  { col = "bbtyp_lower", ret = 3 } } },
    -- TTR's macd line is defined from bar `slow`; apex.ta returns nothing until the
    -- signal line is ready too, signal - 1 bars later.
    { name = "ta.macd(12, 26, 9)", ttr = "MACD(close, 12, 26, 9, percent = FALSE)",
      input = "close", make = function() return ta.macd(12, 26, 9) end,
      outputs = { { col = "macd", ret = 1, lead = 8 }, { col = "macd_signal", ret = 2 },
                  { col = "macd_hist", ret = 3 } } },
    { name = "ta.macd(12, 26, 9, { percent = true })",
      ttr = "MACD(close, 12, 26, 9) (TTR's default)", input = "close",
      make = function() return ta.macd(12, 26, 9, { percent = true }) end,
      outputs = { { col = "macdpct", ret = 1, lead = 8 }, { col = "macdpct_signal", ret = 2 },
                  { col = "macdpct_hist", ret = 3 } } },
    { name = "ta.highest(20) of highs", ttr = "runMax(high, n = 20)", input = "high",
      make = function() return ta.highest(20) end, outputs = { { col = "highest20", ret = 1 } } },
    { name = "ta.lowest(20) of lows", ttr = "runMin(low, n = 20)", input = "low",
      make = function() return ta.lowest(20) end, outputs = { { col = "lowest20", ret = 1 } } },
}

-- Feeds every bar; returns one array per output (nil where apex.ta gives nothing).
local function run(check)
    local ind = check.make()
    local arg = inputs[check.input]
    local series = {}
    for k = 1, #check.outputs do
        series[k] = {}
    end
    for i = 1, nbars do
        local r = table.pack(ind:update(arg(i)))
        for k, out in ipairs(check.outputs) do
            if out.field then
                -- fields keep the last value; read them only on bars update answered
                series[k][i] = r[1] ~= nil and ind[out.field] or nil
            else
                series[k][i] = r[out.ret]
            end
        end
    end
    return series
end

local function leading_nils(t)
    local k = 0
    while k < nbars and t[k + 1] == nil do
        k = k + 1
    end
    return k
end

local function fmt(v)
    return v == nil and "undefined" or string.format("%.17g", v)
end

-- Compares one output; returns a summary line, the measured errors and the problems.
local function compare(out, got)
    local ref = column(out.col)
    local problems = {}
    local lead_ref, lead_got = leading_nils(ref), leading_nils(got)
    local lead = out.lead or 0
    if lead_got ~= lead_ref + lead then
        problems[#problems + 1] = string.format(
            "warm-up: apex.ta undefined for the first %d bars, TTR for %d; expected %d for "
            .. "apex.ta (TTR's + %d)", lead_got, lead_ref, lead_ref + lead, lead)
    end
    local compared, worst_tol, worst_rel, worst_abs, worst_at = 0, 0.0, 0.0, 0.0, nil
    local warmed = max(lead_ref, lead_got)
    for i = 1, nbars do
        local g, r = got[i], ref[i]
        if g ~= nil and r ~= nil then
            compared = compared + 1
            local err = abs(g - r)
            local scaled = err / max(abs(r), 1)
            local rel = r ~= 0 and err / abs(r) or (err == 0 and 0 or huge)
            if scaled > worst_tol then
                worst_tol, worst_at = scaled, i
            end
            if rel > worst_rel then
                worst_rel = rel
            end
            if err > worst_abs then
                worst_abs = err
            end
            if scaled > TOL and #problems < 5 then
                problems[#problems + 1] = string.format("bar %d (%s): apex.ta %s, TTR %s", i,
                                                        cols.date[i], fmt(g), fmt(r))
            end
        elseif i > warmed and (g ~= nil or r ~= nil) and #problems < 5 then
            problems[#problems + 1] = string.format("bar %d (%s): apex.ta %s, TTR %s", i,
                                                    cols.date[i], fmt(g), fmt(r))
        end
    end
    if compared ~= nbars - warmed then
        problems[#problems + 1] = string.format("compared %d bars, expected %d", compared,
                                                nbars - warmed)
    end
    local line = string.format(
        "%-14s %5d bars, warm-up %3d/%3d, max err %.1e (rel %.1e, abs %.1e%s)", out.col,
        compared, lead_got, lead_ref, worst_tol, worst_rel, worst_abs,
        worst_at and string.format(" worst at bar %d", worst_at) or "")
    return line, worst_tol, problems
end

-- The bars M.load read, as tests/lua/ta_equivalence.lua takes them: there they feed
-- apex.ta (C) and its Lua reference side by side.
function M.series()
    if nbars == nil then
        error("M.load(csv) first")
    end
    return { name = "ttrc", close = cols.close, high = cols.high, low = cols.low }
end

-- Runs every check. Returns true when all agree, and the report: one line per check and
-- output with its figures, then every problem found.
function M.run()
    if nbars == nil then
        error("M.load(csv) first")
    end
    local report, ok, compared = {}, true, {}
    for _, check in ipairs(checks) do
        local series = run(check)
        report[#report + 1] = check.name .. "  vs  " .. check.ttr
        for k, out in ipairs(check.outputs) do
            local line, _, problems = compare(out, series[k])
            compared[out.col] = true
            report[#report + 1] = "    " .. line
            for _, p in ipairs(problems) do
                ok = false
                report[#report + 1] = "    FAIL " .. out.col .. ": " .. p
            end
        end
    end
    -- a reference column no check reads would be a comparison silently dropped
    local unread = {}
    for name in pairs(cols) do
        if not BAR_COLUMNS[name] and not compared[name] then
            unread[#unread + 1] = name
        end
    end
    if #unread > 0 then
        table.sort(unread)
        ok = false
        report[#report + 1] = "FAIL reference columns no check compares: "
                              .. table.concat(unread, ", ")
    end
    return ok, table.concat(report, "\n")
end

return M
