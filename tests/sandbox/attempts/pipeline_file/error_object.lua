-- attempt: a pipeline file that raises a table whose __tostring loops forever
-- role: pipeline
-- expect: survives; pipeline=refused; error~="error object is a table value"; at=@; control=none
error(setmetatable({}, { __tostring = function() while true do end end })) -- @here
