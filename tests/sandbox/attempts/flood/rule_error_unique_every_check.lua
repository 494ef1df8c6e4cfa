-- attempt: an instruction rule failing with a new 1 KB message at every monitoring check (one rule_error event each)
-- role: rule
-- expect: survives; rule=fired; at=@; events<=40; control=unaffected
local n = 0

return {
    name = "noisy rule",
    check = function(m, position)
        n = n + 1
        error(string.format("rule failure %d at %d %s", n, m.now(), string.rep("=", 1000))) -- @here
    end,
}
