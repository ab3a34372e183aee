-- Label-rendering probe for the fidelity test: one PDU of 16 bytes with
-- many field types, display bases, masks and explicit values.
local p = Proto("lbl", "Label Probe")

local f = {
  u8      = ProtoField.uint8("lbl.u8", "U8", base.DEC),
  hexm    = ProtoField.uint8("lbl.hexm", "HexMasked", base.HEX, { [1] = "One", [2] = "Two" }, 0xF0),
  unk     = ProtoField.uint8("lbl.unk", "Unknown VS", base.DEC, { [9] = "Nine" }),
  hex16   = ProtoField.uint16("lbl.hex16", "Hex16", base.HEX),
  dechex  = ProtoField.uint16("lbl.dechex", "DecHex", base.DEC_HEX, nil, 0x0ff0),
  hexdec  = ProtoField.uint24("lbl.hexdec", "HexDec", base.HEX_DEC),
  oct     = ProtoField.uint8("lbl.oct", "Oct", base.OCT),
  u32     = ProtoField.uint32("lbl.u32", "U32", base.DEC),
  i16     = ProtoField.int16("lbl.i16", "I16", base.DEC),
  i8m     = ProtoField.int8("lbl.i8m", "I8 masked", base.DEC, nil, 0x0e),
  u64     = ProtoField.uint64("lbl.u64", "U64", base.HEX),
  b       = ProtoField.bool("lbl.b", "Flag", 8, { "Set", "Not set" }, 0x08),
  bmulti  = ProtoField.bool("lbl.bmulti", "Multi", 8, nil, 0xFE),
  b16     = ProtoField.bool("lbl.b16", "Flag16", 16, nil, 0x0100),
  b2      = ProtoField.bool("lbl.b2", "Flag2"),
  s       = ProtoField.string("lbl.s", "Str"),
  sz      = ProtoField.stringz("lbl.sz", "StrZ"),
  by      = ProtoField.bytes("lbl.by", "Bytes"),
  bysep   = ProtoField.bytes("lbl.bysep", "BytesColon", base.COLON),
  ip      = ProtoField.ipv4("lbl.ip", "IP"),
}
p.fields = f

function p.dissector(tvb, pinfo, tree)
  local t = tree:add(p, tvb(), "Label Probe PDU")
  t:add(f.u8, tvb(0, 1))
  t:add(f.hexm, tvb(1, 1))
  t:add(f.unk, tvb(0, 1))
  t:add(f.hex16, tvb(1, 2))
  t:add(f.dechex, tvb(1, 2))
  t:add(f.hexdec, tvb(1, 3))
  t:add(f.oct, tvb(2, 1))
  t:add(f.u32, tvb(0, 4))
  t:add(f.i16, tvb(2, 2))
  t:add(f.i8m, tvb(1, 1))
  t:add(f.u64, tvb(0, 8))
  t:add(f.b, tvb(1, 1))
  t:add(f.bmulti, tvb(1, 1))
  t:add(f.b16, tvb(1, 2))
  t:add(f.b2, tvb(1, 1))
  t:add(f.b2, tvb(1, 1), false)
  t:add(f.b, tvb(1, 1), true)
  t:add(f.b, tvb(1, 1), 0x08)
  t:add(f.s, tvb(2, 3))
  t:add(f.s, tvb(8, 4))
  t:add(f.s, tvb(2, 0))
  t:add(f.sz, tvb(8, 6))
  t:add(f.by, tvb(2, 3))
  t:add(f.by, tvb(2, 0))
  t:add(f.bysep, tvb(2, 3))
  t:add(f.ip, tvb(8, 4))
  t:add(f.u8, tvb(0, 1), 300)
  t:add(f.hexm, tvb(1, 1), 0x25, "explicit", "more")
  t:add(f.s, tvb(8, 2), "given")
  t:add_le(f.hex16, tvb(1, 2))
  t:add_le(f.i16, tvb(2, 2))
  t:add(tvb(0, 2), "just text")
  local sub = t:add(f.u8, tvb(0, 1))
  sub:append_text(" (appended)")
  sub:add(f.u8, tvb(1, 1)):set_generated()
  t:add(f.u8, tvb(3, 1)):set_text("replaced")
  t:append_text(" [end]")
end
DissectorTable.get("tcp.port"):add(7777, p)
