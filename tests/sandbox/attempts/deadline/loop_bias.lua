-- attempt: a bias module whose bias() loops forever when the strategy signals
-- role: bias
-- expect: survives; pipeline=failed; error~="script ran past its 250 ms deadline"; at=@; control=unaffected
return {
    bias = function(ctx)
        while true do end -- @here
    end,
}
