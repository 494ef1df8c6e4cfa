-- Tests for the shipped strategies and bias modules (strategies/*.lua), the example
-- pipelines (strategies/examples/*.lua) and the rule files (instructions/*.lua): signals
-- on the right bars with the right stops and targets, biases that follow the market,
-- edge signs, parameter errors, hot-reload state, and enough trades on the demo data.

local ROOT = APEX_SOURCE_DIR or os.getenv("APEX_SOURCE_DIR")
if not ROOT or ROOT == "" then
    ROOT = ((arg and arg[0] or ""):match("^(.-)/?tests/lua/[^/]*$") or "")
    if ROOT == "" then ROOT = "." end
end
package.path = ROOT .. "/lua/?.lua;" .. package.path
local T = dofile(ROOT .. "/tests/lua/harness.lua")
local D = dofile(ROOT .. "/tests/lua/demo_data.lua")
local ta = require("apex.ta")
local I = require("apex.instructions")

local function bar(t, close, spread)
    spread = spread or 0.2
    return { time = 1709562600 + t * 60, symbol = "TEST", open = close, high = close + spread,
             low = close - spread, close = close, volume = 1000 }
end

-- Prices from a list of {bars, per-bar step} legs, starting at start.
local function path(start, legs)
    local out, p = {}, start
    for _, leg in ipairs(legs) do
        for _ = 1, leg[1] do
            p = p + leg[2]
            out[#out + 1] = p
        end
    end
    return out
end

T.test("ma_cross buys exactly on golden-cross bars with a 2 ATR stop and 2:1 target", function()
    local bars = D.generate("AAPL")
    local strat, new_ctx = D.load_module(ROOT, "strategies/ma_cross.lua", { fast = 10, slow = 30 })
    local ctx = new_ctx("AAPL")
    strat.on_start(ctx)
    local fast, slow, atr = ta.sma(10), ta.sma(30), ta.atr(14)
    local pf, ps
    local buys, crosses = 0, 0
    for _, b in ipairs(bars) do
        local sig = strat.on_bar(ctx, b)
        local f, s, a = fast:update(b.close), slow:update(b.close), atr:update(b.high, b.low, b.close)
        local golden = pf ~= nil and ps ~= nil and f and s and pf <= ps and f > s
        if golden then crosses = crosses + 1 end
        if sig then
            buys = buys + 1
            T.truthy(golden, "signal only on a golden-cross bar at " .. b.time)
            T.eq(sig.side, "buy", "no shorts by default")
            T.near(sig.stop_loss, b.close - 2 * a, 1e-9, "stop = close - 2 ATR")
            T.near(sig.take_profit - b.close, 2 * (b.close - sig.stop_loss), 1e-9, "2:1 target")
            T.truthy(sig.confidence >= 0.5 and sig.confidence <= 1, "confidence in 0.5..1")
            T.contains(sig.reason, "golden cross: SMA10")
        else
            T.falsy(golden, "every golden cross signals (bar " .. b.time .. ")")
        end
        pf, ps = f, s
    end
    T.eq(buys, crosses)
    T.truthy(buys >= 5, "several golden crosses over 5 days, got " .. buys)
end)

T.test("ma_cross shorts death crosses only with allow_short", function()
    local prices = path(100, { { 40, 0.1 }, { 40, -0.15 } }) -- up, then down through
    local function run(params)
        local strat, new_ctx = D.load_module(ROOT, "strategies/ma_cross.lua", params)
        local ctx = new_ctx("TEST")
        local sigs = {}
        for i, p in ipairs(prices) do
            local sig = strat.on_bar(ctx, bar(i, p))
            if sig then sigs[#sigs + 1] = { i = i, sig = sig } end
        end
        return sigs
    end
    local long_only = run({ fast = 3, slow = 8 })
    for _, s in ipairs(long_only) do T.eq(s.sig.side, "buy") end
    local both = run({ fast = 3, slow = 8, allow_short = true })
    local sells = 0
    for _, s in ipairs(both) do
        if s.sig.side == "sell" then
            sells = sells + 1
            T.truthy(s.i > 40, "the death cross comes in the falling leg")
            local close = prices[s.i]
            T.truthy(s.sig.stop_loss > close, "short stop above the close")
            T.truthy(s.sig.take_profit < close, "short target below the close")
            T.contains(s.sig.reason, "death cross")
        end
    end
    T.eq(sells, 1, "one death cross")
end)

T.test("ma_cross emits nothing while a position is open and its edge tracks the trend", function()
    local strat, new_ctx = D.load_module(ROOT, "strategies/ma_cross.lua", { fast = 3, slow = 8 })
    local ctx = new_ctx("TEST")
    local prices = path(100, { { 20, -0.05 }, { 30, 0.2 } })
    local long = { symbol = "TEST", side = "long", qty = 10, entry_price = 100 }
    for i, p in ipairs(prices) do
        if i > 22 then ctx.position = long end
        local sig = strat.on_bar(ctx, bar(i, p))
        if i > 22 then T.eq(sig, nil, "no entry while in a position") end
    end
    local e = strat.edge(ctx, long)
    T.truthy(e > 0.02, "strong uptrend: edge above the early-exit threshold, got " .. e)
    T.truthy(strat.edge(ctx, { side = "short" }) < 0, "a short against the trend has negative edge")
    T.truthy(strat.opportunity(ctx) > 0, "uptrend is an opportunity")
    for i = 1, 15 do strat.on_bar(ctx, bar(50 + i, prices[#prices] - i * 0.4)) end
    T.truthy(strat.edge(ctx, long) < 0, "after the averages cross back the long's edge is negative")
    T.eq(strat.opportunity(ctx), 0, "a downtrend is no long opportunity without allow_short")
end)

T.test("strategy parameters are checked with helpful errors", function()
    -- a module that declares its params refuses bad ones at load, the others at on_start
    local function start_error(file, params)
        local loaded, strat, new_ctx = pcall(D.load_module, ROOT, file, params)
        if not loaded then
            return strat
        end
        local ok, err = pcall(strat.on_start, new_ctx("TEST"))
        T.falsy(ok, "expected " .. file .. " to reject its params")
        return err
    end
    T.contains(start_error("strategies/ma_cross.lua", { fats = 5 }),
               "ma_cross.lua: params.fats: the strategy declares no such parameter; did you "
               .. "mean 'fast'?")
    T.contains(start_error("strategies/ma_cross.lua", { fast = 30, slow = 10 }),
               "ma_cross: params.fast (30) must be smaller than params.slow (10)")
    T.contains(start_error("strategies/ma_cross.lua", { fast = "10" }),
               "ma_cross.lua: params.fast: expected an integer, got string 10")
    T.contains(start_error("strategies/ma_cross.lua", { fast = 0 }),
               "ma_cross.lua: params.fast: must be from 1 to 100000, got 0")
    T.contains(start_error("strategies/ma_cross.lua", { kind = "wma" }),
               "params.kind: must be one of \"sma\", \"ema\"")
    T.contains(start_error("strategies/rsi_reversion.lua", { oversold = 80 }),
               "params.oversold (80) must be below params.overbought (70)")
    T.contains(start_error("strategies/trend_bias.lua", { period = 0 }),
               "trend_bias.lua: params.period: must be from 2 to 100000, got 0")
    T.contains(start_error("strategies/range_bias.lua", { max_width = -1 }),
               "range_bias.lua: params.max_width: must be from")
end)

T.test("hot reload keeps warmed-up indicators in ctx.state unless periods change", function()
    local strat, new_ctx = D.load_module(ROOT, "strategies/ma_cross.lua", { fast = 3, slow = 8 })
    local ctx = new_ctx("TEST")
    for i = 1, 20 do strat.on_bar(ctx, bar(i, 100 + i)) end
    local before = ctx.state.ma_cross
    T.truthy(before.slow:ready())
    -- the host loads the new chunk and calls on_reload with the same ctx.state
    local reloaded = D.load_module(ROOT, "strategies/ma_cross.lua", { fast = 3, slow = 8 })
    reloaded.on_reload(ctx)
    T.eq(ctx.state.ma_cross, before, "same indicator objects after reload")
    T.truthy(reloaded.edge(ctx, { side = "long" }) > 0, "edge available at once")
    ctx.params = require("apex.params").declared(reloaded.params, { fast = 5, slow = 12 }, "t")
    reloaded.on_reload(ctx)
    T.truthy(ctx.state.ma_cross ~= before, "new periods rebuild the indicators")
    T.falsy(ctx.state.ma_cross.slow:ready(), "and they warm up again")
end)

T.test("trend_bias is long in an uptrend, short in a downtrend, neutral when unsure", function()
    local bias, new_ctx = D.load_module(ROOT, "strategies/trend_bias.lua", nil)
    local ctx = new_ctx("TEST")
    bias.on_start(ctx)
    local r = bias.bias(ctx)
    T.eq(r.direction, "neutral")
    T.contains(r.reason, "warming up: 0 of 60 bars")
    local prices = path(100, { { 80, 0.05 } })
    for i, p in ipairs(prices) do bias.on_bar(ctx, bar(i, p, 0.05)) end
    r = bias.bias(ctx)
    T.eq(r.direction, "long")
    T.truthy(r.confidence > 0 and r.confidence <= 1)
    T.contains(r.reason, "above EMA50")
    T.contains(r.reason, "EMA rising")
    local last = prices[#prices]
    for i = 1, 80 do bias.on_bar(ctx, bar(80 + i, last - i * 0.08, 0.05)) end
    r = bias.bias(ctx)
    T.eq(r.direction, "short")
    T.contains(r.reason, "below EMA50")
    -- flat: EMA barely moves -> neutral
    local flat = new_ctx("FLAT")
    for i = 1, 120 do bias.on_bar(flat, bar(i, 100 + (i % 2) * 0.01, 0.05)) end
    T.eq(bias.bias(flat).direction, "neutral")
end)

T.test("trend_bias follows the synthetic demo: TSLA short-leaning early, AAPL long-leaning", function()
    local function count(sym, from, to)
        local bias, new_ctx = D.load_module(ROOT, "strategies/trend_bias.lua", nil)
        local ctx = new_ctx(sym)
        local c = { long = 0, short = 0, neutral = 0 }
        for i, b in ipairs(D.generate(sym)) do
            bias.on_bar(ctx, b)
            if i >= from and i <= to then
                local d = bias.bias(ctx).direction
                c[d] = c[d] + 1
            end
        end
        return c
    end
    local tsla = count("TSLA", 1, 975)
    T.truthy(tsla.short > 2 * tsla.long, "TSLA falls for 2.5 days")
    local aapl = count("AAPL", 1, 1950)
    T.truthy(aapl.long > aapl.short, "AAPL trends up")
end)

T.test("rsi_reversion buys the RSI cross up through 30 with stop below the low, target mid", function()
    local strat, new_ctx = D.load_module(ROOT, "strategies/rsi_reversion.lua", nil)
    local ctx = new_ctx("TEST")
    -- flat, a selloff, then a bounce
    local prices = path(100, { { 30, 0 }, { 20, -0.3 }, { 15, 0.25 } })
    local rsi, bb, atr, low = ta.rsi(14), ta.bollinger(20, 2), ta.atr(14), ta.lowest(10)
    local prev_rsi
    local signals = 0
    for i, p in ipairs(prices) do
        local b = bar(i, p + ((i % 2 == 0) and 0.02 or -0.02), 0.1)
        local sig = strat.on_bar(ctx, b)
        local r = rsi:update(b.close)
        local mid = bb:update(b.close)
        local a = atr:update(b.high, b.low, b.close)
        local lo = low:update(b.low)
        if sig then
            signals = signals + 1
            T.truthy(prev_rsi < 30 and r >= 30, "signal on the RSI cross, RSI " .. r)
            T.eq(sig.side, "buy")
            T.near(sig.take_profit, mid, 1e-9, "target is the Bollinger mid")
            -- half an ATR below the 10-bar low, kept 0.5..3 ATR from the close
            local dist = math.min(math.max(b.close - lo + 0.5 * a, 0.5 * a), 3 * a)
            T.near(sig.stop_loss, b.close - dist, 1e-9, "stop below the recent low")
            T.truthy(sig.stop_loss < b.close - 0.5 * a + 1e-9, "stop at least 0.5 ATR away")
            T.contains(sig.reason, "RSI14 crossed up through 30")
            ctx.position = { symbol = "TEST", side = "long", entry_price = b.close }
            T.truthy(strat.edge(ctx, ctx.position) > 0, "room to the mean: positive edge")
        end
        prev_rsi = r
    end
    T.eq(signals, 1, "one oversold bounce")
end)

T.test("range_bias: long in a calm range, short on a wide breakdown", function()
    local bias, new_ctx = D.load_module(ROOT, "strategies/range_bias.lua", nil)
    local ctx = new_ctx("TEST")
    for i = 1, 40 do bias.on_bar(ctx, bar(i, 100 + math.sin(i) * 0.1)) end
    local r = bias.bias(ctx)
    T.eq(r.direction, "long")
    T.contains(r.reason, "ranging: band width")
    for i = 1, 6 do bias.on_bar(ctx, bar(40 + i, 100 - i * 0.5)) end
    r = bias.bias(ctx)
    T.eq(r.direction, "short")
    T.contains(r.reason, "breaking down")
    local warm = new_ctx("W")
    T.eq(bias.bias(warm).direction, "neutral")
end)

T.test("demo pipelines produce several trades per symbol over 5 days", function()
    local cases = {
        { "AAPL", "strategies/ma_cross.lua", { fast = 10, slow = 30 }, "strategies/trend_bias.lua" },
        { "TSLA", "strategies/ma_cross.lua", { fast = 10, slow = 30 }, "strategies/trend_bias.lua" },
        { "MSFT", "strategies/rsi_reversion.lua", nil, "strategies/range_bias.lua" },
    }
    for _, c in ipairs(cases) do
        local bars = D.generate(c[1])
        T.eq(#bars, 1950)
        local trades = D.simulate(ROOT, bars, c[2], c[3], c[4])
        T.truthy(#trades >= 3 and #trades <= 80,
                 string.format("%s: expected several trades, got %d", c[1], #trades))
        for _, t in ipairs(trades) do
            if t.side == "long" then
                T.truthy(t.stop < t.entry and t.target > t.entry, c[1] .. " long bracket order")
            else
                T.truthy(t.stop > t.entry and t.target < t.entry, c[1] .. " short bracket order")
            end
        end
    end
    -- the real generator's output, when it has been generated
    local real = D.read_csv(ROOT .. "/data/demo/bars.csv")
    if real then
        for _, c in ipairs(cases) do
            if real[c[1]] and #real[c[1]] > 100 then
                local n = #D.simulate(ROOT, real[c[1]], c[2], c[3], c[4])
                print(string.format("data/demo/bars.csv %s: %d trades", c[1], n))
                T.truthy(n >= 1, c[1] .. " trades on the generated demo data")
            end
        end
    end
end)

-- Loads an example pipeline with a stand-in apex.pipeline and checks what it points at.
local function load_pipeline(rel)
    local env = setmetatable({ apex = { pipeline = function(t)
        assert(type(t) == "table", "apex.pipeline expects a table")
        return t
    end } }, { __index = _G })
    local chunk, err = loadfile(ROOT .. "/" .. rel, "t", env)
    assert(chunk, err)
    return chunk(), (rel:match("^(.*)/[^/]+$"))
end

local function load_rule(path)
    local chunk, err = loadfile(path, "t", setmetatable({}, { __index = _G }))
    assert(chunk, err)
    return chunk()
end

T.test("example pipelines name existing modules and valid instructions", function()
    for _, rel in ipairs { "strategies/examples/ma_trend.lua", "strategies/examples/rsi_reversion.lua",
                           "strategies/examples/ma_cross_exit.lua",
                           "strategies/examples/breakout_stop.lua",
                           "strategies/examples/reference.lua" } do
        local p, dir = load_pipeline(rel)
        T.truthy(type(p.name) == "string" and p.name:match("^[%w_.-]+$") and #p.name <= 63, rel .. " name")
        T.truthy(#p.symbols >= 1, rel .. " symbols")
        T.eq(p.data.files[1], "../../data/demo/bars.csv", rel .. " bars")
        T.eq(p.data.news, "../../data/demo/news.csv", rel .. " news")
        T.truthy(p.strategy, rel .. " strategy")
        for _, slot in ipairs { "bias", "strategy" } do
            local ref = p[slot]
            if ref == nil then goto next_slot end -- a bias is optional
            local file = type(ref) == "table" and ref.file or ref
            local f = io.open(ROOT .. "/" .. dir .. "/" .. file, "r")
            T.truthy(f, rel .. ": " .. slot .. " file " .. tostring(file) .. " exists")
            if f then f:close() end
            -- the params it sets are all known to the module
            if type(ref) == "table" and ref.params then
                local mod, new_ctx = D.load_module(ROOT, dir .. "/" .. file, ref.params)
                mod.on_start(new_ctx("AAPL"))
            end
            ::next_slot::
        end
        for _, ins in ipairs(p.instructions or {}) do
            if type(ins) == "string" then
                local rule, err = I.compile(ins)
                T.truthy(rule, rel .. ": " .. tostring(err))
            else
                local rule = load_rule(ROOT .. "/" .. dir .. "/" .. ins.file)
                T.truthy(I.validate(rule, ins.file))
            end
        end
    end
    local ma = load_pipeline("strategies/examples/ma_trend.lua")
    T.eq(table.concat(ma.symbols, ","), "AAPL,TSLA")
    T.eq(ma.strategy.params.fast, 10)
    T.eq(ma.strategy.params.slow, 30)
    T.eq(ma.instructions[1], "close if VIX > 40")
    T.eq(ma.instructions[2], "liquidate if SPY drops 3% intraday")
    local rsi = load_pipeline("strategies/examples/rsi_reversion.lua")
    T.eq(table.concat(rsi.symbols, ","), "MSFT")
    T.eq(rsi.instructions[1], "exit on high impact news for this symbol")
end)

T.test("rule files fire on their conditions with specific reasons", function()
    local vix = load_rule(ROOT .. "/instructions/vix_spike.lua")
    local function m(prices, changes, news)
        return { price = function(s) return prices[s] end, change = function(s) return changes[s] end,
                 news = function(s) return news[s or "*"] or 0 end, now = function() return 0 end }
    end
    local fired, reason = vix.check(m({ VIX = 41.5 }, {}, {}), nil)
    T.truthy(fired)
    T.eq(reason, "VIX 41.50 > 40")
    fired, reason = vix.check(m({ VIX = 33 }, { VIX = 0.6 }, {}), nil)
    T.truthy(fired, "spike from a calm open")
    T.contains(reason, "VIX spiking: 33.00, up 60% today")
    T.falsy(vix.check(m({ VIX = 33 }, { VIX = 0.05 }, {}), nil), "high but not spiking")
    T.falsy(vix.check(m({}, {}, {}), nil), "no VIX data")

    local news = load_rule(ROOT .. "/instructions/news_exit.lua")
    local pos = { symbol = "AAPL", side = "long", unrealized_pnl_pct = -0.01 }
    fired, reason = news.check(m({}, {}, { AAPL = 3 }), pos)
    T.truthy(fired)
    T.eq(reason, "high impact news for AAPL in the last 30 minutes")
    fired, reason = news.check(m({}, {}, { ["*"] = 3 }), pos)
    T.truthy(fired, "market-wide news while losing")
    T.contains(reason, "while AAPL is down 1.0%")
    pos.unrealized_pnl_pct = 0.02
    T.falsy(news.check(m({}, {}, { ["*"] = 3 }), pos), "market-wide news while winning")
    T.falsy(news.check(m({}, {}, {}), nil), "no position")
end)

T.test("ma_cross_exit buys on the cross above and closes on the cross back, only then", function()
    local closes = path(100, { { 40, 0 }, { 20, 0.25 }, { 30, -0.25 } })
    local strat, new_ctx = D.load_module(ROOT, "strategies/ma_cross_exit.lua", { qty = 100 })
    local ctx = new_ctx("TEST")
    strat.on_start(ctx)
    local fast, slow = ta.sma(10), ta.sma(30)
    local pf, ps
    local buys, closes_seen = 0, 0
    for i, c in ipairs(closes) do
        local b = bar(i, c)
        local sig = strat.on_bar(ctx, b)
        local f, s = fast:update(c), slow:update(c)
        local up = ta.crossed_above(pf, ps, f, s)
        local down = ta.crossed_below(pf, ps, f, s)
        if sig and sig.side == "buy" then
            buys = buys + 1
            T.truthy(up, "buys only on the cross above, bar " .. i)
            T.eq(sig.qty, 100)
            ctx.position = { side = "long", qty = 100 } -- the entry filled
        elseif sig then
            closes_seen = closes_seen + 1
            T.eq(sig.side, "close")
            T.truthy(down, "closes only on the cross back, bar " .. i)
            T.eq(sig.qty, nil, "the whole position")
            T.contains(sig.reason, "averages crossed back: SMA10")
            ctx.position = nil
        else
            T.falsy(up and ctx.position == nil, "every cross above without a position buys")
            T.falsy(down and ctx.position ~= nil, "every cross back with a position closes")
        end
        pf, ps = f, s
    end
    T.eq(buys, 1)
    T.eq(closes_seen, 1)
end)

return T.finish()
