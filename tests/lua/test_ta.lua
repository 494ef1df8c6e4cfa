-- Tests for apex.ta (core/script/ta.c): every indicator against a straightforward reference
-- computation (recomputed from scratch at every bar), textbook values where they are
-- well known, warm-up behaviour, float drift over long runs, and allocation-free updates.

local ROOT = APEX_SOURCE_DIR or os.getenv("APEX_SOURCE_DIR")
if not ROOT or ROOT == "" then
    ROOT = ((arg and arg[0] or ""):match("^(.-)/?tests/lua/[^/]*$") or "")
    if ROOT == "" then ROOT = "." end
end
package.path = ROOT .. "/lua/?.lua;" .. package.path
local T = dofile(ROOT .. "/tests/lua/harness.lua")
local ta = require("apex.ta")

-- Deterministic random walk of closes around base with bars (high/low around close).
local function make_series(count, base, seed)
    math.randomseed(seed)
    local closes, highs, lows = {}, {}, {}
    local p = base
    for i = 1, count do
        p = p * (1 + (math.random() - 0.5) * 0.01)
        closes[i] = p
        highs[i] = p * (1 + math.random() * 0.004)
        lows[i] = p * (1 - math.random() * 0.004)
    end
    return closes, highs, lows
end

-- Reference implementations: obvious loops, recomputed from scratch, no state.
local function ref_sma(xs, i, n)
    if i < n then return nil end
    local s = 0
    for j = i - n + 1, i do s = s + xs[j] end
    return s / n
end

local function ref_ema(xs, i, n)
    if i < n then return nil end
    local a = 2 / (n + 1)
    local seed = ref_sma(xs, n, n)
    -- closed form: weight (1-a)^(i-n) on the seed, a(1-a)^(i-j) on each later x_j
    local v = seed * (1 - a) ^ (i - n)
    for j = n + 1, i do v = v + a * (1 - a) ^ (i - j) * xs[j] end
    return v
end

local function ref_rsi(xs, i, n)
    if i < n + 1 then return nil end
    local g, l = 0, 0
    for j = 2, n + 1 do
        local c = xs[j] - xs[j - 1]
        if c > 0 then g = g + c else l = l - c end
    end
    g, l = g / n, l / n
    for j = n + 2, i do
        local c = xs[j] - xs[j - 1]
        g = (g * (n - 1) + math.max(c, 0)) / n
        l = (l * (n - 1) + math.max(-c, 0)) / n
    end
    if l == 0 then return g == 0 and 50 or 100 end
    return 100 - 100 / (1 + g / l)
end

local function ref_tr(h, l, c, j)
    if j == 1 then return h[1] - l[1] end
    return math.max(h[j] - l[j], math.abs(h[j] - c[j - 1]), math.abs(l[j] - c[j - 1]))
end

local function ref_atr(h, l, c, i, n)
    if i < n then return nil end
    local s = 0
    for j = 1, n do s = s + ref_tr(h, l, c, j) end
    local v = s / n
    for j = n + 1, i do v = (v * (n - 1) + ref_tr(h, l, c, j)) / n end
    return v
end

local function ref_stdev(xs, i, n)
    local m = ref_sma(xs, i, n)
    local s = 0
    for j = i - n + 1, i do s = s + (xs[j] - m) ^ 2 end
    return math.sqrt(s / n)
end

T.test("sma equals a naive recomputation at every bar and is nil while warming up", function()
    local xs = make_series(500, 100, 1)
    local sma = ta.sma(20)
    for i = 1, #xs do
        local v = sma:update(xs[i])
        if i < 20 then
            T.eq(v, nil, "sma before bar 20")
            T.falsy(sma:ready(), "not ready during warm-up")
        else
            T.near(v, ref_sma(xs, i, 20), 1e-9, "sma at bar " .. i)
            T.eq(sma.value, v, "sma.value mirrors the return value")
        end
    end
    T.truthy(sma:ready(), "ready after 20 bars")
end)

T.test("sma of period 1 is the input itself", function()
    local sma = ta.sma(1)
    T.eq(sma:update(101.25), 101.25)
    T.eq(sma:update(99.5), 99.5)
end)

