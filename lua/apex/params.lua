-- apex.params: strategy parameters with defaults, checked once at start.
--
--   local P = require("apex.params").resolve(ctx.params, DEFAULTS, "ma_cross")
--
-- Returns a new table holding every default overridden by the pipeline's params.
-- A misspelt or mistyped parameter is an error naming it ("ma_cross: params.fats:
-- unknown parameter; did you mean 'fast'?"), because a silently ignored typo means a
-- strategy trading with settings nobody chose.

local M = {}

local function distance(a, b)
    -- Levenshtein distance with two rows; names are short
    local prev, cur = {}, {}
    for j = 0, #b do
        prev[j] = j
    end
    for i = 1, #a do
        cur[0] = i
        for j = 1, #b do
            local cost = a:byte(i) == b:byte(j) and 0 or 1
            cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        end
        prev, cur = cur, prev
    end
    return prev[#b]
end

local function closest(name, defaults)
    local best, best_d = nil, math.huge
    for k in pairs(defaults) do
        local d = distance(name, k)
        if d < best_d or (d == best_d and k < best) then
            best, best_d = k, d
        end
    end
    if best and best_d <= math.max(2, #name // 3) then
        return best
    end
    return nil
end

local function known_list(defaults)
    local names = {}
    for k in pairs(defaults) do
        names[#names + 1] = k
    end
    table.sort(names)
    return table.concat(names, ", ")
end

--- Merges given (may be nil) over defaults. who names the module in errors.
function M.resolve(given, defaults, who)
    local out = {}
    for k, v in pairs(defaults) do
        out[k] = v
    end
    if given == nil then
        return out
    end
    if type(given) ~= "table" then
        error(string.format("%s: params must be a table, got %s", who, type(given)), 0)
    end
    for k, v in pairs(given) do
        local d = defaults[k]
        if d == nil then
            local hint = type(k) == "string" and closest(k, defaults)
            error(string.format("%s: params.%s: unknown parameter; %s", who, tostring(k),
                                hint and ("did you mean '" .. hint .. "'?")
                                    or ("known: " .. known_list(defaults))), 0)
        end
        if type(v) ~= type(d) then
            error(string.format("%s: params.%s: expected a %s (default %s), got %s %s", who, k,
                                type(d), tostring(d), type(v), tostring(v)), 0)
        end
        out[k] = v
    end
    return out
end

--- Checks that params[name] is a number within [lo, hi]; errors name the parameter.
function M.range(p, name, lo, hi, who)
    local v = p[name]
    if v ~= v or v < lo or v > hi then
        error(string.format("%s: params.%s must be between %s and %s, got %s", who, name,
                            tostring(lo), tostring(hi), tostring(v)), 0)
    end
end

--- Like range, for whole numbers (bar counts, periods).
function M.period(p, name, lo, hi, who)
    local v = p[name]
    if v ~= math.floor(v) or v < lo or v > hi then
        error(string.format("%s: params.%s must be a whole number from %d to %d, got %s", who,
                            name, lo, hi, tostring(v)), 0)
    end
end

return M
