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
    hl = function(i) return cols.high[i], cols.low[i] end,
    hlcv = function(i) return cols.high[i], cols.low[i], cols.close[i], cols.volume[i] end,
    -- the session key: the bar's year (reference.R's session VWAP restarts each year)
    hlcv_year = function(i)
        return cols.high[i], cols.low[i], cols.close[i], cols.volume[i],
               tonumber(cols.date[i]:sub(1, 4))
    end,
    close_volume = function(i) return cols.close[i], cols.volume[i] end,
}

-- The sample standard deviation of high - low over every bar: what TTR 0.24's SAR puts
-- between the first low and the first stop (it reads the whole series first).
local function sd_of_range()
    local n, sum = nbars, 0
    for i = 1, n do
        sum = sum + (cols.high[i] - cols.low[i])
    end
    local mean, ss = sum / n, 0
    for i = 1, n do
        local d = cols.high[i] - cols.low[i] - mean
        ss = ss + d * d
    end
    return math.sqrt(ss / (n - 1))
end

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
    { name = "ta.bollinger(20, 2, { typical = true })",
      ttr = "BBands(HLC, n = 20, sd = 2) (TTR's default)", input = "hlc",
      make = function() return ta.bollinger(20, 2, { typical = true }) end,
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

    -- the core/ta indicators
    on_close("wma", 10, "WMA"),
    on_close("dema", 10, "DEMA"),
    { name = "ta.tema(10)", ttr = "3 EMA - 3 EMA(EMA) + EMA(EMA(EMA)), TTR's EMA",
      input = "close", make = function() return ta.tema(10) end,
      outputs = { { col = "tema10", ret = 1 } } },
    { name = "ta.kama(10, 2, 30)", ttr = "Kaufman's formula in R (reference.R kama())",
      input = "close", make = function() return ta.kama(10, 2, 30) end,
      outputs = { { col = "kama10", ret = 1 } } },
    on_close("hma", 20, "HMA"),
    -- %K comes with %D: d_n - 1 bars after TTR's fastK
    { name = "ta.stoch(14, 3)", ttr = "100 * stoch(HLC, 14, 3)[, fastK / fastD]",
      input = "hlc", make = function() return ta.stoch(14, 3) end,
      outputs = { { col = "stoch_k", ret = 1, lead = 2 }, { col = "stoch_d", ret = 2 },
                  { col = "stoch_d", field = "d" } } },
    { name = "ta.stoch(14, 3, 3) (slow)", ttr = "100 * stoch(HLC, 14, 3, 3)[, fastD / slowD]",
      input = "hlc", make = function() return ta.stoch(14, 3, 3) end,
      outputs = { { col = "stoch_slow_k", ret = 1, lead = 2 }, { col = "stoch_slow_d", ret = 2 } } },
    { name = "ta.stochrsi(14, 14, 3, 3)",
      ttr = "SMA(100 (RSI - runMin(RSI, 14)) / (runMax - runMin), 3), and its SMA(3)",
      input = "close", make = function() return ta.stochrsi(14, 14, 3, 3) end,
      outputs = { { col = "stochrsi_k", ret = 1, lead = 2 }, { col = "stochrsi_d", ret = 2 } } },
    { name = "ta.willr(14)", ttr = "-100 * WPR(HLC, n = 14)", input = "hlc",
      make = function() return ta.willr(14) end, outputs = { { col = "willr14", ret = 1 } } },
    { name = "ta.cci(20)", ttr = "CCI(HLC, n = 20)", input = "hlc",
      make = function() return ta.cci(20) end, outputs = { { col = "cci20", ret = 1 } } },
    { name = "ta.roc(10)", ttr = "100 * ROC(close, 10, type = \"discrete\")", input = "close",
      make = function() return ta.roc(10) end, outputs = { { col = "roc10", ret = 1 } } },
    { name = 'ta.roc(10, { type = "continuous" })', ttr = "ROC(close, n = 10) (TTR's default)",
      input = "close", make = function() return ta.roc(10, { type = "continuous" }) end,
      outputs = { { col = "roc10_cont", ret = 1 } } },
    { name = "ta.momentum(10)", ttr = "momentum(close, n = 10)", input = "close",
      make = function() return ta.momentum(10) end, outputs = { { col = "mom10", ret = 1 } } },
    { name = "ta.mfi(14)", ttr = "MFI((high + low + close) / 3, volume, n = 14)", input = "hlcv",
      make = function() return ta.mfi(14) end, outputs = { { col = "mfi14", ret = 1 } } },
    { name = "ta.stdev(20)", ttr = "runSD(close, 20, sample = FALSE)", input = "close",
      make = function() return ta.stdev(20) end, outputs = { { col = "sd20", ret = 1 } } },
    { name = "ta.stdev(20, { sample = true })", ttr = "runSD(close, 20) (TTR's default)",
      input = "close", make = function() return ta.stdev(20, { sample = true }) end,
      outputs = { { col = "sd20_sample", ret = 1 } } },
    { name = 'ta.keltner(20, 2, nil, { first_tr = "skip" })',
      ttr = "keltnerChannels(HLC, n = 20, atr = 2)", input = "hlc",
      make = function() return ta.keltner(20, 2, nil, { first_tr = "skip" }) end,
      -- the middle line waits for the ATR, which skips the first bar
      outputs = { { col = "kc_mid", ret = 1, lead = 1 }, { col = "kc_upper", ret = 2 },
                  { col = "kc_lower", ret = 3 }, { col = "kc_upper", field = "upper" } } },
    { name = "ta.donchian(20)", ttr = "DonchianChannel(HL, n = 20)", input = "hl",
      make = function() return ta.donchian(20) end,
      outputs = { { col = "dc_mid", ret = 1 }, { col = "dc_upper", ret = 2 },
                  { col = "dc_lower", ret = 3 } } },
    -- +DI and -DI come with the ADX: n - 1 bars after TTR's
    { name = "ta.adx(14)", ttr = "ADX(HLC, n = 14)", input = "hlc",
      make = function() return ta.adx(14) end,
      outputs = { { col = "adx14", ret = 1 }, { col = "adx_pdi", ret = 2, lead = 13 },
                  { col = "adx_mdi", ret = 3, lead = 13 }, { col = "adx_dx", ret = 4, lead = 13 },
                  { col = "adx_pdi", field = "plus_di", lead = 13 } } },
    { name = "ta.aroon(25)", ttr = "aroon(HL, n = 25)", input = "hl",
      make = function() return ta.aroon(25) end,
      outputs = { { col = "aroon_osc", ret = 1 }, { col = "aroon_up", ret = 2 },
                  { col = "aroon_down", ret = 3 } } },
    { name = "ta.supertrend(10, 3)", ttr = "TradingView's Supertrend in R (reference.R)",
      input = "hlc", make = function() return ta.supertrend(10, 3) end,
      outputs = { { col = "st_line", ret = 1 }, { col = "st_dir", ret = 2 },
                  { col = "st_upper", ret = 3 }, { col = "st_lower", ret = 4 } } },
    { name = "ta.psar(0.04, 0.2, { first_gap = sd(high - low) })",
      ttr = "SAR(HL, accel = c(0.04, 0.2))", input = "hl",
      make = function() return ta.psar(0.04, 0.2, { first_gap = sd_of_range() }) end,
      outputs = { { col = "psar", ret = 1 } } },
    { name = "ta.ichimoku(9, 26, 52)", ttr = "(runMax + runMin) / 2 over 9, 26, 52; lagged 26",
      input = "hl", make = function() return ta.ichimoku(9, 26, 52) end,
      outputs = { { col = "ich_tenkan", ret = 1 }, { col = "ich_kijun", ret = 2 },
                  { col = "ich_span_a", ret = 3 }, { col = "ich_span_b", ret = 4 },
                  { col = "ich_cloud_a", ret = 5 }, { col = "ich_cloud_b", ret = 6 } } },
    { name = "ta.vwap() by year", ttr = "cumsum(tp v) / cumsum(v) within each year",
      input = "hlcv_year", make = function() return ta.vwap() end,
      outputs = { { col = "vwap_year", ret = 1 } } },
    { name = "ta.vwap({ n = 10 })", ttr = "VWAP(typical, volume, n = 10)", input = "hlcv",
      make = function() return ta.vwap({ n = 10 }) end, outputs = { { col = "vwap10", ret = 1 } } },
    { name = "ta.obv()", ttr = "OBV(close, volume)", input = "close_volume",
      make = function() return ta.obv() end, outputs = { { col = "obv", ret = 1 } } },
    { name = "ta.zscore(20)", ttr = "(close - runMean(close, 20)) / runSD(close, 20, FALSE)",
      input = "close", make = function() return ta.zscore(20) end,
      outputs = { { col = "zscore20", ret = 1 } } },
    { name = "ta.correlation(20) of close and volume", ttr = "runCor(close, volume, n = 20)",
      input = "close_volume", make = function() return ta.correlation(20) end,
      outputs = { { col = "cor20", ret = 1 } } },
    { name = "ta.beta(20) of close on volume",
      ttr = "runCov(close, volume, 20) / runVar(volume, n = 20)", input = "close_volume",
      make = function() return ta.beta(20) end, outputs = { { col = "beta20", ret = 1 } } },
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