T.test("ema is seeded with the SMA and matches the closed-form weighted sum", function()
    local xs = make_series(300, 250, 2)
    local ema = ta.ema(12)
    for i = 1, #xs do
        local v = ema:update(xs[i])
        if i < 12 then
            T.eq(v, nil, "ema before bar 12")
        elseif i == 12 then
            T.near(v, ref_sma(xs, 12, 12), 1e-12, "seed is the SMA of the first 12")
        else
            T.near(v, ref_ema(xs, i, 12), 1e-9, "ema at bar " .. i)
        end
    end
end)

T.test("rsi reproduces Wilder's textbook example (StockCharts closes)", function()
    local closes = { 44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245,
                     45.8433, 46.0826, 45.8931, 46.0328, 45.6140, 46.2820, 46.2820, 46.0028,
                     46.0328, 46.4116, 46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515,
                     45.7835, 45.3548, 44.0288, 44.1783, 44.2181, 44.5672, 43.4205, 42.6628,
                     43.1314 }
    local expected = { 70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38,
                       54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77 }
    local rsi = ta.rsi(14)
    local got = {}
    for i = 1, #closes do
        local v = rsi:update(closes[i])
        if i <= 14 then
            T.eq(v, nil, "rsi needs 15 closes, bar " .. i)
        else
            got[#got + 1] = v
        end
    end
    T.eq(#got, #expected, "number of RSI values")
    for i = 1, #expected do
        T.near(got[i], expected[i], 0.01, "textbook RSI value " .. i)
    end
end)

T.test("rsi equals a naive Wilder recomputation on a long random series", function()
    local xs = make_series(400, 50, 3)
    local rsi = ta.rsi(14)
    for i = 1, #xs do
        local v = rsi:update(xs[i])
        local r = ref_rsi(xs, i, 14)
        if r == nil then T.eq(v, nil) else T.near(v, r, 1e-9, "rsi at bar " .. i) end
    end
end)

T.test("rsi reads 100 with only gains and 50 on a flat series", function()
    local up, flat = ta.rsi(3), ta.rsi(3)
    local v1, v2
    for i = 1, 6 do
        v1 = up:update(10 + i)
        v2 = flat:update(10)
    end
    T.eq(v1, 100.0, "only gains")
    T.eq(v2, 50.0, "no movement")
end)

T.test("atr uses true range with gaps and Wilder smoothing", function()
    local c, h, l = make_series(300, 80, 4)
    -- a gap: the bar after 100 opens far above the previous close
    for j = 101, 300 do c[j], h[j], l[j] = c[j] + 5, h[j] + 5, l[j] + 5 end
    local atr = ta.atr(14)
    for i = 1, #c do
        local v = atr:update(h[i], l[i], c[i])
        local r = ref_atr(h, l, c, i, 14)
        if r == nil then T.eq(v, nil) else T.near(v, r, 1e-9, "atr at bar " .. i) end
    end
    -- the gap bar's true range is the gap, not the bar's own range
    local small = ta.atr(1)
    small:update(10.5, 9.5, 10)
    T.near(small:update(15.2, 14.8, 15), 5.2, 1e-12, "true range spans the gap from 10 to 15.2")
end)

T.test('atr with first_tr = "skip" leaves the first bar out (TTR, TA-Lib)', function()
    local c, h, l = make_series(300, 80, 10)
    local atr = ta.atr(14, { first_tr = "skip" })
    for i = 1, #c do
        local v = atr:update(h[i], l[i], c[i])
        if i <= 14 then
            T.eq(v, nil, "needs 15 bars, bar " .. i)
        else
            -- the default convention over bars 2.. is this one, shifted by a bar
            local s = 0
            for j = 2, 15 do s = s + ref_tr(h, l, c, j) end
            local r = s / 14
            for j = 16, i do r = (r * 13 + ref_tr(h, l, c, j)) / 14 end
            T.near(v, r, 1e-9, "atr at bar " .. i)
        end
    end
    local small = ta.atr(1, { first_tr = "skip" })
    T.eq(small:update(10.5, 9.5, 10), nil, "no true range without a previous close")
    T.near(small:update(15.2, 14.8, 15), 5.2, 1e-12, "the second bar's true range spans the gap")
    T.near(ta.atr(1, { first_tr = "range" }):update(10.5, 9.5, 10), 1.0, 1e-12,
           '"range" is the default: the first bar counts its high - low')
end)

T.test("bollinger mid/upper/lower equal SMA +- k * population stdev", function()
    local xs = make_series(400, 180, 5)
    local bb = ta.bollinger(20, 2)
    for i = 1, #xs do
        local mid, up, lo = bb:update(xs[i])
        if i < 20 then
            T.eq(mid, nil)
        else
            local m, sd = ref_sma(xs, i, 20), ref_stdev(xs, i, 20)
            T.near(mid, m, 1e-9, "mid at bar " .. i)
            T.near(up, m + 2 * sd, 1e-9, "upper at bar " .. i)
            T.near(lo, m - 2 * sd, 1e-9, "lower at bar " .. i)
            T.eq(bb.value, mid)
            T.near(bb.width, (up - lo) / mid, 1e-12, "width is a fraction of mid")
        end
    end
end)

T.test("bollinger on a flat series has zero-width bands", function()
    local bb = ta.bollinger(5, 2)
    local mid, up, lo
    for _ = 1, 10 do mid, up, lo = bb:update(42.42) end
    T.near(mid, 42.42, 1e-12)
    T.near(up, 42.42, 1e-12)
    T.near(lo, 42.42, 1e-12)
end)

T.test("macd is EMA(fast) - EMA(slow) with an EMA signal line", function()
    local xs = make_series(200, 120, 6)
    local macd = ta.macd(12, 26, 9)
    local ms = {}
    for i = 1, #xs do
        local m, s, h = macd:update(xs[i])
        if i >= 26 then ms[#ms + 1] = ref_ema(xs, i, 12) - ref_ema(xs, i, 26) end
        if i < 26 + 9 - 1 then
            T.eq(m, nil, "macd warming up at bar " .. i)
        else
            local rm = ms[#ms]
            local rs = ref_ema(ms, #ms, 9)
            T.near(m, rm, 1e-9, "macd at bar " .. i)
            T.near(s, rs, 1e-9, "signal at bar " .. i)
            T.near(h, rm - rs, 1e-9, "histogram at bar " .. i)
        end
    end
end)

T.test("macd with percent = true is 100 * (EMA(fast) / EMA(slow) - 1) (TTR's default)",
       function()
    local xs = make_series(200, 120, 11)
    local macd = ta.macd(12, 26, 9, { percent = true })
    T.eq(macd.percent, true)
    T.eq(ta.macd().percent, false, "absolute by default")
    local ms = {}
    for i = 1, #xs do
        local m, s, h = macd:update(xs[i])
        if i >= 26 then ms[#ms + 1] = 100 * (ref_ema(xs, i, 12) / ref_ema(xs, i, 26) - 1) end
        if i < 26 + 9 - 1 then
            T.eq(m, nil, "macd warming up at bar " .. i)
        else
            local rm, rs = ms[#ms], ref_ema(ms, #ms, 9)
            T.near(m, rm, 1e-9, "percent macd at bar " .. i)
            T.near(s, rs, 1e-9, "signal at bar " .. i)
            T.near(h, rm - rs, 1e-9, "histogram at bar " .. i)
        end
    end
    -- a series whose slow EMA reaches 0 has no percent MACD: an error, not an infinity
    local zero = ta.macd(2, 3, 2, { percent = true })
    zero:update(1)
    zero:update(-1)
    T.raises("macd:update: percent MACD of a series whose slow EMA is 0", zero.update, zero, 0)
end)

T.test("highest/lowest track the rolling extremes", function()
    local xs = make_series(300, 60, 7)
    local hi, lo = ta.highest(10), ta.lowest(10)
    for i = 1, #xs do
        local h, l = hi:update(xs[i]), lo:update(xs[i])
        if i < 10 then
            T.eq(h, nil)
        else
            local rh, rl = -math.huge, math.huge
            for j = i - 9, i do rh, rl = math.max(rh, xs[j]), math.min(rl, xs[j]) end
            T.eq(h, rh, "highest at bar " .. i)
            T.eq(l, rl, "lowest at bar " .. i)
        end
    end
    -- strictly falling then rising: every element passes through the deque
    local m = ta.lowest(3)
    local seq = { 5, 4, 3, 2, 1, 2, 3, 4, 5 }
    local want = { nil, nil, 3, 2, 1, 1, 1, 2, 3 }
    for i, x in ipairs(seq) do T.eq(m:update(x), want[i], "lowest(3) step " .. i) end
end)

T.test("crossed_above/below fire only on the crossing bar", function()
    T.truthy(ta.crossed_above(9, 10, 11, 10), "from below to above")
    T.truthy(ta.crossed_above(10, 10, 10.5, 10), "from equal to above")
    T.falsy(ta.crossed_above(11, 10, 12, 10), "already above")
    T.falsy(ta.crossed_above(9, 10, 10, 10), "touching is not crossing")
    T.falsy(ta.crossed_above(nil, 10, 11, 10), "warming up")
    T.truthy(ta.crossed_below(11, 10, 9, 10), "from above to below")
    T.falsy(ta.crossed_below(9, 10, 8, 10), "already below")
    T.falsy(ta.crossed_below(11, 10, 9, nil), "warming up")
end)

T.test("long runs do not drift: running sums stay equal to a fresh sum", function()
    -- values with a large offset and alternating big swings make naive running sums drift
    math.randomseed(8)
    local n = 50
    local sma, bb = ta.sma(n), ta.bollinger(n, 2)
    local window = {}
    local last
    for i = 1, 200000 do
        local x = 1e6 + (i % 2 == 0 and 1e5 or -1e5) * math.random() + math.random()
        sma:update(x)
        bb:update(x)
        window[(i - 1) % n + 1] = x
        last = i
    end
    local s = 0
    for j = 1, n do s = s + window[j] end
    local mean = s / n
    local sq = 0
    for j = 1, n do sq = sq + (window[j] - mean) ^ 2 end
    T.truthy(last == 200000)
    T.near(sma.value, mean, 1e-9 * mean, "sma after 200k updates")
    T.near(bb.value, mean, 1e-9 * mean, "bollinger mid after 200k updates")
    T.near(bb.stdev, math.sqrt(sq / n), 1e-6, "bollinger stdev after 200k updates")
end)

T.test("updates allocate no memory once constructed", function()
    local objs = { ta.sma(30), ta.ema(30), ta.rsi(14), ta.bollinger(20, 2), ta.macd(12, 26, 9),
                   ta.macd(12, 26, 9, { percent = true }), ta.highest(10), ta.lowest(10) }
    local atr, atr_skip = ta.atr(14), ta.atr(14, { first_tr = "skip" })
    local xs, hs, ls = make_series(5000, 100, 9)
    -- warm up first so lazily created fields already exist
    for i = 1, 100 do
        for _, o in ipairs(objs) do o:update(xs[i]) end
        atr:update(hs[i], ls[i], xs[i])
        atr_skip:update(hs[i], ls[i], xs[i])
    end
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    for i = 101, #xs do
        for k = 1, #objs do objs[k]:update(xs[i]) end
        atr:update(hs[i], ls[i], xs[i])
        atr_skip:update(hs[i], ls[i], xs[i])
    end
    local grown = collectgarbage("count") - before
    collectgarbage("restart")
    T.truthy(grown < 1, string.format("expected no allocation in 4900 x 10 updates, grew %.1f KiB",
                                      grown))
end)

T.test("bad periods and bad inputs are errors that name the indicator", function()
    T.raises("ta.sma: n must be a whole number of bars >= 1, got 0", ta.sma, 0)
    T.raises("ta.ema: n must be a whole number", ta.ema, 2.5)
    T.raises("ta.rsi: n must be a whole number", ta.rsi, "14")
    T.raises("ta.bollinger: k must be a number >= 0", ta.bollinger, 20, -1)
    T.raises("ta.macd: fast (26) must be shorter than slow (12)", ta.macd, 26, 12, 9)
    -- options: a misspelt key or value is an error, never a silent default
    T.raises("ta.atr: unknown option firsttr; known: first_tr (\"range\" or \"skip\")", ta.atr,
             14, { firsttr = "skip" })
    T.raises('ta.atr: first_tr must be "range"', ta.atr, 14, { first_tr = "ttr" })
    T.raises("ta.atr: options must be a table, got skip", ta.atr, 14, "skip")
    T.raises("ta.macd: unknown option pct; known: percent (true or false)", ta.macd, 12, 26, 9,
             { pct = true })
    T.raises("ta.macd: percent must be true or false, got yes", ta.macd, 12, 26, 9,
             { percent = "yes" })
    local sma = ta.sma(3)
    T.raises("sma:update: expected a finite number, got nil", sma.update, sma, nil)
    T.raises("sma:update: expected a finite number", sma.update, sma, 0 / 0)
    T.raises("sma:update: expected a finite number", sma.update, sma, math.huge)
    local atr = ta.atr(3)
    T.raises("atr (low):update", atr.update, atr, 10, nil, 9)
end)

return T.finish()
