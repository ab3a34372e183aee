package dissect

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"math"
)

// Two older capture formats Wireshark users still meet: Solaris snoop
// (RFC 1761) and NetXRay / Windows Sniffer (the .cap files Wireshark on
// Windows writes as "Sniffer (Windows) 2.00x"). Their framing follows
// Wireshark's reading of them (wiretap's snoop and netxray readers); the
// records are peeked out of the same buffer as pcap's, with the same
// guarantees: every length is checked before use, a damaged record ends
// the file with a *CaptureError carrying its byte offset, and frames before
// it have been returned.

// linkUnsupported stands for a link type of these formats the reader does
// not decode (Token Ring, FDDI, ATM, WAN pods, ...): such frames are
// counted in CaptureStats.Unsupported, as pcap's unknown link types are.
const linkUnsupported = 0xFFFFFFFF

// Capture file kinds.
const (
	kindPcap = iota
	kindPcapng
	kindSnoop
	kindNetXRay
)

// ---------------------------------------------------------------------------
// snoop: a 16-byte header ("snoop\0\0\0", version, datalink type), then
// records of a 24-byte header (original length, included length, record
// length, cumulative drops, seconds, microseconds), the data, and padding
// up to the record length. Everything is big-endian.

const (
	snoopHeaderLen = 16
	snoopRecordLen = 24
	// shomitiTrailerLen: Shomiti/Finisar Surveyor wrote snoop files with
	// its own link type numbers and a trailer of this size in the padding;
	// Wireshark tells them apart by the first record's padding.
	shomitiTrailerLen = 16
	// maxSnoopPadding bounds the padding after a record's data; writers
	// pad to 4 bytes or add a Shomiti trailer.
	maxSnoopPadding = 1 << 16
)

// snoopHeader reads the file header and picks the link type.
func (r *CaptureReader) snoopHeader() error {
	h, err := r.br.Peek(snoopHeaderLen)
	if err != nil {
		return r.ioErr(err)
	}
	if string(h[:8]) != "snoop\x00\x00\x00" {
		return r.corrupt("bad snoop magic %q", h[:8])
	}
	r.be = true
	version, network := r.u32(h[8:]), r.u32(h[12:])
	// 2: Solaris snoop; 3 to 5: Shomiti Surveyor with its own hardware.
	if version < 2 || version > 5 {
		return r.corrupt("unsupported snoop version %d", version)
	}
	// A first record with room for a Shomiti trailer in its padding
	// marks a Shomiti file, whose link types differ.
	shomiti := false
	if rec, err := r.br.Peek(snoopHeaderLen + snoopRecordLen); err == nil {
		incl, reclen := uint64(r.u32(rec[snoopHeaderLen+4:])), uint64(r.u32(rec[snoopHeaderLen+8:]))
		shomiti = reclen >= snoopRecordLen+incl+shomitiTrailerLen
	}
	r.link = snoopLink(network, shomiti)
	r.consume(snoopHeaderLen)
	return nil
}

// snoopLink maps a snoop datalink type to the link types decoded here.
func snoopLink(network uint32, shomiti bool) uint32 {
	if shomiti {
		switch network {
		case 0, 4, 10, 12, 19: // 802.3, Ethernet, Fast, Gigabit, 10 Gigabit Ethernet
			return linkEthernet
		}
		return linkUnsupported
	}
	switch network {
	case 0, 4: // DL_CSMACD (802.3), DL_ETHER
		return linkEthernet
	case 9, 14: // DL_OTHER and software loopback: Wireshark reads them as null/loopback
		return linkNull
	}
	return linkUnsupported
}

// nextSnoopRecord returns the link-layer bytes of the next snoop record.
func (r *CaptureReader) nextSnoopRecord() ([]byte, uint32, error) {
	h, err := r.br.Peek(snoopRecordLen)
	if err != nil {
		return nil, 0, r.atEnd(h, err)
	}
	orig, incl, reclen := r.u32(h), r.u32(h[4:]), r.u32(h[8:])
	switch {
	case orig > maxPcapRecord:
		return nil, 0, r.corrupt("original length %d exceeds the maximum of %d", orig, maxPcapRecord)
	case incl > maxPcapRecord:
		return nil, 0, r.corrupt("record length %d exceeds the maximum of %d", incl, maxPcapRecord)
	case uint64(reclen) < snoopRecordLen+uint64(incl):
		return nil, 0, r.corrupt("snoop record length %d is shorter than its header and %d bytes of data", reclen, incl)
	case uint64(reclen) > snoopRecordLen+uint64(incl)+maxSnoopPadding:
		return nil, 0, r.corrupt("snoop record length %d leaves %d bytes of padding after %d bytes of data", reclen, uint64(reclen)-snoopRecordLen-uint64(incl), incl)
	}
	rec, err := r.br.Peek(int(reclen))
	if err != nil {
		return nil, 0, r.ioErr(err)
	}
	r.tsSec, r.tsNsec, r.tsZero = int64(r.u32(h[16:])), int64(r.u32(h[20:]))*1000, false
	r.frame.WireLen = int(max(orig, incl))
	r.consume(int(reclen))
	return rec[snoopRecordLen : snoopRecordLen+int(incl)], r.link, nil
}

