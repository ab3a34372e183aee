-- Toy TLV protocol, a test dissector for the wslua emulator.
--
-- Wire format, repeated over a TCP stream on port 7777:
--   type   (1 byte)  1 = Hello, 2 = Data, 3 = Bye
--   flags  (1 byte)  bit 7 = urgent, bits 0-3 = priority
--   length (2 bytes, big-endian): number of value bytes
--   value  (length bytes): text for Hello/Bye, raw bytes for Data
--
-- Uses only the portable API subset (runs on Wireshark 1.10 to 4.4):
-- old-style reassembly with pinfo.desegment_offset/desegment_len, no goto,
-- no bit operators.

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

toy.prefs.port = Pref.uint("TCP port", 7777, "TCP port of the toy protocol")

local HDR = 4
local count = 0 -- PDUs seen in this capture: state kept across calls

function toy.init()
  count = 0
end

local function dissect_pdu(tvb, pinfo, tree, offset, vlen)
  count = count + 1
  local ty = tvb(offset, 1):uint()
  local name = types[ty] or "Unknown"
  local t = tree:add(toy, tvb(offset, HDR + vlen))
  t:add(f_type, tvb(offset, 1))
  local fl = t:add(f_flags, tvb(offset + 1, 1))
  fl:add(f_urgent, tvb(offset + 1, 1))
  fl:add(f_prio, tvb(offset + 1, 1))
  t:add(f_len, tvb(offset + 2, 2))
  if vlen > 0 then
    if ty == 2 then
      t:add(f_value, tvb(offset + HDR, vlen))
    else
      t:add(f_text, tvb(offset + HDR, vlen))
    end
  end
  local idx = t:add(f_index, tvb(offset, 1), count)
  idx:set_generated()
  if types[ty] == nil then
    t:add_expert_info(PI_MALFORMED, PI_ERROR, "Unknown type " .. ty)
  end
  t:append_text(", " .. name)
  pinfo.cols.info:append(name .. " ")
end

function toy.dissector(tvb, pinfo, tree)
  local n = tvb:len()
  local offset = 0
  pinfo.cols.protocol = "TOYTLV"
  pinfo.cols.info:set("")
  while offset < n do
    if n - offset < HDR then
      -- not even the header: ask for one more segment
      pinfo.desegment_offset = offset
      pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
      return n
    end
    local vlen = tvb(offset + 2, 2):uint()
    if n - offset < HDR + vlen then
      pinfo.desegment_offset = offset
      pinfo.desegment_len = HDR + vlen - (n - offset)
      return n
    end
    dissect_pdu(tvb, pinfo, tree, offset, vlen)
    offset = offset + HDR + vlen
  end
  return offset
end

DissectorTable.get("tcp.port"):add(toy.prefs.port, toy)
