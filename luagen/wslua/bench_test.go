package wslua

import (
	"testing"
)

const benchScript = `
local p = Proto("bench", "Bench Protocol")
local f_type = ProtoField.uint8("bench.type", "Type", base.DEC, { [1] = "One", [2] = "Two" })
local f_flags = ProtoField.uint8("bench.flags", "Flags", base.HEX)
local f_urg = ProtoField.bool("bench.flags.urgent", "Urgent", 8, nil, 0x80)
local f_len = ProtoField.uint16("bench.len", "Length", base.DEC)
local f_id = ProtoField.uint32("bench.id", "Id", base.DEC)
local f_val = ProtoField.bytes("bench.value", "Value")
p.fields = { f_type, f_flags, f_urg, f_len, f_id, f_val }
function p.dissector(tvb, pinfo, tree)
  local n = tvb:len()
  local off = 0
  pinfo.cols.protocol = "BENCH"
  while off + 4 <= n do
    local vlen = tvb(off + 2, 2):uint()
    if off + 4 + vlen > n then
      pinfo.desegment_offset = off
      pinfo.desegment_len = off + 4 + vlen - n
      return n
    end
    local t = tree:add(p, tvb(off, 4 + vlen))
    t:add(f_type, tvb(off, 1))
    t:add(f_flags, tvb(off + 1, 1)):add(f_urg, tvb(off + 1, 1))
    t:add(f_len, tvb(off + 2, 2))
    t:add(f_id, tvb(off + 4, 4))
    t:add(f_val, tvb(off + 8, vlen - 4))
    off = off + 4 + vlen
  end
  return off
end
DissectorTable.get("tcp.port"):add(7777, p)
`

// BenchmarkDissect measures 20-byte PDUs, one per segment, through the
// TCP driver with a field-adding dissector.
//
//	go test ./luagen/wslua -run '^$' -bench Dissect -benchmem
func BenchmarkDissect(b *testing.B) {
	s := New(Options{Profile: Profile40})
	defer s.Close()
	if err := s.Load("bench.lua", []byte(benchScript)); err != nil {
		b.Fatal(err)
	}
	c := s.NewConn()
	pdu := hexb("01800010 00000001 0102030405060708090a0b0c") // 20 bytes
	fi := frameInfo(1, ToServer)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fi.Number = i + 1
		fr := c.Segment(ToServer, pdu, fi)
		if len(fr.Calls) != 1 || fr.Calls[0].Err != nil {
			b.Fatalf("bad result: %+v", fr.Calls)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "PDUs/s")
}

// BenchmarkDissectBatch feeds segments of 10 such PDUs each.
func BenchmarkDissectBatch(b *testing.B) {
	s := New(Options{Profile: Profile40})
	defer s.Close()
	if err := s.Load("bench.lua", []byte(benchScript)); err != nil {
		b.Fatal(err)
	}
	c := s.NewConn()
	pdu := hexb("01800010 00000001 0102030405060708090a0b0c")
	var segData []byte
	for i := 0; i < 10; i++ {
		segData = append(segData, pdu...)
	}
	fi := frameInfo(1, ToServer)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fi.Number = i + 1
		c.Segment(ToServer, segData, fi)
	}
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "PDUs/s")
}
