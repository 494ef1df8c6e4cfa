-- apex.params: strategy parameters with defaults, checked once at start.
--
-- A strategy declares its parameters beside its callbacks, and the host fills ctx.params
-- from the declared defaults merged with the pipeline's params (and --param) when it
-- loads the module, before any bar (M.declared below):
--
--   M.params = {
--       fast = { type = "integer", default = 10, min = 1, max = 100000, doc = "..." },
--       kind = { type = "string", default = "sma", one_of = { "sma", "ema" } },
--       only = { type = "list", of = "string", default = {} },   -- min/max/one_of: each element
--   }
--
-- Older strategies call resolve themselves, which still works:
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

local TYPES = { integer = true, number = true, string = true, boolean = true, list = true }
local ELEMENT_TYPES = { integer = true, number = true, string = true, boolean = true }
local SPEC_KEYS = { type = true, default = true, min = true, max = true, one_of = true,
                    doc = true, of = true }

local function fits(kind, v)
    if kind == "integer" then
        return math.type(v) == "integer" or (type(v) == "number" and v == math.floor(v)
                                             and v == v and v ~= math.huge and v ~= -math.huge)
    elseif kind == "number" then
        return type(v) == "number" and v == v
    elseif kind == "list" then
        return type(v) == "table"
    end
    return type(v) == kind
end

local refuse

-- The reason the table v cannot be the list parameter name, or nil: a sequence whose
-- every element fits the declaration's `of` (and min, max, one_of).
local function refuse_list(name, spec, v)
    local n = #v
    for k in pairs(v) do
        if math.type(k) ~= "integer" or k < 1 or k > n then
            return string.format("params.%s: expected a list of %ss, got a table with the key %s",
                                 name, spec.of, tostring(k))
        end
    end
    local element = { type = spec.of, min = spec.min, max = spec.max, one_of = spec.one_of }
    for i = 1, n do
        local why = refuse(string.format("%s[%d]", name, i), element, v[i])
        if why then
            return string.format("%s (a list of %ss: { ... } in the pipeline file, "
                                 .. "[a,b,c] with --param)", why, spec.of)
        end
    end
    return nil
end

-- The reason v cannot be parameter name, or nil.
refuse = function(name, spec, v)
    if not fits(spec.type, v) then
        return string.format("params.%s: expected %s %s, got %s %s", name,
                             spec.type == "integer" and "an" or "a", spec.type, type(v),
                             tostring(v))
    end
    if type(v) == "number" and ((spec.min ~= nil and v < spec.min)
                                or (spec.max ~= nil and v > spec.max)) then
        return string.format("params.%s: must be from %s to %s, got %s", name,
                             tostring(spec.min or "-inf"), tostring(spec.max or "inf"),
                             tostring(v))
    end
    if spec.type == "list" then
        return refuse_list(name, spec, v)
    end
    if spec.one_of ~= nil then
        for _, ok in ipairs(spec.one_of) do
            if v == ok then
                return nil
            end
        end
        local names = {}
        for i, ok in ipairs(spec.one_of) do
            names[i] = string.format("%q", ok)
        end
        return string.format("params.%s: must be one of %s, got %q", name,
                             table.concat(names, ", "), tostring(v))
    end
    return nil
end

--- Checks a module's params declaration; errors name the declaration and what to fix.
function M.check_declaration(decl, who)
    if type(decl) ~= "table" then
        error(string.format("%s: params must be a table of declarations, got %s", who,
                            type(decl)), 0)
    end
    for name, spec in pairs(decl) do
        local at = string.format("%s: params.%s", who, tostring(name))
        if type(name) ~= "string" then
            error(at .. ": parameter names must be strings", 0)
        end
        if type(spec) ~= "table" then
            error(string.format("%s: declare it as { type = \"number\", default = ... }, not a %s",
                                at, type(spec)), 0)
        end
        for k in pairs(spec) do
            if not SPEC_KEYS[k] then
                local hint = type(k) == "string" and closest(k, SPEC_KEYS)
                error(string.format("%s: unknown key '%s'%s; a declaration has type, default, "
                                    .. "min, max, one_of and doc", at, tostring(k),
                                    hint and (" (did you mean '" .. hint .. "'?)") or ""), 0)
            end
        end
        if spec.type == nil and spec.default ~= nil then
            -- The likely mistake is leaving it out: say which type the default has.
            local d = spec.default
            local want = math.type(d) == "integer" and "integer" or type(d) == "number" and "number"
                or type(d) == "table" and "list" or type(d)
            error(string.format("%s: the declaration has no type; add type = %q (the type of its "
                                .. "default, %s)", at, want, tostring(d)), 0)
        end
        if not TYPES[spec.type] then
            error(string.format("%s: type must be \"integer\", \"number\", \"string\", "
                                .. "\"boolean\" or \"list\", got %s", at, tostring(spec.type)), 0)
        end
        if spec.type == "list" and not ELEMENT_TYPES[spec.of] then
            error(string.format("%s: a list declares its elements' type: of = \"integer\", "
                                .. "\"number\", \"string\" or \"boolean\", got %s", at,
                                tostring(spec.of)), 0)
        end
        if spec.type ~= "list" and spec.of ~= nil then
            error(at .. ": of is for lists (type = \"list\")", 0)
        end
        if spec.default == nil then
            error(at .. ": give it a default (the value used when the pipeline sets none)", 0)
        end
        for _, k in ipairs({ "min", "max" }) do
            if spec[k] ~= nil and type(spec[k]) ~= "number" then
                error(string.format("%s: %s must be a number", at, k), 0)
            end
        end
        if spec.one_of ~= nil and type(spec.one_of) ~= "table" then
            error(at .. ": one_of must be a list of the allowed values", 0)
        end
        local why = refuse(name, spec, spec.default)
        if why then
            error(string.format("%s: the default does not fit its own declaration: %s", who,
                                why), 0)
        end
    end
end

--- ctx.params for a module that declares its parameters: every declared default, then
--- given (the pipeline's params, may be nil) over them, each checked against its
--- declaration. An undeclared name is an error with the nearest declared one.
function M.declared(decl, given, who)
    M.check_declaration(decl, who)
    local out = {}
    for name, spec in pairs(decl) do
        out[name] = spec.type == "list" and table.move(spec.default, 1, #spec.default, 1, {})
            or spec.default
    end
    if given == nil then
        return out
    end
    for k, v in pairs(given) do
        local spec = decl[k]
        if spec == nil then
            local hint = type(k) == "string" and closest(k, decl)
            error(string.format("%s: params.%s: the strategy declares no such parameter; %s",
                                who, tostring(k), hint and ("did you mean '" .. hint .. "'?")
                                    or ("it declares: " .. known_list(decl))), 0)
        end
        if spec.type == "integer" and type(v) == "number" and fits("integer", v) then
            v = math.tointeger(v) or v
        end
        if spec.type == "list" then
            -- one value is a list of one, as a pipeline field's string list takes it
            local list = type(v) == "table" and v or { v }
            if spec.of == "integer" then
                list = table.move(list, 1, #list, 1, {})
                for i, x in ipairs(list) do
                    if fits("integer", x) then
                        list[i] = math.tointeger(x) or x
                    end
                end
            end
            v = list
        end
        local why = refuse(k, spec, v)
        if why then
            error(who .. ": " .. why, 0)
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
