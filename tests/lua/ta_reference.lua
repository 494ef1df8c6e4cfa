-- The Lua implementation of apex.ta, kept as the reference the C one (core/script/ta.c,
-- what `require "apex.ta"` gives since it replaced this file) is checked against, value by
-- value, by tests/lua/test_ta_c_vs_lua.lua (random series) and tests/ttr (TTR's ttrc bars).
-- It is not part of the product: load it with dofile. Keep the two in step: a change of
-- convention goes into both, and the tests say whether they still agree.
--
-- apex.ta: incremental technical indicators.
--
-- Every indicator is an object built once (ta.sma(20)) and fed one value per bar
-- (obj:update(x)). Updates are O(1) and allocate nothing: ring buffers are
-- preallocated at construction, because these run on every bar of million-bar
-- backtests and a table per update would make the garbage collector the
-- bottleneck.
--
-- Common shape of every object:
--   obj:update(...)  -> current value(s), or nil until warmed up
--   obj.value        -> the last value (nil until warmed up)
--   obj:ready()      -> true once obj.value is available
--   obj.n            -> the period it was built with
--
-- Running sums drift when floating-point additions and subtractions pile up over
-- millions of updates, so SMA and Bollinger re-sum their window from the ring
-- buffer every RESUM_EVERY updates (at least every 4 windows): amortised O(1),
-- and the error stays at the level of a fresh computation.

local ta = {}

local RESUM_MIN = 1024
local sqrt, abs, max, floor, type = math.sqrt, math.abs, math.max, math.floor, type
local huge = math.huge

-- Constructor arguments are checked once; errors point at the caller's line (level 3
-- from the helper = the user's call of ta.xxx).
local function check_period(ctor, name, n)
    if type(n) ~= "number" or n ~= floor(n) or n < 1 or n > 1e7 then
        error(string.format("ta.%s: %s must be a whole number of bars >= 1, got %s", ctor, name,
                            tostring(n)), 3)
    end
    return floor(n)
end

-- Values fed to update() come from market data; a nil or NaN would poison every later
-- value silently, so it is an error naming the indicator.
local function bad_input(what, x)
    error(string.format("%s:update: expected a finite number, got %s", what, tostring(x)), 3)
end

-- An options table is checked once, like a period: a misspelt key would otherwise give
-- the default convention without a word. known maps each key to what it accepts, for the
-- message.
local function check_options(ctor, opts, known)
    if opts == nil then
        return {}
    end
    if type(opts) ~= "table" then
        error(string.format("ta.%s: options must be a table, got %s", ctor, tostring(opts)), 3)
    end
    for k in pairs(opts) do
        if known[k] == nil then
            local names = {}
            for name, accepts in pairs(known) do
                names[#names + 1] = name .. " (" .. accepts .. ")"
            end
            table.sort(names)
            error(string.format("ta.%s: unknown option %s; known: %s", ctor, tostring(k),
                                table.concat(names, ", ")), 3)
        end
    end
    return opts
end

local function prealloc(n)
    local t = {}
    for i = 1, n do
        t[i] = 0.0
    end
    return t
end

local function resum_interval(n)
    return max(RESUM_MIN, 4 * n)
end

--------------------------------------------------------------------------------
-- SMA: simple moving average over n values (running sum over a ring buffer).

local SMA = {}
SMA.__index = SMA
SMA.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
SMA.__name = "apex.ta.sma"

function ta.sma(n)
    n = check_period("sma", "n", n)
    return setmetatable({
        n = n, buf = prealloc(n), pos = 0, count = 0, sum = 0.0,
        since_resum = 0, resum_every = resum_interval(n), value = nil,
    }, SMA)
end

function SMA:update(x)
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        bad_input("sma", x)
    end
    local n, buf = self.n, self.buf
    local pos = self.pos % n + 1
    self.pos = pos
    if self.count < n then
        self.count = self.count + 1
    else
        self.sum = self.sum - buf[pos]
    end
    buf[pos] = x
    self.sum = self.sum + x
    local since = self.since_resum + 1
    if since >= self.resum_every then
        local s = 0.0
        for i = 1, self.count do
            s = s + buf[i]
        end
        self.sum = s
        since = 0
    end
    self.since_resum = since
    if self.count < n then
        return nil
    end
    local v = self.sum / n
    self.value = v
    return v
end

function SMA:ready()
    return self.value ~= nil
end

--------------------------------------------------------------------------------
-- EMA: exponential moving average, alpha = 2 / (n + 1), seeded with the SMA of the
-- first n values (the textbook seed, so the first value does not dominate).

local EMA = {}
EMA.__index = EMA
EMA.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
EMA.__name = "apex.ta.ema"

function ta.ema(n)
    n = check_period("ema", "n", n)
    return setmetatable({ n = n, alpha = 2.0 / (n + 1), count = 0, seed_sum = 0.0, value = nil },
                        EMA)
end

function EMA:update(x)
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        bad_input("ema", x)
    end
    local v = self.value
    if v ~= nil then
        v = v + self.alpha * (x - v)
        self.value = v
        return v
    end
    local count = self.count + 1
    self.count = count
    self.seed_sum = self.seed_sum + x
    if count < self.n then
        return nil
    end
    v = self.seed_sum / self.n
    self.value = v
    return v
end

function EMA:ready()
    return self.value ~= nil
end

--------------------------------------------------------------------------------
-- RSI: Wilder's relative strength index over n changes. The first average gain/loss is
-- the simple mean of the first n changes; afterwards avg = (avg * (n - 1) + x) / n.
-- The first value therefore needs n + 1 closes. A flat window (no gains, no losses)
-- reads 50; no losses at all reads 100.

local RSI = {}
RSI.__index = RSI
RSI.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
RSI.__name = "apex.ta.rsi"

function ta.rsi(n)
    n = check_period("rsi", "n", n)
    return setmetatable({
        n = n, prev = nil, changes = 0, avg_gain = 0.0, avg_loss = 0.0, value = nil,
    }, RSI)
end

local function rsi_of(avg_gain, avg_loss)
    if avg_loss == 0 then
        return avg_gain == 0 and 50.0 or 100.0
    end
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
end

function RSI:update(x)
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        bad_input("rsi", x)
    end
    local prev = self.prev
    self.prev = x
    if prev == nil then
        return nil
    end
    local change = x - prev
    local gain = change > 0 and change or 0.0
    local loss = change < 0 and -change or 0.0
    local n = self.n
    local changes = self.changes
    if changes < n then
        -- seeding: accumulate sums, divide once at the n-th change
        changes = changes + 1
        self.changes = changes
        self.avg_gain = self.avg_gain + gain
        self.avg_loss = self.avg_loss + loss
        if changes < n then
            return nil
        end
        self.avg_gain = self.avg_gain / n
        self.avg_loss = self.avg_loss / n
    else
        self.avg_gain = (self.avg_gain * (n - 1) + gain) / n
        self.avg_loss = (self.avg_loss * (n - 1) + loss) / n
    end
    local v = rsi_of(self.avg_gain, self.avg_loss)
    self.value = v
    return v
end

function RSI:ready()
    return self.value ~= nil
end

--------------------------------------------------------------------------------
-- ATR: Wilder's average true range. True range = max(high - low, |high - prev close|,
-- |low - prev close|). The first bar has no previous close: by default its true range is
-- its high - low (as StockCharts), so the first value comes at bar n;
-- first_tr = "skip" leaves the first bar out (TTR, TA-Lib), and it comes at bar n + 1.
-- Seeded with the mean of the first n true ranges, then Wilder smoothing.

local ATR = {}
ATR.__index = ATR
ATR.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
ATR.__name = "apex.ta.atr"

local ATR_OPTIONS = { first_tr = '"range" or "skip"' }

function ta.atr(n, opts)
    n = check_period("atr", "n", n)
    local first_tr = check_options("atr", opts, ATR_OPTIONS).first_tr
    if first_tr == nil then
        first_tr = "range"
    elseif first_tr ~= "range" and first_tr ~= "skip" then
        error(string.format('ta.atr: first_tr must be "range" (the first bar\'s high - low, the '
                            .. 'default) or "skip" (no true range without a previous close, as '
                            .. 'TTR and TA-Lib), got %s', tostring(first_tr)), 2)
    end
    return setmetatable({ n = n, skip_first = first_tr == "skip", prev_close = nil, count = 0,
                          seed_sum = 0.0, value = nil }, ATR)
end

function ATR:update(high, low, close)
    if type(high) ~= "number" or high ~= high or high == huge or high == -huge then
        bad_input("atr (high)", high)
    end
    if type(low) ~= "number" or low ~= low or low == huge or low == -huge then
        bad_input("atr (low)", low)
    end
    if type(close) ~= "number" or close ~= close or close == huge or close == -huge then
        bad_input("atr (close)", close)
    end
    local tr = high - low
    local pc = self.prev_close
    if pc == nil and self.skip_first then
        self.prev_close = close
        return nil
    elseif pc ~= nil then
        local up, down = abs(high - pc), abs(low - pc)
        if up > tr then
            tr = up
        end
        if down > tr then
            tr = down
        end
    end
    self.prev_close = close
    local v = self.value
    local n = self.n
    if v ~= nil then
        v = (v * (n - 1) + tr) / n
        self.value = v
        return v
    end
    local count = self.count + 1
    self.count = count
    self.seed_sum = self.seed_sum + tr
    if count < n then
        return nil
    end
    v = self.seed_sum / n
    self.value = v
    return v
end

function ATR:ready()
    return self.value ~= nil
end

--------------------------------------------------------------------------------
-- Bollinger bands: mid = SMA(n), upper/lower = mid +- k * population stdev over n.
-- The variance comes from a running sum and sum of squares of (x - shift), where shift
-- is re-centred on the window mean at every re-sum: prices near 100 with cents of
-- variation would otherwise lose most digits to cancellation in sumsq/n - mean^2.

local BB = {}
BB.__index = BB
BB.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
BB.__name = "apex.ta.bollinger"

function ta.bollinger(n, k)
    n = check_period("bollinger", "n", n)
    if k == nil then
        k = 2
    end
    if type(k) ~= "number" or k ~= k or k < 0 or k == huge then
        error(string.format("ta.bollinger: k must be a number >= 0 (e.g. 2), got %s",
                            tostring(k)), 2)
    end
    return setmetatable({
        n = n, k = k, buf = prealloc(n), pos = 0, count = 0, shift = nil,
        sum = 0.0, sumsq = 0.0, since_resum = 0, resum_every = resum_interval(n),
        value = nil, upper = nil, lower = nil, stdev = nil, width = nil,
    }, BB)
end

local function bb_resum(self)
    local buf, count = self.buf, self.count
    local raw = 0.0
    for i = 1, count do
        raw = raw + buf[i]
    end
    local shift = raw / count
    local s, sq = 0.0, 0.0
    for i = 1, count do
        local d = buf[i] - shift
        s = s + d
        sq = sq + d * d
    end
    self.shift, self.sum, self.sumsq = shift, s, sq
end

function BB:update(x)
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        bad_input("bollinger", x)
    end
    local n, buf = self.n, self.buf
    local shift = self.shift
    if shift == nil then
        shift = x
        self.shift = x
    end
    local pos = self.pos % n + 1
    self.pos = pos
    if self.count < n then
        self.count = self.count + 1
    else
        local d = buf[pos] - shift
        self.sum = self.sum - d
        self.sumsq = self.sumsq - d * d
    end
    buf[pos] = x
    local d = x - shift
    self.sum = self.sum + d
    self.sumsq = self.sumsq + d * d
    local since = self.since_resum + 1
    if since >= self.resum_every then
        bb_resum(self)
        since = 0
    end
    self.since_resum = since
    if self.count < n then
        return nil
    end
    local mean_d = self.sum / n
    local var = self.sumsq / n - mean_d * mean_d
    if var < 0 then
        var = 0.0 -- rounding can dip a flat window a hair below zero
    end
    local sd = sqrt(var)
    local mid = self.shift + mean_d
    local upper, lower = mid + self.k * sd, mid - self.k * sd
    self.value, self.upper, self.lower, self.stdev = mid, upper, lower, sd
    -- band width as a fraction of the mid: the usual "squeeze" measure
    self.width = mid ~= 0 and (upper - lower) / abs(mid) or 0.0
    return mid, upper, lower
end

function BB:ready()
    return self.value ~= nil
end

--------------------------------------------------------------------------------
-- MACD: macd = EMA(fast) - EMA(slow), in price units (Appel's definition, and what
-- charting platforms plot); percent = true gives 100 * (EMA(fast) / EMA(slow) - 1), TTR's
-- default, which compares across instruments and price levels. signal = EMA(signal) of
-- macd; histogram = macd - signal. Nothing is returned until the signal line is warmed
-- up, i.e. after slow + signal - 1 values.

local MACD = {}
MACD.__index = MACD
MACD.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
MACD.__name = "apex.ta.macd"

local MACD_OPTIONS = { percent = "true or false" }

function ta.macd(fast, slow, signal, opts)
    fast = check_period("macd", "fast", fast == nil and 12 or fast)
    slow = check_period("macd", "slow", slow == nil and 26 or slow)
    signal = check_period("macd", "signal", signal == nil and 9 or signal)
    if fast >= slow then
        error(string.format("ta.macd: fast (%d) must be shorter than slow (%d), e.g. 12, 26, 9",
                            fast, slow), 2)
    end
    local percent = check_options("macd", opts, MACD_OPTIONS).percent
    if percent == nil then
        percent = false
    elseif type(percent) ~= "boolean" then
        error(string.format("ta.macd: percent must be true or false, got %s", tostring(percent)),
              2)
    end
    return setmetatable({
        n = slow, percent = percent, fast_ema = ta.ema(fast), slow_ema = ta.ema(slow),
        signal_ema = ta.ema(signal), value = nil, signal = nil, histogram = nil,
    }, MACD)
end

function MACD:update(x)
    if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
        bad_input("macd", x)
    end
    local f = self.fast_ema:update(x)
    local s = self.slow_ema:update(x)
    if f == nil or s == nil then
        return nil
    end
    local m
    if self.percent then
        if s == 0 then
            -- a series that reaches 0 (a spread, say) has no percent MACD; say so rather
            -- than feed an infinity to the signal line
            error("macd:update: percent MACD of a series whose slow EMA is 0; use the "
                  .. "absolute MACD (percent = false) for series that cross zero", 2)
        end
        m = 100.0 * (f / s - 1.0)
    else
        m = f - s
    end
    local sig = self.signal_ema:update(m)
    if sig == nil then
        return nil
    end
    local hist = m - sig
    self.value, self.signal, self.histogram = m, sig, hist
    return m, sig, hist
end

function MACD:ready()
    return self.value ~= nil
end

--------------------------------------------------------------------------------
-- Rolling highest / lowest over n values: a monotonic deque of sequence numbers in a
-- preallocated ring, so each update is amortised O(1) (every value enters and leaves
-- the deque once). Used for "stop below the recent low".

local function extreme_ctor(ctor, is_max)
    local Class = {}
    Class.__index = Class
    Class.__metatable = false -- shared by every indicator of the pipeline: not for scripts to patch
    Class.__name = "apex.ta." .. ctor

    function Class:update(x)
        if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
            bad_input(ctor, x)
        end
        local n, buf, dq = self.n, self.buf, self.dq
        local count = self.count + 1
        self.count = count
        buf[(count - 1) % n + 1] = x
        local head, len = self.head, self.len
        -- the front leaves the window once it is n values old
        if len > 0 and dq[head] <= count - n then
            head = head % n + 1
            len = len - 1
        end
        -- values the new one dominates can never be the extreme again
        while len > 0 do
            local back = dq[(head + len - 2) % n + 1]
            local bv = buf[(back - 1) % n + 1]
            if (is_max and bv <= x) or (not is_max and bv >= x) then
                len = len - 1
            else
                break
            end
        end
        dq[(head + len - 1) % n + 1] = count
        len = len + 1
        self.head, self.len = head, len
        if count < n then
            return nil
        end
        local v = buf[(dq[head] - 1) % n + 1]
        self.value = v
        return v
    end

    function Class:ready()
        return self.value ~= nil
    end

    return function(n)
        n = check_period(ctor, "n", n)
        local dq = {}
        for i = 1, n do
            dq[i] = 0
        end
        return setmetatable({ n = n, buf = prealloc(n), dq = dq, head = 1, len = 0, count = 0,
                              value = nil }, Class)
    end
end

ta.highest = extreme_ctor("highest", true)
ta.lowest = extreme_ctor("lowest", false)

--------------------------------------------------------------------------------
-- Crossings. True only on the bar where a moves from at-or-below b to above it (or the
-- mirror), so a signal fires once per crossing. Any nil (an indicator still warming
-- up) means "no crossing".

function ta.crossed_above(prev_a, prev_b, a, b)
    if prev_a == nil or prev_b == nil or a == nil or b == nil then
        return false
    end
    return prev_a <= prev_b and a > b
end

function ta.crossed_below(prev_a, prev_b, a, b)
    if prev_a == nil or prev_b == nil or a == nil or b == nil then
        return false
    end
    return prev_a >= prev_b and a < b
end

return ta
