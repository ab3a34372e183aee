-- Toy TLV protocol (see toytlv.lua) dissected with dissect_tcp_pdus, the
-- reassembly helper Wireshark's Lua API has had since 2.0.

local toy = Proto("toytlv", "Toy TLV Protocol")

local types = { [1] = "Hello", [2] = "Data", [3] = "Bye" }

local f_type   = ProtoField.uint8("toytlv.type", "Type", base.DEC, types)
local f_flags  = ProtoField.uint8("toytlv.flags", "Flags", base.HEX)
local f_urgent = ProtoField.bool("toytlv.flags.urgent", "Urgent", 8, { "Yes", "No" }, 0x80)
local f_prio   = ProtoField.uint8("toytlv.flags.prio", "Priority", base.DEC, nil, 0x0F)
local f_len    = ProtoField.uint16("toytlv.len", "Length", base.DEC)
local f_text   = ProtoField.string("toytlv.text", "Text")
local f_value  = ProtoField.bytes("toytlv.value", "Value")
local f_index  = ProtoField.uint32("toytlv.index", "PDU index", base.DEC)

toy.fields = { f_type, f_flags, f_urgent, f_prio, f_len, f_text, f_value, f_index }

local HDR = 4
local count = 0

function toy.init()
  count = 0
end

local function pdu_len(tvb, pinfo, offset)
  return HDR + tvb(offset + 2, 2):uint()
end

local function dissect_pdu(tvb, pinfo, tree)
  count = count + 1
  local vlen = tvb:len() - HDR
  local ty = tvb(0, 1):uint()
  local name = types[ty] or "Unknown"
  local t = tree:add(toy, tvb())
  t:add(f_type, tvb(0, 1))
  local fl = t:add(f_flags, tvb(1, 1))
  fl:add(f_urgent, tvb(1, 1))
  fl:add(f_prio, tvb(1, 1))
  t:add(f_len, tvb(2, 2))
  if vlen > 0 then
    if ty == 2 then
      t:add(f_value, tvb(HDR, vlen))
    else
      t:add(f_text, tvb(HDR, vlen))
    end
  end
  t:add(f_index, tvb(0, 1), count):set_generated()
  if types[ty] == nil then
    t:add_expert_info(PI_MALFORMED, PI_ERROR, "Unknown type " .. ty)
  end
  t:append_text(", " .. name)
  pinfo.cols.info:append(name .. " ")
  return tvb:len()
end

function toy.dissector(tvb, pinfo, tree)
  pinfo.cols.protocol = "TOYTLV"
  pinfo.cols.info:set("")
  dissect_tcp_pdus(tvb, tree, HDR, pdu_len, dissect_pdu)
  return tvb:len()
end

DissectorTable.get("tcp.port"):add(7777, toy)
