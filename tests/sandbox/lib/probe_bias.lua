-- The probe: the attacked pipeline's bias module (with: probe). It shares the Lua state
-- with the attacker (separate globals, the same libraries), and checks on every bar and
-- every bias() call that what it shares still behaves; anything else fails the bar with
-- "TAMPERED: <what>", which the runner looks for. It never trades on its own (neutral).
local M = {}

local function check(ok, what)
    if not ok then
        error("TAMPERED: " .. what, 0)
    end
end

local function probe()
    check(type(string) == "table" and type(string.format) == "function", "string.format is gone")
    check(string.format("%d|%s|%5.2f", 42, "x", 1.5) == "42|x| 1.50", "string.format")
    check(("abc"):upper() == "ABC" and ("abc"):len() == 3, "string methods (the string metatable)")
    check(("a,b"):find(",", 1, true) == 2 and ("a1"):match("%d") == "1", "string.find/match")
    check(string.rep("ab", 3) == "ababab" and ("x=1"):gsub("%d", "2") == "x=2", "string.rep/gsub")
    local t = {}
    table.insert(t, "a")
    table.insert(t, 1, "b")
    check(table.concat(t, ",") == "b,a", "table.insert/concat")
    local u = { 3, 1, 2 }
    table.sort(u)
    check(u[1] == 1 and u[3] == 3 and select("#", table.unpack(u)) == 3, "table.sort/unpack")
    check(math.floor(2.7) == 2 and math.max(1, 3) == 3 and math.abs(-2) == 2, "math functions")
    check(math.huge > 1e308 and math.pi > 3.14 and math.pi < 3.15, "math constants")
    check(math.type(1) == "integer" and math.tointeger(3.0) == 3, "math.type/tointeger")
    check(tostring(12) == "12" and tonumber("7") == 7 and type(print) == "function", "base functions")
    check(select(2, pcall(error, "e", 0)) == "e" and select("#", 1, 2) == 2, "pcall/error/select")
    check(#utf8.char(228) == 2 and utf8.len("ä") == 1, "utf8")
    check(type(os.time()) == "number" and type(os.clock()) == "number", "os.time/os.clock")
    check(rawget(_ENV, "io") == nil and io == nil and debug == nil and package == nil, "io/debug/package appeared")
    check(os.execute == nil and os.exit == nil and os.getenv == nil, "os functions appeared")
    check(string.dump == nil and dofile == nil and loadfile == nil, "string.dump/dofile/loadfile appeared")
    local co = coroutine.wrap(function() coroutine.yield(1) end)
    check(co() == 1 and type(coroutine.create(print)) == "thread", "coroutine")
    check(PWNED == nil, "a global set by another module is visible here: PWNED")
    check(getmetatable("") == false, "the string metatable is exposed")
    check(load("return 1 + 1")() == 2 and load("\27Lua") == nil, "load")
    local ta = require("apex.ta")
    local sma = ta.sma(2)
    sma:update(1)
    check(sma:update(3) == 2 and apex.ta == ta, "apex.ta")
    local rule = require("apex.instructions").compile("close if GAUGE > 40")
    check(type(rule) == "table" and type(rule.check) == "function", "apex.instructions.compile")
    check(type(require("apex.params").resolve) == "function", "apex.params")
    check(type(apex.price) == "function" and type(apex.now()) == "number", "apex")
end

function M.on_bar(ctx, bar)
    probe()
end

function M.bias(ctx)
    probe()
    return "neutral"
end

return M
