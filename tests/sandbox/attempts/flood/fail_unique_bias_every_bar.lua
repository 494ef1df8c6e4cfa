-- attempt: a bias module whose on_bar fails on every bar with a new message
-- role: bias
-- expect: survives; pipeline=failed; at=@; failed<=10; control=unaffected
return {
    on_bar = function(ctx, bar)
        error("bias failure at " .. bar.time .. string.rep("%", 200)) -- @here
    end,
}
