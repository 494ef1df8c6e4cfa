-- attempt: an instruction rule file that is precompiled bytecode
-- role: rule
-- transform: bytecode
-- expect: survives; pipeline=refused; error~="precompiled Lua bytecode"; control=none
return { name = "bytecode", check = function(m, position) return false end }