// ---------------------------------------------------------------------------
// NetXRay / Windows Sniffer: a 128-byte little-endian header ("XCP\0" and
// a version string, or "VL\0\0" for the oldest files) that says where the
// records start and end, the network type and the time stamp unit; then
// records of a 16-byte (old), 28-byte (1.x) or 40-byte (2.x) header and the
// data. Time stamps count ticks since the capture start, whose wall-clock
// second is in the header.

const netxrayHeaderLen = 128

// netxray is what the file header says.
type netxray struct {
	major        int     // 0 (old), 1 or 2
	ticksPerSec  float64 // time stamp unit
	startStamp   float64 // the start time stamp, in seconds
	startTime    int64   // the capture start, Unix seconds
	end          int64   // offset after the last record
	recordHeader int
	// A circular capture (end before start) runs from start to the end of
	// the file, then from the header to end: wrapped holds that second
	// part, read before skipping to start, until the reader wraps.
	wrapped  []byte
	circular bool
}

// maxNetXRayWrap bounds the part of a circular NetXRay capture kept in
// memory while its first part is read.
const maxNetXRayWrap = 64 << 20

// netxrayVersions are the version strings Wireshark reads.
var netxrayVersions = map[string][2]int{
	"001.000\x00": {1, 0}, "001.100\x00": {1, 1},
	"002.000\x00": {2, 0}, "002.001\x00": {2, 1}, "002.002\x00": {2, 2}, "002.003\x00": {2, 3},
}

// netxrayHeader reads the file header and skips to the first record.
func (r *CaptureReader) netxrayHeader() error {
	h, err := r.br.Peek(netxrayHeaderLen)
	if err != nil {
		return r.ioErr(err)
	}
	le := binary.LittleEndian
	nx := &netxray{}
	minor := 0
	switch string(h[:4]) {
	case "VL\x00\x00":
		nx.major = 0
	case "XCP\x00":
		v, ok := netxrayVersions[string(h[4:12])]
		if !ok {
			return r.corrupt("unsupported NetXRay version %q", h[4:12])
		}
		nx.major, minor = v[0], v[1]
	default:
		return r.corrupt("bad NetXRay magic %q", h[:4])
	}
	nx.startTime = int64(le.Uint32(h[0x0C:]))
	start, end := int64(le.Uint32(h[0x18:])), int64(le.Uint32(h[0x1C:]))
	network, networkPlus := h[0x2C], h[0x2D]
	timeunit, captype := h[0x30], h[0x54]
	stamp := float64(le.Uint32(h[0x34:])) + float64(le.Uint32(h[0x38:]))*4294967296.0

	// The byte after the network type says how to read it: 0, the NDIS
	// type minus one; 2, the NDIS type itself.
	var ndis int
	switch networkPlus {
	case 0:
		ndis = int(network) + 1
	case 2:
		ndis = int(network)
	default:
		return r.corrupt("NetXRay network type %d with modifier %d is not one Wireshark knows", network, networkPlus)
	}
	switch {
	case ndis == 1, ndis == 4 && nx.major < 2: // Ethernet; WAN shaped as Ethernet (NDISWAN) before 2.x
		r.link = linkEthernet
	case ndis == 2, ndis == 3, ndis == 4, ndis == 9, ndis == 10: // Token Ring, FDDI, WAN pods, ATM, 802.11
		r.link = linkUnsupported
	default:
		return r.corrupt("unknown NetXRay network type %d", ndis)
	}

	// Ticks per second, by version and, for 2.x Ethernet, by the capture
	// hardware (captype) and timeunit, as Wireshark reads them.
	var tps float64
	switch nx.major {
	case 0:
		tps = 1000
	case 1:
		tps = 1000
		if minor == 1 {
			tps = 1e6
		}
	default:
		var table []float64
		podZero := false // pods of 2.002 and 2.003 files count from 0
		switch {
		case ndis != 1:
			table = []float64{1e6, 1193000, 1193182}
		case captype == 0: // NDIS
			table = []float64{1e6, 1193000, float64(le.Uint32(h[0x4C:]))}
		case captype == 2: // gigabit pod
			table, podZero = []float64{1e9, 0, 31250000}, true
		case captype == 3: // other pod
			table, podZero = []float64{1e6, 0, 1250000}, true
		case captype == 5:
			table, podZero = []float64{1e6, 0, 0}, true
		case captype == 6:
			table, podZero = []float64{1e9, 0, 20000000}, true
		default:
			return r.corrupt("unknown NetXRay capture type %d for Ethernet", captype)
		}
		if int(timeunit) < len(table) {
			tps = table[timeunit]
		}
		if podZero && (minor == 2 || minor == 3) {
			stamp = 0
		}
	}
	if !(tps > 0) {
		return r.corrupt("unknown NetXRay time unit %d (capture type %d)", timeunit, captype)
	}
	nx.ticksPerSec, nx.startStamp = tps, stamp/tps
	nx.recordHeader = [3]int{16, 28, 40}[nx.major]
	switch {
	case start < netxrayHeaderLen:
		return r.corrupt("NetXRay records start at %d, inside the %d-byte header", start, netxrayHeaderLen)
	case end < start && end < netxrayHeaderLen:
		return r.corrupt("NetXRay records end at %d, inside the %d-byte header", end, netxrayHeaderLen)
	case end < start && end-netxrayHeaderLen > maxNetXRayWrap:
		return r.corrupt("circular NetXRay capture wraps %d bytes, more than the %d this reader keeps; save it again from Wireshark as pcapng", end-netxrayHeaderLen, maxNetXRayWrap)
	}
	nx.end = end
	r.nx = nx
	r.consume(netxrayHeaderLen)
	if end < start {
		// A circular buffer saved as is: keep the records from the header
		// to end, which come last, while the first ones are read.
		nx.circular = true
		nx.wrapped = make([]byte, 0, end-netxrayHeaderLen)
		for r.pos < end {
			got, err := r.br.Peek(int(min(end-r.pos, bufSize)))
			if err != nil {
				return r.ioErr(err)
			}
			nx.wrapped = append(nx.wrapped, got...)
			r.consume(len(got))
		}
	}
	// Skip to the first record; what lies between is not packets.
	for r.pos < start {
		n := int(min(start-r.pos, bufSize))
		got, err := r.br.Peek(n)
		if err != nil {
			return r.ioErr(err)
		}
		r.consume(len(got))
	}
	return nil
}

