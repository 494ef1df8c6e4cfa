-- attempt: utf8 and string.pack with huge counts and sizes: utf8.len/offset/codepoint over 4 MB, a 1 MB format of padding, a 2 GB packed field
-- expect: survives; pipeline=failed; error~="memory|too large|invalid|out of|overflow|deadline"; control=unaffected
local M = {}
local calls = 0
local s

function M.on_bar(ctx, bar)
    calls = calls + 1
    if calls == 1 then
        s = string.rep("\u{10FFFF}", 1e6)
        return
    end
    if calls == 2 then
        utf8.len(s)
        utf8.offset(s, 1e6)
        utf8.codepoint(s, 1, 4e5)
        return
    end
    if calls == 3 then
        string.packsize(string.rep("i16", 1e5))
        string.pack(string.rep("x", 1e6))
        string.unpack(string.rep("x", 1e6), s)
        return
    end
    if calls == 4 then
        string.pack("c2147483647", "")
    end
end

return M
