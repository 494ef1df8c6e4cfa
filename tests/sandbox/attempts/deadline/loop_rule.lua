-- attempt: an instruction rule whose check loops forever on its first three passes (after the sentence "close if GAUGE > 40")
-- role: rule
-- expect: survives; rule=fired; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
local calls = 0

return {
    name = "looping rule",
    check = function(m, position)
        calls = calls + 1
        if calls <= 3 then
            while true do end -- @here
        end
        return false
    end,
}
