-- Helpers for the strategy tests (not a test itself):
--  * generate(symbol): synthetic 1-minute bars shaped like `apex-datagen data/demo`
--    (2024-03-04..08, 14:30-21:00 UTC, 390 bars a day, 1950 per symbol): AAPL trends up,
--    MSFT ranges, TSLA falls then recovers, SPY crashes > 3% on day 4 while VIX spikes
--    above 40. Deterministic (own generator), so counts are stable across runs.
--  * read_csv(path): bars from a CSV in the host's format
--    (timestamp,symbol,open,high,low,close,volume[,bid,ask]), grouped by symbol.
--  * load_module(root, path, params): loads a strategy/bias file the way the host does
--    (its own environment, require of apex.* modules) with a fresh ctx per symbol.

local D = {}

local FIRST_SESSION = 1709562600 -- 2024-03-04 14:30:00 UTC
local DAYS, BARS_PER_DAY = 5, 390

-- xorshift-free, small LCG: reproducible without touching math.random's global state
local function rng(seed)
    local state = seed
    local spare = nil
    local r = {}
    function r.uniform()
        state = (state * 1103515245 + 12345) % 2147483648
        return (state + 0.5) / 2147483648
    end
    function r.normal()
        if spare then
            local v = spare
            spare = nil
            return v
        end
        local u1, u2 = r.uniform(), r.uniform()
        local mag = math.sqrt(-2 * math.log(u1))
        spare = mag * math.sin(2 * math.pi * u2)
        return mag * math.cos(2 * math.pi * u2)
    end
    return r
end

local SHAPES = {
    -- start price, per-bar volatility, drift function(day, i) per bar (log return)
    AAPL = { 180, 0.0007, function() return 0.06 / 1950 end, 11 },
    MSFT = { 410, 0.0006, nil, 12 },  -- mean reverting, see below
    TSLA = { 200, 0.0012, function(day, i)
        local t = day * BARS_PER_DAY + i
        return t < 975 and -0.10 / 975 or 0.12 / 975
    end, 13 },
    SPY = { 510, 0.0004, function(day)
        return day == 3 and -0.045 / BARS_PER_DAY or 0.005 / 1950
    end, 14 },
    VIX = { 14, 0.002, function(day)
        return day == 3 and math.log(44 / 14) / BARS_PER_DAY or (day == 4 and -0.8 / BARS_PER_DAY or 0)
    end, 15 },
}

function D.generate(symbol)
    local shape = assert(SHAPES[symbol], "no synthetic shape for " .. tostring(symbol))
    local start, vol, drift, seed = shape[1], shape[2], shape[3], shape[4]
    local r = rng(seed)
    local bars = {}
    local p = start
    for day = 0, DAYS - 1 do
        for i = 0, BARS_PER_DAY - 1 do
            local open = p
            local mu
            if drift then
                mu = drift(day, i)
            else
                mu = 0.03 * math.log(start / p) -- pull back towards the mean: a range
            end
            p = p * math.exp(mu + vol * r.normal())
            local hi = math.max(open, p) * (1 + math.abs(r.normal()) * vol * 0.5)
            local lo = math.min(open, p) * (1 - math.abs(r.normal()) * vol * 0.5)
            bars[#bars + 1] = { time = FIRST_SESSION + day * 86400 + i * 60, symbol = symbol,
                                open = open, high = hi, low = lo, close = p,
                                volume = 1000 + math.floor(r.uniform() * 5000) }
        end
    end
    return bars
end

-- Unix seconds from an integer or an ISO-8601 UTC timestamp ("2024-03-04T14:30:00Z").
local function parse_time(v)
    local n = tonumber(v)
    if n then
        return n
    end
    local y, mo, d, h, mi, sec = v:match("^(%d+)-(%d+)-(%d+)[T ](%d+):(%d+):?(%d*)")
    if not y then
        return nil
    end
    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    -- days from the civil date (proleptic Gregorian), independent of the local time zone
    if mo <= 2 then
        y = y - 1
    end
    local era = y // 400
    local yoe = y - era * 400
    local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    local days = era * 146097 + doe - 719468
    return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + (tonumber(sec) or 0)
end
D.parse_time = parse_time

