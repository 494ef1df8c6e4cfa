-- attempt: an instruction rule that fails at every monitoring check with a new message each time (after the sentence "close if GAUGE > 40")
-- role: rule
-- expect: survives; rule=fired; error~="rule_error"; at=@; control=unaffected
local n = 0

return {
    name = "failing rule",
    check = function(m, position)
        n = n + 1
        error("rule failure number " .. n .. " at " .. m.now()) -- @here
    end,
}
