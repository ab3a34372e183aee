-- textlabels.lua: a test dissector that shows text, so that the emulator's
-- label escaping (control characters, C1 controls, ill-formed UTF-8) can
-- be compared with real tshark's. A TCP segment (port 1883) is a series of
-- records, each a length byte and that many bytes of text, shown once with
-- the bytes as the item's value and once decoded from the packet.

local p = Proto("textlabels", "Text labels")
local f_value = ProtoField.string("textlabels.value", "Value")
local f_packet = ProtoField.string("textlabels.packet", "Packet")
p.fields = { f_value, f_packet }

function p.dissector(tvb, pinfo, tree)
    local t = tree:add(p, tvb())
    local n = tvb:len()
    local off = 0
    while off < n do
        local len = tvb(off, 1):uint()
        if off + 1 + len > n then
            break
        end
        local r = tvb(off + 1, len)
        t:add(f_value, r, "<" .. r:raw() .. ">")
        t:add(f_packet, r)
        off = off + 1 + len
    end
    return n
end

DissectorTable.get("tcp.port"):add(1883, p)