function D.read_csv(path)
    local f = io.open(path, "r")
    if not f then
        return nil
    end
    local header = f:read("l")
    local cols = {}
    local i = 0
    for name in header:gmatch("[^,]+") do
        i = i + 1
        cols[i] = name:lower():gsub("%s", "")
    end
    local by_symbol = {}
    for line in f:lines() do
        local row = {}
        local j = 0
        for v in (line .. ","):gmatch("([^,]*),") do
            j = j + 1
            row[cols[j] or j] = v
        end
        local sym = row.symbol
        if sym and row.close then
            by_symbol[sym] = by_symbol[sym] or {}
            local list = by_symbol[sym]
            list[#list + 1] = { time = parse_time(row.timestamp), symbol = sym,
                                open = tonumber(row.open), high = tonumber(row.high),
                                low = tonumber(row.low), close = tonumber(row.close),
                                volume = tonumber(row.volume) }
        end
    end
    f:close()
    return by_symbol
end

-- Loads a module file the way the host's sandbox does (require reaches apex.* only) and
-- returns the callback table plus a ctx factory.
function D.load_module(root, path, params)
    local logs = {}
    local env = setmetatable({}, { __index = _G })
    env.require = function(name)
        assert(name:match("^apex%.[%w_]+$"), "sandbox require: " .. name)
        return require(name)
    end
    env.apex = { ta = require("apex.ta"), version = "test",
                 log = function(fmt, ...) logs[#logs + 1] = string.format(fmt, ...) end }
    local chunk, err = loadfile(root .. "/" .. path, "t", env)
    assert(chunk, err)
    local mod = chunk()
    if mod.params ~= nil then
        -- as the host does at load: declared defaults, the given params checked over them
        params = require("apex.params").declared(mod.params, params, path:match("[^/]*$"))
    end
    local function new_ctx(symbol, now)
        return { symbol = symbol, params = params, state = {}, now = now or 0, position = nil,
                 log = function(fmt, ...) logs[#logs + 1] = string.format(fmt, ...) end }
    end
    return mod, new_ctx, logs
end

-- Runs bias + strategy over bars the way the pipeline does, with a crude exit model
-- (stop / target intrabar, the strategy's edge going negative, or the session's last
-- bar). Returns the list of trades { side, entry, exit, why, opened, closed }.
function D.simulate(root, bars, strategy_file, strategy_params, bias_file, bias_params)
    local strat, new_ctx = D.load_module(root, strategy_file, strategy_params)
    local bias, new_bias_ctx
    if bias_file then
        bias, new_bias_ctx = D.load_module(root, bias_file, bias_params)
    end
    local sym = bars[1].symbol
    local ctx = new_ctx(sym)
    local bctx = bias and new_bias_ctx(sym)
    if strat.on_start then strat.on_start(ctx) end
    if bias and bias.on_start then bias.on_start(bctx) end
    local trades, pos = {}, nil
    for i, bar in ipairs(bars) do
        ctx.now = bar.time
        if bias then
            bctx.now = bar.time
            bias.on_bar(bctx, bar)
        end
        if pos then
            local last_of_day = bars[i + 1] == nil or bars[i + 1].time - bar.time > 3600
            local why, px
            if pos.side == "long" and bar.low <= pos.stop then
                why, px = "stop_loss", pos.stop
            elseif pos.side == "short" and bar.high >= pos.stop then
                why, px = "stop_loss", pos.stop
            elseif pos.side == "long" and bar.high >= pos.target then
                why, px = "profit_target", pos.target
            elseif pos.side == "short" and bar.low <= pos.target then
                why, px = "profit_target", pos.target
            end
            ctx.position = { symbol = sym, side = pos.side, entry_price = pos.entry,
                             current_price = bar.close, stop_loss = pos.stop,
                             take_profit = pos.target, qty = 1, opened_at = pos.opened,
                             unrealized_pnl_pct = (bar.close / pos.entry - 1)
                                                  * (pos.side == "long" and 1 or -1) }
            strat.on_bar(ctx, bar)
            if not why and strat.edge and strat.edge(ctx, ctx.position) < (D.early_exit_edge or 0) then
                why, px = "edge_disappeared", bar.close
            end
            if not why and last_of_day then
                why, px = "time_based_urgent", bar.close
            end
            if why then
                pos.exit, pos.why, pos.closed = px, why, bar.time
                trades[#trades + 1] = pos
                pos = nil
                ctx.position = nil
            end
        else
            local sig = strat.on_bar(ctx, bar)
            if sig then
                local allowed = true
                if bias then
                    local b = bias.bias(bctx)
                    local dir = type(b) == "table" and b.direction or b
                    allowed = dir == "neutral" or (dir == "long" and sig.side == "buy")
                              or (dir == "short" and sig.side == "sell")
                end
                if allowed then
                    pos = { side = sig.side == "buy" and "long" or "short", entry = bar.close,
                            stop = sig.stop_loss, target = sig.take_profit, opened = bar.time,
                            reason = sig.reason }
                end
            end
        end
    end
    return trades
end

return D