// nextNetXRayRecord returns the link-layer bytes of the next record.
func (r *CaptureReader) nextNetXRayRecord() ([]byte, uint32, error) {
	nx := r.nx
	if !nx.circular && r.pos >= nx.end {
		// The header's end offset: anything after it is not packets.
		return nil, 0, io.EOF
	}
	hl := nx.recordHeader
	h, err := r.br.Peek(hl)
	if err != nil && len(h) == 0 && err == io.EOF && nx.circular {
		// The end of the file in a circular capture: go on with the
		// records kept from after the header, which end at nx.end.
		nx.circular = false
		r.br = bufio.NewReaderSize(bytes.NewReader(nx.wrapped), bufSize)
		nx.wrapped = nil
		r.pos = netxrayHeaderLen
		if r.pos >= nx.end {
			return nil, 0, io.EOF
		}
		h, err = r.br.Peek(hl)
	}
	if err != nil {
		if len(h) == 0 && err == io.EOF {
			// The file ends before the end offset the header gave.
			return nil, 0, r.fail(ErrTruncatedCapture, io.ErrUnexpectedEOF)
		}
		return nil, 0, r.ioErr(err)
	}
	le := binary.LittleEndian
	var incl, orig int
	if nx.major == 0 {
		incl = int(le.Uint16(h[8:]))
		orig = incl
	} else {
		orig, incl = int(le.Uint16(h[8:])), int(le.Uint16(h[10:]))
	}
	// 2.x Ethernet: 0xFFFF in bytes 2-3 of the extra fields marks 4 bytes
	// at the end of the data (an FCS or junk), not part of the frame.
	padding := 0
	if nx.major == 2 && r.link == linkEthernet && h[16+2] == 0xFF && h[16+3] == 0xFF {
		padding = 4
		if incl < padding {
			return nil, 0, r.corrupt("NetXRay record of %d bytes cannot hold its 4-byte trailer", incl)
		}
	}
	n := hl + incl
	if !nx.circular && r.pos+int64(n) > nx.end {
		return nil, 0, r.corrupt("NetXRay record of %d bytes runs past the end of the records at byte %d", n, nx.end)
	}
	rec, err := r.br.Peek(n)
	if err != nil {
		return nil, 0, r.ioErr(err)
	}
	// Time stamps as Wireshark computes them: ticks to seconds since the
	// start stamp, added to the start second.
	t := (float64(le.Uint32(h)) + float64(le.Uint32(h[4:]))*4294967296.0) / nx.ticksPerSec
	t -= nx.startStamp
	if math.IsNaN(t) || math.IsInf(t, 0) || math.Abs(t) > 1<<40 {
		t = 0
	}
	whole := math.Trunc(t)
	r.tsSec, r.tsNsec, r.tsZero = nx.startTime+int64(whole), int64((t-whole)*1e9), false
	r.frame.WireLen = max(orig, incl) - padding
	r.consume(n)
	return rec[hl : n-padding], r.link, nil
}
