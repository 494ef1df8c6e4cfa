-- apex.ta (C) against the Lua implementation it replaced (tests/lua/ta_reference.lua),
-- value by value over long random walks and series made to reach the corners: integers,
-- flat stretches, zero crossings, big offsets with big swings (the running sums' resums),
-- tiny and huge magnitudes. tests/ttr does the same over TTR's real ttrc bars.

local ROOT = APEX_SOURCE_DIR or os.getenv("APEX_SOURCE_DIR")
if not ROOT or ROOT == "" then
    ROOT = ((arg and arg[0] or ""):match("^(.-)/?tests/lua/[^/]*$") or "")
    if ROOT == "" then ROOT = "." end
end
local T = dofile(ROOT .. "/tests/lua/harness.lua")
local E = dofile(ROOT .. "/tests/lua/ta_equivalence.lua")
local ref = dofile(ROOT .. "/tests/lua/ta_reference.lua")
local ta = require("apex.ta")

-- bars from a close series: high and low a random fraction around it
local function bars(name, closes, spread, seed)
    math.randomseed(seed)
    local highs, lows = {}, {}
    for i, c in ipairs(closes) do
        local a = math.abs(c) * spread
        highs[i] = c + a * math.random()
        lows[i] = c - a * math.random()
    end
    return { name = name, close = closes, high = highs, low = lows }
end

local function random_walk(count, base, vol, seed)
    math.randomseed(seed)
    local xs, p = {}, base
    for i = 1, count do
        p = p * (1 + (math.random() - 0.5) * vol)
        xs[i] = p
    end
    return xs
end

local function expect(ok, report)
    print(report)
    T.truthy(ok, "C and Lua agree (see the FAIL lines above)")
end

T.test("random walks: C and Lua give the same values bar by bar", function()
    expect(E.compare(ta, ref, bars("walk 100 +-0.5%", random_walk(5000, 100, 0.01, 1), 0.004, 2)))
    expect(E.compare(ta, ref, bars("walk 5 +-5%", random_walk(5000, 5, 0.1, 3), 0.03, 4)))
    expect(E.compare(ta, ref, bars("walk 1e-4 +-2%", random_walk(5000, 1e-4, 0.04, 5), 0.01, 6)))
    expect(E.compare(ta, ref, bars("walk 1e9 +-1%", random_walk(5000, 1e9, 0.02, 7), 0.005, 8)))
end)

T.test("corner series: integers, flat stretches, zero crossings, big swings", function()
    math.randomseed(9)
    local ints, flat, cross, swing = {}, {}, {}, {}
    for i = 1, 5000 do
        ints[i] = math.random(1, 1000)                          -- Lua integers
        flat[i] = (i // 500) % 2 == 0 and 42.42 or 40 + (i % 7) * 0.01
        cross[i] = 3 * math.sin(i / 40) + (math.random() - 0.5) -- crosses zero, spreads
        swing[i] = 1e6 + (i % 2 == 0 and 1e5 or -1e5) * math.random() + math.random()
    end
    -- integer highs and lows too
    local ib = bars("integers", ints, 0, 10)
    for i = 1, #ints do ib.high[i], ib.low[i] = ints[i] + math.random(0, 5), ints[i] - math.random(0, 5) end
    expect(E.compare(ta, ref, ib))
    expect(E.compare(ta, ref, bars("flat stretches", flat, 0.001, 11)))
    expect(E.compare(ta, ref, bars("zero crossings", cross, 0.1, 12)))
    expect(E.compare(ta, ref, bars("1e6 +- 1e5 swings", swing, 0.01, 13)))
end)

T.test("a long run through many resums of the running sums", function()
    local saved = E.CONFIGS
    E.CONFIGS = { { "sma", 10 }, { "sma", 30 }, { "sma", 300 }, { "bollinger", 20 },
                  { "bollinger", 300, 2 }, { "atr", 14 }, { "highest", 50 } }
    local ok, report = E.compare(ta, ref, bars("walk 100k bars", random_walk(100000, 50, 0.01, 14), 0.004, 15))
    E.CONFIGS = saved
    expect(ok, report)
end)

T.test("bad arguments fail with the same message in C and Lua", function()
    expect(E.compare_errors(ta, ref))
end)

T.test("what only the C objects do: read-only fields, checked self, __name", function()
    local s = ta.sma(3)
    T.eq(getmetatable(s), false, "the metatable is protected")
    T.raises("apex.ta.sma: cannot set field 'value': indicators are read-only", function()
        s.value = 1
    end)
    T.raises("bad argument #1 to 'update' (apex.ta.sma expected, got apex.ta.ema)", function()
        s.update(ta.ema(3), 1)
    end)
    T.raises("(apex.ta.atr expected, got number)", ta.atr(3).ready, 5)
    T.raises("(apex.ta.highest expected, got apex.ta.lowest)", ta.highest(2).update, ta.lowest(2), 1)
    T.truthy(tostring(s):find("^apex%.ta%.sma: "), "tostring names the class")
    T.eq(s.unknown_field, nil, "unknown keys read nil, as from the Lua tables")
    T.eq(s[1], nil)
end)

return T.finish()
