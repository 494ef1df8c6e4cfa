-- attempt: an endless loop in the strategy file's body, while the pipeline loads
-- expect: survives; pipeline=refused; error~="script ran past its 250 ms deadline"; at=@; control=none
while true do end -- @here
return {}
