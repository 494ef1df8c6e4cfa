# types/apex.lua matches what the host exposes (issue 13): the ctx fields a strategy sees,
# apex.ta's functions, the callback names the host calls and a signal's fields, each read
# from the running host (a probe strategy's ctx and apex.ta, and the host's own lists in its
# refusals), against what types/apex.lua declares. A field added on either side alone fails.
source "$(dirname "$0")/lib.sh"
TYPES="$APEX_SOURCE_DIR/types/apex.lua"
"$APEX_DATAGEN" "$WORK/data" > /dev/null

# --- what types/apex.lua declares ---
# fields CLASS: the ---@field names of ---@class CLASS, one per line, sorted.
fields() {
  awk -v cls="$1" '
    /^---@class / { inside = ($2 == cls || $2 ~ "^" cls ":") ; next }
    inside && /^---@field / { n = $2; sub(/\?$/, "", n); print n; next }
    inside && !/^---/ { inside = 0 }' "$TYPES" | sort -u
}
declared_ctx=$( (fields apex.Ctx; sed -n 's/^function Ctx\.\([a-z_]*\)(.*/\1/p' "$TYPES") | sort -u | tr '\n' ' ')
declared_ta=$(sed -n 's/^function ta\.\([a-z_]*\)(.*/\1/p' "$TYPES" | sort -u | tr '\n' ' ')
declared_callbacks=$( (fields apex.Strategy; fields apex.Bias) | grep -vx params | sort -u | tr '\n' ' ')
declared_signal=$(fields apex.Signal | tr '\n' ' ')

# --- what the host exposes ---
cat > "$WORK/probe.lua" << 'LUA'
local ta = require("apex.ta")
local M = {}
function M.on_bar(ctx, bar)
    local keys = {}
    for k in pairs(ctx) do keys[#keys + 1] = k end
    table.sort(keys)
    ctx.log("CTX %s", table.concat(keys, " "))
    if not ctx.state.logged_ta then
        local names = {}
        for k in pairs(ta) do names[#names + 1] = k end
        table.sort(names)
        ctx.log("TA %s", table.concat(names, " "))
        ctx.state.logged_ta = true
    end
    if not ctx.position and not ctx.state.entered then
        ctx.state.entered = true -- one entry, so a later ctx holds a position
        return { side = "buy", stop_loss = bar.close * 0.5, take_profit = bar.close * 2 }
    end
end
return M
LUA
cat > "$WORK/probe.pipeline.lua" << LUA
return apex.pipeline {
    name = "probe", symbols = { "AAPL" }, history = 5,
    data = { files = { "$WORK/data/bars.csv" } },
    strategy = "probe.lua",
}
LUA
"$APEX_HOST" backtest --db "$WORK/p.db" "$WORK/probe.pipeline.lua" > "$WORK/p.out" 2>&1 || true
host_ctx=$(sed -n 's/.*\] CTX //p' "$WORK/p.out" | tr ' ' '\n' | sort -u | tr '\n' ' ')
host_ta=$(sed -n '/\] TA /{s/.*\] TA //;p;q}' "$WORK/p.out" | tr ' ' '\n' | sort -u | tr '\n' ' ')
[ -n "$host_ctx" ] || fail "the probe logged no ctx: $(tail -5 "$WORK/p.out")"
# The host's callback list, from its refusal of a function that is not a callback.
printf 'return { on_bar = function() end, on_bra = function() end }\n' > "$WORK/typo.lua"
sed 's/"probe.lua"/"typo.lua"/' "$WORK/probe.pipeline.lua" > "$WORK/typo.pipeline.lua"
out=$("$APEX_HOST" check "$WORK/typo.pipeline.lua" 2>&1 || true)
host_callbacks=$(sed -n 's/.*(callbacks: \([^;]*\);.*/\1/p' <<<"$out" | tr -d ',' | tr ' ' '\n' | sort -u | tr '\n' ' ')
# A signal's fields, from the host's refusal of an unknown one.
printf 'return { on_bar = function() return { side = "buy", colour = 1 } end }\n' > "$WORK/sig.lua"
sed 's/"probe.lua"/"sig.lua"/' "$WORK/probe.pipeline.lua" > "$WORK/sig.pipeline.lua"
"$APEX_HOST" backtest --db "$WORK/s.db" "$WORK/sig.pipeline.lua" > "$WORK/s.out" 2>&1 || true
host_signal=$(sed -n '/unknown field "colour"/{s/.*unknown field "colour"[^;]*; use \([^(]*\) (.*/\1/;p;q}' "$WORK/s.out" | tr -d ',' | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')

assert_eq "$declared_ctx" "$host_ctx" "types/apex.lua's apex.Ctx is the ctx the host passes"
assert_eq "$declared_ta" "$host_ta" "its apex.ta functions are the host's"
assert_eq "$declared_callbacks" "$host_callbacks" "its apex.Strategy and apex.Bias callbacks are the ones the host calls"
assert_eq "$declared_signal" "$host_signal" "its apex.Signal fields are the ones the host accepts"
finish
