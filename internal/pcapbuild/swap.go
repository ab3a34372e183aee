package pcapbuild

import (
	"encoding/binary"
	"errors"
	"slices"
)

// pcapgo writes little-endian files only. Big-endian captures (from SPARC,
// PowerPC or s390 hosts) are produced by rewriting the fixed-size header
// fields of the little-endian output in place; packet bytes are untouched.

func swap(b []byte) { slices.Reverse(b) }

// swapPcap converts a little-endian pcap file to big-endian in place.
func swapPcap(f []byte) {
	for _, r := range [][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 12}, {12, 16}, {16, 20}, {20, 24}} {
		swap(f[r[0]:r[1]])
	}
	for off := 24; off+16 <= len(f); {
		caplen := int(binary.LittleEndian.Uint32(f[off+8:]))
		for i := 0; i < 16; i += 4 {
			swap(f[off+i : off+i+4])
		}
		off += 16 + caplen
	}
}

// swapPcapng converts the little-endian pcapng written by pcapgo (section
// header, interface description, enhanced packet and interface statistics
// blocks) to big-endian in place.
func swapPcapng(f []byte) error {
	le := binary.LittleEndian
	for off := 0; off < len(f); {
		if off+12 > len(f) {
			return errors.New("pcapbuild: short pcapng block")
		}
		typ, n := le.Uint32(f[off:]), int(le.Uint32(f[off+4:]))
		if n < 12 || off+n > len(f) {
			return errors.New("pcapbuild: bad pcapng block length")
		}
		blk := f[off : off+n]
		var fixed [][2]int // fixed fields after the 8-byte block header
		optStart := 0
		switch typ {
		case 0x0A0D0D0A: // section header: BOM, major, minor, section length
			fixed, optStart = [][2]int{{8, 12}, {12, 14}, {14, 16}, {16, 24}}, 24
		case 1: // interface description: link type, reserved, snap length
			fixed, optStart = [][2]int{{8, 10}, {10, 12}, {12, 16}}, 16
		case 5: // interface statistics: interface id, timestamp
			fixed, optStart = [][2]int{{8, 12}, {12, 16}, {16, 20}}, 20
		case 6: // enhanced packet: iface, ts high, ts low, caplen, orig len
			fixed = [][2]int{{8, 12}, {12, 16}, {16, 20}, {20, 24}, {24, 28}}
			caplen := int(le.Uint32(blk[20:]))
			optStart = 28 + (caplen+3)&^3
		default:
			return errors.New("pcapbuild: unexpected pcapng block type")
		}
		for _, r := range fixed {
			swap(blk[r[0]:r[1]])
		}
		for o := optStart; o+4 <= n-4; {
			code, l := le.Uint16(blk[o:]), int(le.Uint16(blk[o+2:]))
			swap(blk[o : o+2])
			swap(blk[o+2 : o+4])
			if code == 0 {
				break
			}
			v := blk[o+4 : o+4+l]
			switch {
			case typ == 1 && code == 14, typ == 5 && (code == 4 || code == 5):
				swap(v) // 64-bit integers
			case typ == 5 && (code == 2 || code == 3):
				swap(v[0:4]) // timestamps: two 32-bit halves
				swap(v[4:8])
			case typ == 6 && code == 2:
				swap(v) // epb_flags
			}
			o += 4 + (l+3)&^3
		}
		swap(blk[0:4])
		swap(blk[4:8])
		swap(blk[n-4 : n])
		off += n
	}
	return nil
}
