-- mcbin.lua: a small hand-written Wireshark dissector for the memcached
-- binary protocol (TCP port 11211), used to test `mqttdissect validate
-- --golden` on a protocol other than MQTT.
--
-- Every packet is a 24-byte header followed by a body of "total body
-- length" bytes: extras, then the key, then the value.
--
--   0  magic (0x80 request, 0x81 response)    1  opcode
--   2  key length (2)                          4  extras length
--   5  data type                               6  vbucket id / status (2)
--   8  total body length (4)                  12  opaque (4)
--  16  CAS (8)
--
-- It needs Wireshark 1.12 or later (ProtoExpert) and reassembles packets
-- split across TCP segments with pinfo.desegment_offset/desegment_len.

local mc = Proto("mcbin", "Memcached Binary (Lua sample)")

local MAGIC = { [0x80] = "Request", [0x81] = "Response" }
local OPCODES = {
    [0x00] = "Get", [0x01] = "Set", [0x02] = "Add", [0x03] = "Replace",
    [0x04] = "Delete", [0x05] = "Increment", [0x06] = "Decrement", [0x07] = "Quit",
    [0x08] = "Flush", [0x09] = "GetQ", [0x0a] = "No-op", [0x0b] = "Version",
    [0x0c] = "GetK", [0x0d] = "GetKQ", [0x0e] = "Append", [0x0f] = "Prepend",
}
local STATUS = {
    [0x0000] = "No error", [0x0001] = "Key not found", [0x0002] = "Key exists",
    [0x0003] = "Value too large", [0x0004] = "Invalid arguments", [0x0005] = "Item not stored",
    [0x0081] = "Unknown command", [0x0082] = "Out of memory",
}

local f = {
    magic    = ProtoField.uint8("mcbin.magic", "Magic", base.HEX, MAGIC),
    opcode   = ProtoField.uint8("mcbin.opcode", "Opcode", base.HEX, OPCODES),
    key_len  = ProtoField.uint16("mcbin.key_length", "Key Length", base.DEC),
    ext_len  = ProtoField.uint8("mcbin.extras_length", "Extras Length", base.DEC),
    dtype    = ProtoField.uint8("mcbin.data_type", "Data Type", base.HEX),
    vbucket  = ProtoField.uint16("mcbin.vbucket", "VBucket", base.DEC),
    status   = ProtoField.uint16("mcbin.status", "Status", base.HEX, STATUS),
    body_len = ProtoField.uint32("mcbin.total_body_length", "Total Body Length", base.DEC),
    opaque   = ProtoField.uint32("mcbin.opaque", "Opaque", base.HEX),
    cas      = ProtoField.uint64("mcbin.cas", "CAS", base.HEX),
    extras   = ProtoField.bytes("mcbin.extras", "Extras"),
    flags    = ProtoField.uint32("mcbin.extras.flags", "Flags", base.HEX),
    expiry   = ProtoField.uint32("mcbin.extras.expiration", "Expiration", base.DEC),
    key      = ProtoField.string("mcbin.key", "Key"),
    value    = ProtoField.bytes("mcbin.value", "Value"),
}
mc.fields = {
    f.magic, f.opcode, f.key_len, f.ext_len, f.dtype, f.vbucket, f.status, f.body_len,
    f.opaque, f.cas, f.extras, f.flags, f.expiry, f.key, f.value,
}

local e_opcode = ProtoExpert.new("mcbin.unknown_opcode", "Unknown opcode", expert.group.UNDECODED, expert.severity.WARN)
local e_lengths = ProtoExpert.new("mcbin.bad_lengths", "Extras and key are longer than the body",
    expert.group.MALFORMED, expert.severity.ERROR)
local e_magic = ProtoExpert.new("mcbin.bad_magic", "Not a memcached binary packet: the rest of the segment is not read",
    expert.group.MALFORMED, expert.severity.ERROR)
mc.experts = { e_opcode, e_lengths, e_magic }

local HEADER = 24

-- dissect_one reads the packet of size bytes at off.
local function dissect_one(tvb, pinfo, tree, off, size)
    local magic = tvb(off, 1):uint()
    local opcode = tvb(off + 1, 1):uint()
    local key_len = tvb(off + 2, 2):uint()
    local ext_len = tvb(off + 4, 1):uint()
    local body_len = tvb(off + 8, 4):uint()

    local t = tree:add(mc, tvb(off, size))
    t:add(f.magic, tvb(off, 1))
    local op = t:add(f.opcode, tvb(off + 1, 1))
    t:add(f.key_len, tvb(off + 2, 2))
    t:add(f.ext_len, tvb(off + 4, 1))
    t:add(f.dtype, tvb(off + 5, 1))
    if magic == 0x80 then
        t:add(f.vbucket, tvb(off + 6, 2))
    else
        t:add(f.status, tvb(off + 6, 2))
    end
    t:add(f.body_len, tvb(off + 8, 4))
    t:add(f.opaque, tvb(off + 12, 4))
    t:add(f.cas, tvb(off + 16, 8))

    local name = OPCODES[opcode]
    if name == nil then
        name = string.format("Opcode 0x%02x", opcode)
        op:add_proto_expert_info(e_opcode)
    end
    local summary = name .. " " .. MAGIC[magic]
    t:append_text(", " .. summary)

    local pos = off + HEADER
    if ext_len + key_len > body_len then
        t:add_proto_expert_info(e_lengths)
    else
        if ext_len > 0 then
            local ex = t:add(f.extras, tvb(pos, ext_len))
            if ext_len >= 4 then
                ex:add(f.flags, tvb(pos, 4))
            end
            if ext_len >= 8 then
                ex:add(f.expiry, tvb(pos + 4, 4))
            end
            pos = pos + ext_len
        end
        if key_len > 0 then
            local key = tvb(pos, key_len):string()
            t:add(f.key, tvb(pos, key_len))
            summary = summary .. " key=" .. key
            pos = pos + key_len
        end
        local value_len = off + size - pos
        if value_len > 0 then
            t:add(f.value, tvb(pos, value_len))
        end
    end

    pinfo.cols.protocol = "MCBIN"
    local info = tostring(pinfo.cols.info)
    if info == "" then
        pinfo.cols.info:set(summary)
    else
        pinfo.cols.info:append(", " .. summary)
    end
end

function mc.dissector(tvb, pinfo, tree)
    local total = tvb:len()
    local off = 0
    pinfo.cols.info:set("")
    while off < total do
        if MAGIC[tvb(off, 1):uint()] == nil then
            if off == 0 then
                return 0 -- not memcached
            end
            local bad = tree:add(mc, tvb(off, total - off))
            bad:append_text(", garbage")
            bad:add_proto_expert_info(e_magic)
            return total
        end
        if total - off < HEADER then
            pinfo.desegment_offset = off
            pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            return total
        end
        local size = HEADER + tvb(off + 8, 4):uint()
        if total - off < size then
            pinfo.desegment_offset = off
            pinfo.desegment_len = size - (total - off)
            return total
        end
        dissect_one(tvb, pinfo, tree, off, size)
        off = off + size
    end
    return total
end

DissectorTable.get("tcp.port"):add(11211, mc)
