-- A tiny test harness for the pure-Lua tests (tests/lua/test_*.lua).
--
-- Each test file does:
--   local T = dofile(ROOT .. "/tests/lua/harness.lua")
--   T.test("name", function() T.eq(...) end)
--   return T.finish()
-- finish() prints a summary and returns true when every test passed, which is what
-- tests/unit/test_lua_modules.c asserts. Run directly (lua5.4 tests/lua/test_x.lua)
-- it also sets the exit status.

local T = { passed = 0, failed = 0, failures = {} }

local function fmt(v)
    if type(v) == "string" then
        return string.format("%q", v)
    elseif type(v) == "number" then
        return string.format("%.12g", v)
    end
    return tostring(v)
end

-- Level 3 points the message at the test line that called the assertion.
local function fail(msg)
    error(msg, 3)
end

function T.test(name, fn)
    local ok, err = xpcall(fn, debug and debug.traceback or tostring)
    if ok then
        T.passed = T.passed + 1
    else
        T.failed = T.failed + 1
        T.failures[#T.failures + 1] = name .. ": " .. tostring(err)
        print("FAIL " .. name .. ": " .. tostring(err))
    end
end

function T.eq(actual, expected, what)
    if actual ~= expected then
        fail(string.format("%sexpected %s, got %s", what and (what .. ": ") or "", fmt(expected),
                           fmt(actual)))
    end
end

function T.near(actual, expected, tol, what)
    if type(actual) ~= "number" or math.abs(actual - expected) > tol then
        fail(string.format("%sexpected %s within %g, got %s", what and (what .. ": ") or "",
                           fmt(expected), tol, fmt(actual)))
    end
end

function T.truthy(v, what)
    if not v then
        fail((what or "expected a true value") .. ", got " .. fmt(v))
    end
end

function T.falsy(v, what)
    if v then
        fail((what or "expected a false value") .. ", got " .. fmt(v))
    end
end

-- Asserts that haystack contains needle (plain text, not a pattern).
function T.contains(haystack, needle, what)
    if type(haystack) ~= "string" or not haystack:find(needle, 1, true) then
        fail(string.format("%sexpected %s to contain %s", what and (what .. ": ") or "",
                           fmt(haystack), fmt(needle)))
    end
end

-- Asserts that fn(...) raises an error whose message contains needle.
function T.raises(needle, fn, ...)
    local ok, err = pcall(fn, ...)
    if ok then
        fail("expected an error containing " .. fmt(needle) .. ", but the call succeeded")
    end
    if not tostring(err):find(needle, 1, true) then
        fail("expected an error containing " .. fmt(needle) .. ", got " .. fmt(tostring(err)))
    end
end

function T.finish()
    print(string.format("%d passed, %d failed", T.passed, T.failed))
    local ok = T.failed == 0 and T.passed > 0
    -- Run from the command line, `arg` exists: report through the exit status too.
    if arg and arg[0] and arg[0]:find("test_[%w_]+%.lua$") and not ok then
        os.exit(1)
    end
    return ok
end

return T
