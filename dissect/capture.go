package dissect

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"
)

// Capture reading.
//
// The reader parses the pcap and pcapng record framing itself rather than
// going through gopacket's pcapgo readers, for three reasons measured or
// read in pcapgo v1.7.7: pcapgo cannot report the byte offset of a damaged
// record; it trusts pcapng block lengths (a corrupt length makes it swallow
// the rest of the file and report a truncation rather than corruption); and
// with per-interface link types it boxes the link type into an interface
// value for every packet, which allocates for link types above 255 such as
// Linux cooked v2. Records are instead peeked straight out of a large
// bufio.Reader buffer: nothing is copied or allocated per packet.

// Sentinel errors. A *CaptureError matches ErrTruncatedCapture or
// ErrCorruptCapture with errors.Is.
var (
	// ErrNotCapture is returned by OpenCapture for input that starts with
	// none of the magic numbers of the formats read (after gzip
	// decompression).
	ErrNotCapture = errors.New("dissect: not a pcap, pcapng, snoop or NetXRay/Windows Sniffer file")
	// ErrTruncatedCapture means the input ended in the middle of a record,
	// as a capture that was cut short or is still being written does.
	ErrTruncatedCapture = errors.New("dissect: truncated capture")
	// ErrCorruptCapture means the input holds values no capture writer
	// produces: a bad magic number or byte-order mark, an absurd record or
	// block length, a packet on an interface that was never described.
	ErrCorruptCapture = errors.New("dissect: corrupt capture")
)

// CaptureError reports where a capture file could not be read. Every frame
// before the damage has already been returned by Next.
type CaptureError struct {
	// Offset is the byte offset, in the decompressed capture data, of the
	// record or block that could not be read.
	Offset int64
	// Frame is the number the unreadable frame would have had (0 when the
	// file header itself is damaged).
	Frame int
	// Err is the cause: io.ErrUnexpectedEOF for a truncated file, a
	// description of the inconsistency, or the underlying read error.
	Err error

	kind error // ErrTruncatedCapture, ErrCorruptCapture, or nil for I/O errors
}

func (e *CaptureError) Error() string {
	what := "dissect: capture"
	if e.kind != nil {
		what = e.kind.Error() // "dissect: truncated capture", "dissect: corrupt capture"
	}
	if e.Frame == 0 {
		return fmt.Sprintf("%s: file header at byte offset %d: %v", what, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: frame %d at byte offset %d: %v", what, e.Frame, e.Offset, e.Err)
}

// Unwrap returns the cause.
func (e *CaptureError) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel for this error's kind
// (ErrTruncatedCapture or ErrCorruptCapture).
func (e *CaptureError) Is(target error) bool { return e.kind != nil && target == e.kind }

// CaptureStats counts what a CaptureReader has seen so far.
type CaptureStats struct {
	Frames      int // records read: every packet record or block, numbered as Wireshark does
	Matched     int // frames returned by Next: TCP with a watched port
	Skipped     int // malformed frames: a link, IP or TCP header cut short or inconsistent
	Unsupported int // frames on a link type the reader does not decode
	Fragments   int // IP fragments of TCP datagrams (not reassembled, so not returned)
}

// DefaultPort is the port watched when no ports are given.
const DefaultPort = 1883

const (
	// bufSize is the read buffer. Records are peeked out of it, so every
	// pcap record and almost every pcapng block must fit: 1 MiB holds the
	// largest record libpcap writes (256 KiB) with room to spare.
	bufSize = 1 << 20
	// maxPcapRecord is libpcap's MAXIMUM_SNAPLEN, the largest record
	// Wireshark accepts for the link types decoded here. pcap records have
	// no framing besides their length, so a larger one means corruption.
	maxPcapRecord = 262144
	// maxBlock is the largest pcapng block accepted (Wireshark allows about
	// this much, for D-Bus messages); blocks above bufSize take a slow path.
	maxBlock = 128 << 20
	// maxVLANTags bounds the 802.1Q/802.1ad tag walk.
	maxVLANTags = 8
	// maxIPv6ExtHeaders bounds the IPv6 extension header walk.
	maxIPv6ExtHeaders = 16
)

// Link types (LINKTYPE_* values as stored in capture files).
const (
	linkNull      = 0
	linkEthernet  = 1
	linkRawBSD    = 12 // DLT_RAW on most BSDs, written to some old files
	linkRawOpen   = 14 // DLT_RAW on OpenBSD
	linkRaw       = 101
	linkLoop      = 108
	linkLinuxSLL  = 113
	linkIPv4      = 228
	linkIPv6      = 229
	linkLinuxSLL2 = 276
)

// pcapng block types.
const (
	blockSHB       = 0x0A0D0D0A
	blockIDB       = 1
	blockPB        = 2 // obsolete packet block
	blockSPB       = 3
	blockEPB       = 6
	blockJournal   = 9          // systemd journal export: a frame in Wireshark
	blockCustom    = 0x00000BAD // custom blocks are frames in Wireshark too
	blockCustomNoC = 0x40000BAD
	byteOrderMagic = 0x1A2B3C4D
)

// CaptureReader reads frames carrying TCP on watched ports from a pcap or
// pcapng capture, optionally gzip-compressed. It is not safe for concurrent
// use, except BytesRead.
type CaptureReader struct {
	in    *countingReader
	br    *bufio.Reader
	ng    bool
	kind  int  // kindPcap, kindPcapng, kindSnoop, kindNetXRay
	be    bool // big-endian file (pcap) or section (pcapng)
	open  bool // the file header has been read
	pos   int64
	ports portSet
	err   error // sticky: returned by every Next after the first failure

	// pcap, snoop, NetXRay
	link      uint32
	nanoScale int64 // 1000 for microsecond timestamps, 1 for nanosecond

	// pcapng
	ifaces []ngIface
	big    []byte // holds a packet block too large to peek at

	// NetXRay
	nx *netxray

	// the current record's timestamp, converted to time.Time only for
	// frames that are returned
	tsSec, tsNsec int64
	tsZero        bool

	frame Frame
	stats CaptureStats
	other []uint32 // frames per unwatched lower TCP port (countOther)
}

// ngIface is one pcapng interface description.
type ngIface struct {
	link    uint32
	snaplen uint32
	perSec  uint64 // timestamp units per second
	mulNs   uint64 // ns per unit when perSec divides 1e9 (decimal resolution ≤ 9)
	divNs   uint64 // units per ns when perSec is a decimal multiple of 1e9
	shift   uint   // binary resolution exponent (when binary)
	binary  bool
	offset  int64 // if_tsoffset, seconds
}

// countingReader counts the bytes read from the caller's reader. The count
// is atomic so a progress display may poll BytesRead from another goroutine.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// OpenCapture prepares to read a capture from r: gzip-compressed or not,
// pcap in either byte order with micro- or nanosecond timestamps, pcapng
// (several sections and interfaces, each interface with its own link type),
// Solaris snoop, or NetXRay / Windows Sniffer (capture_legacy.go).
// Next returns frames with TCP to or from one of ports (1883 when ports is
// empty).
//
// Input that is not a capture yields an error matching ErrNotCapture; a
// damaged file header yields a *CaptureError.
func OpenCapture(r io.Reader, ports []uint16) (*CaptureReader, error) {
	cr := &CaptureReader{in: &countingReader{r: r}}
	cr.ports.set(ports)

	// Detect gzip with a small buffer; the large one sits on top of the
	// decompressor so peeked records are decompressed bytes.
	raw := bufio.NewReaderSize(cr.in, 64<<10)
	var src io.Reader = raw
	if m, err := raw.Peek(2); err == nil && m[0] == 0x1f && m[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, cr.ioErr(err)
		}
		src = gz
	}
	cr.br = bufio.NewReaderSize(src, bufSize)

	m, err := cr.br.Peek(4)
	if err != nil && len(m) == 0 && err == io.EOF {
		return nil, fmt.Errorf("%w: empty input", ErrNotCapture)
	}
	if err != nil && err != io.EOF {
		return nil, cr.ioErr(err)
	}
	switch {
	case isMagicPrefix(m, []byte{0x0A, 0x0D, 0x0D, 0x0A}):
		cr.ng, cr.kind = true, kindPcapng
	case isMagicPrefix(m, []byte{0xD4, 0xC3, 0xB2, 0xA1}), isMagicPrefix(m, []byte{0x4D, 0x3C, 0xB2, 0xA1}),
		isMagicPrefix(m, []byte{0xA1, 0xB2, 0xC3, 0xD4}), isMagicPrefix(m, []byte{0xA1, 0xB2, 0x3C, 0x4D}):
	case isMagicPrefix(m, []byte("snoo")):
		cr.kind = kindSnoop
	case isMagicPrefix(m, []byte("XCP\x00")), isMagicPrefix(m, []byte("VL\x00\x00")):
		cr.kind = kindNetXRay
	default:
		return nil, ErrNotCapture
	}
	if len(m) < 4 {
		return nil, cr.fail(ErrTruncatedCapture, io.ErrUnexpectedEOF)
	}
	switch cr.kind {
	case kindPcapng:
		// The file starts with a section header block; read it now so a
		// damaged one is reported by OpenCapture.
		if _, _, err := cr.nextBlock(); err != nil {
			return nil, err
		}
	case kindSnoop:
		err = cr.snoopHeader()
	case kindNetXRay:
		err = cr.netxrayHeader()
	default:
		err = cr.pcapHeader()
	}
	if err != nil {
		return nil, err
	}
	cr.open = true
	return cr, nil
}

// isMagicPrefix reports whether m (up to 4 bytes) is a prefix of magic, so
// a 3-byte file that starts like a capture reads as truncated, not foreign.
func isMagicPrefix(m, magic []byte) bool {
	return len(m) > 0 && string(m) == string(magic[:len(m)])
}

// BytesRead returns how many bytes have been read from the underlying
// reader (compressed bytes for gzip input), for progress reporting. It may
// run ahead of the frames returned by up to two buffer sizes. Safe to call
// concurrently with Next.
func (r *CaptureReader) BytesRead() int64 { return r.in.n.Load() }

// Stats returns counts of the frames seen so far.
func (r *CaptureReader) Stats() CaptureStats { return r.stats }

// Next returns the next frame carrying TCP to or from a watched port,
// skipping (and counting in Stats) every other record. It returns io.EOF at
// the clean end of the capture and a *CaptureError when the file is damaged,
// after every frame before the damage.
//
// Buffer lifetime: the returned Frame, and the Payload it points into, are
// reused; they are valid until the next call to Next.
func (r *CaptureReader) Next() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		var data []byte
		var link uint32
		var err error
		switch r.kind {
		case kindPcapng:
			data, link, err = r.nextBlock()
		case kindSnoop:
			data, link, err = r.nextSnoopRecord()
		case kindNetXRay:
			data, link, err = r.nextNetXRayRecord()
		default:
			data, link, err = r.nextRecord()
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		r.stats.Frames++
		if data == nil || !r.decode(link, data) {
			continue
		}
		f := &r.frame
		f.Number = r.stats.Frames
		if r.tsZero {
			f.Time = time.Time{}
		} else {
			f.Time = time.Unix(r.tsSec, r.tsNsec).UTC()
		}
		r.stats.Matched++
		return f, nil
	}
}

// fail builds the error for the record that starts at r.pos.
// NextRecord is Next for readers that must see every record, such as a
// merge of captures in time order (as mergecap does): it returns the next
// record whatever it holds. tcp reports whether it carries TCP on a watched
// port; f is then what Next would have returned. Otherwise only f.Number
// and f.Time are meaningful.
//
// Buffer lifetime: as for Next.
func (r *CaptureReader) NextRecord() (f *Frame, tcp bool, err error) {
	if r.err != nil {
		return nil, false, r.err
	}
	var data []byte
	var link uint32
	if r.ng {
		data, link, err = r.nextBlock()
	} else {
		data, link, err = r.nextRecord()
	}
	if err != nil {
		r.err = err
		return nil, false, err
	}
	r.stats.Frames++
	tcp = data != nil && r.decode(link, data)
	f = &r.frame
	f.Number = r.stats.Frames
	if r.tsZero {
		f.Time = time.Time{}
	} else {
		f.Time = time.Unix(r.tsSec, r.tsNsec).UTC()
	}
	if tcp {
		r.stats.Matched++
	}
	return f, tcp, nil
}

func (r *CaptureReader) fail(kind, cause error) error {
	e := &CaptureError{Offset: r.pos, Err: cause, kind: kind}
	if r.open {
		e.Frame = r.stats.Frames + 1
	}
	return e
}

func (r *CaptureReader) corrupt(format string, args ...any) error {
	return r.fail(ErrCorruptCapture, fmt.Errorf(format, args...))
}

// ioErr classifies an error from reading: end of input inside a record is
// a truncation, a gzip integrity failure is corruption, anything else is
// the reader's own error.
func (r *CaptureReader) ioErr(err error) error {
	var flateErr flate.CorruptInputError
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return r.fail(ErrTruncatedCapture, io.ErrUnexpectedEOF)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, &flateErr):
		return r.fail(ErrCorruptCapture, err)
	}
	return r.fail(nil, err)
}

// atEnd returns io.EOF when a peek found no byte at a record boundary (the
// clean end of the file) and the classified error otherwise.
func (r *CaptureReader) atEnd(got []byte, err error) error {
	if len(got) == 0 && err == io.EOF {
		return io.EOF
	}
	return r.ioErr(err)
}

func (r *CaptureReader) u16(b []byte) uint16 {
	if r.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *CaptureReader) u32(b []byte) uint32 {
	if r.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// consume advances past n peeked bytes. Discard does not touch the buffer
// contents, so slices from the last Peek stay valid until the next Peek.
func (r *CaptureReader) consume(n int) {
	_, _ = r.br.Discard(n) // n bytes were peeked, so Discard cannot fail
	r.pos += int64(n)
}

// pcapHeader reads the 24-byte pcap file header.
func (r *CaptureReader) pcapHeader() error {
	h, err := r.br.Peek(24)
	if err != nil {
		return r.ioErr(err)
	}
	switch binary.BigEndian.Uint32(h) {
	case 0xA1B2C3D4:
		r.be, r.nanoScale = true, 1000
	case 0xA1B23C4D:
		r.be, r.nanoScale = true, 1
	case 0xD4C3B2A1:
		r.be, r.nanoScale = false, 1000
	case 0x4D3CB2A1:
		r.be, r.nanoScale = false, 1
	}
	if v := r.u16(h[4:]); v != 2 {
		return r.corrupt("unsupported pcap version %d.%d", v, r.u16(h[6:]))
	}
	// The upper bits of the link type field carry FCS information.
	r.link = r.u32(h[20:]) & 0xFFFF
	r.consume(24)
	return nil
}

// nextRecord returns the link-layer bytes of the next pcap record. The
// returned slice aliases the read buffer.
func (r *CaptureReader) nextRecord() ([]byte, uint32, error) {
	h, err := r.br.Peek(16)
	if err != nil {
		return nil, 0, r.atEnd(h, err)
	}
	caplen, wirelen := r.u32(h[8:]), r.u32(h[12:])
	if caplen > maxPcapRecord {
		return nil, 0, r.corrupt("record length %d exceeds the maximum of %d", caplen, maxPcapRecord)
	}
	n := 16 + int(caplen)
	rec, err := r.br.Peek(n)
	if err != nil {
		return nil, 0, r.ioErr(err)
	}
	r.tsSec, r.tsNsec, r.tsZero = int64(r.u32(rec)), int64(r.u32(rec[4:]))*r.nanoScale, false
	r.frame.WireLen = int(max(wirelen, caplen))
	r.consume(n)
	return rec[16:n], r.link, nil
}

// nextBlock reads pcapng blocks until one that Wireshark numbers as a
// frame. It returns the link-layer bytes and link type of a packet, or nil
// data for a frame that carries no packet (custom and journal blocks).
// Before OpenCapture has finished it returns after the first block.
func (r *CaptureReader) nextBlock() ([]byte, uint32, error) {
	for {
		h, err := r.br.Peek(12)
		if err != nil {
			return nil, 0, r.atEnd(h, err)
		}
		typ := r.u32(h)
		if typ == blockSHB {
			// The section header's byte-order mark sets the byte order of
			// everything in the section, its own length included.
			switch binary.BigEndian.Uint32(h[8:]) {
			case byteOrderMagic:
				r.be = true
			case 0x4D3C2B1A:
				r.be = false
			default:
				return nil, 0, r.corrupt("bad pcapng byte-order mark %x", h[8:12])
			}
		} else if !r.open {
			return nil, 0, r.corrupt("pcapng file does not start with a section header")
		}
		n := r.u32(h[4:])
		if n < 12 || n%4 != 0 || n > maxBlock {
			return nil, 0, r.corrupt("bad pcapng block length %d", n)
		}
		var blk []byte
		if n <= bufSize {
			if blk, err = r.br.Peek(int(n)); err != nil {
				return nil, 0, r.ioErr(err)
			}
		} else if blk, err = r.largeBlock(typ, int(n)); err != nil || blk == nil {
			if err != nil {
				return nil, 0, err
			}
			continue // a large block that is not a packet: skipped
		}
		if r.u32(blk[n-4:]) != n {
			return nil, 0, r.corrupt("pcapng block length %d does not match trailing length %d", n, r.u32(blk[n-4:]))
		}
		body := blk[8 : n-4]
		var data []byte
		var link uint32
		frame := false
		switch typ {
		case blockSHB:
			err = r.sectionHeader(body)
		case blockIDB:
			err = r.interfaceDescription(body)
		case blockEPB, blockPB:
			data, link, err = r.packetBlock(typ, body)
			frame = true
		case blockSPB:
			data, link, err = r.simplePacketBlock(body)
			frame = true
		case blockJournal, blockCustom, blockCustomNoC:
			frame = true
		}
		if err != nil {
			return nil, 0, err
		}
		if n <= bufSize {
			r.consume(int(n))
		} else {
			r.pos += int64(n) // largeBlock already read it
		}
		if frame || !r.open {
			return data, link, nil
		}
	}
}

// largeBlock handles a block too big to peek at: a packet block is copied
// into r.big, growing only as bytes actually arrive (so a bogus length
// cannot make a short file allocate a lot); any other block is skipped and
// nil returned. Only the trailing length is checked for skipped blocks.
func (r *CaptureReader) largeBlock(typ uint32, n int) ([]byte, error) {
	switch typ {
	case blockEPB, blockPB, blockSPB:
		buf := r.big[:0]
		for len(buf) < n {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			chunk := buf[len(buf):min(cap(buf), n)]
			m, err := io.ReadFull(r.br, chunk)
			buf = buf[:len(buf)+m]
			if err != nil {
				r.big = buf
				return nil, r.ioErr(err)
			}
		}
		r.big = buf
		return buf, nil
	}
	if _, err := r.br.Discard(n - 4); err != nil {
		return nil, r.ioErr(err)
	}
	t, err := r.br.Peek(4)
	if err != nil {
		return nil, r.ioErr(err)
	}
	if r.u32(t) != uint32(n) {
		return nil, r.corrupt("pcapng block length %d does not match trailing length %d", n, r.u32(t))
	}
	_, _ = r.br.Discard(4)
	r.pos += int64(n)
	return nil, nil
}

func (r *CaptureReader) sectionHeader(body []byte) error {
	if len(body) < 16 {
		return r.corrupt("short pcapng section header")
	}
	if major := r.u16(body[4:]); major != 1 {
		return r.corrupt("unsupported pcapng version %d.%d", major, r.u16(body[6:]))
	}
	r.ifaces = r.ifaces[:0] // interface ids are per section
	return nil
}

func (r *CaptureReader) interfaceDescription(body []byte) error {
	if len(body) < 8 {
		return r.corrupt("short pcapng interface description")
	}
	ifc := ngIface{link: uint32(r.u16(body)), snaplen: r.u32(body[4:]), perSec: 1e6, mulNs: 1000}
	// Options: 2-byte code, 2-byte length, value padded to 4 bytes. Only
	// the timestamp resolution and offset matter here; a malformed option
	// list ends the walk rather than failing the file, as options are
	// advisory.
	for o := body[8:]; len(o) >= 4; {
		code, l := r.u16(o), int(r.u16(o[2:]))
		if code == 0 || 4+l > len(o) {
			break
		}
		v := o[4 : 4+l]
		switch {
		case code == 9 && l >= 1: // if_tsresol
			if err := ifc.setResolution(v[0]); err != nil {
				return r.corrupt("%v", err)
			}
		case code == 14 && l >= 8: // if_tsoffset
			if r.be {
				ifc.offset = int64(binary.BigEndian.Uint64(v))
			} else {
				ifc.offset = int64(binary.LittleEndian.Uint64(v))
			}
		}
		o = o[min(len(o), 4+(l+3)&^3):]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// setResolution applies an if_tsresol value: 10^-v seconds, or 2^-v when
// the top bit is set.
func (i *ngIface) setResolution(v byte) error {
	i.binary, i.mulNs, i.divNs = false, 0, 0
	if v&0x80 != 0 {
		e := uint(v & 0x7f)
		if e > 63 {
			return fmt.Errorf("unsupported timestamp resolution 2^-%d", e)
		}
		i.binary, i.shift, i.perSec = true, e, 1<<e
		return nil
	}
	if v > 19 {
		return fmt.Errorf("unsupported timestamp resolution 10^-%d", v)
	}
	i.perSec = 1
	for range v {
		i.perSec *= 10
	}
	if v <= 9 {
		i.mulNs = 1e9 / i.perSec
	} else {
		i.divNs = i.perSec / 1e9
	}
	return nil
}

// setTime converts a pcapng timestamp of interface i into r.tsSec/tsNsec.
func (r *CaptureReader) setTime(i *ngIface, ts uint64) {
	sec, frac := ts/i.perSec, ts%i.perSec
	var ns uint64
	switch {
	case i.binary:
		hi, lo := bits.Mul64(frac, 1e9) // frac < 2^shift, so the result fits
		if i.shift > 0 {
			ns = hi<<(64-i.shift) | lo>>i.shift
		}
	case i.mulNs != 0:
		ns = frac * i.mulNs
	default:
		ns = frac / i.divNs
	}
	r.tsSec, r.tsNsec, r.tsZero = int64(sec)+i.offset, int64(ns), false
}

// packetBlock decodes an enhanced packet block or an obsolete packet block;
// both have a 20-byte fixed part before the packet data.
func (r *CaptureReader) packetBlock(typ uint32, body []byte) ([]byte, uint32, error) {
	if len(body) < 20 {
		return nil, 0, r.corrupt("short pcapng packet block")
	}
	var id uint32
	if typ == blockEPB {
		id = r.u32(body)
	} else {
		id = uint32(r.u16(body))
	}
	if id >= uint32(len(r.ifaces)) {
		return nil, 0, r.corrupt("packet on undescribed interface %d", id)
	}
	caplen, wirelen := r.u32(body[12:]), r.u32(body[16:])
	if uint64(caplen) > uint64(len(body)-20) {
		return nil, 0, r.corrupt("packet length %d exceeds its block", caplen)
	}
	ifc := &r.ifaces[id]
	r.setTime(ifc, uint64(r.u32(body[4:]))<<32|uint64(r.u32(body[8:])))
	r.frame.WireLen = int(max(wirelen, caplen))
	return body[20 : 20+caplen], ifc.link, nil
}

// simplePacketBlock decodes a simple packet block: interface 0, no
// timestamp, captured length implied by the original length and snap
// length.
func (r *CaptureReader) simplePacketBlock(body []byte) ([]byte, uint32, error) {
	if len(body) < 4 {
		return nil, 0, r.corrupt("short pcapng simple packet block")
	}
	if len(r.ifaces) == 0 {
		return nil, 0, r.corrupt("simple packet block before any interface description")
	}
	wirelen := r.u32(body)
	caplen := min(uint64(wirelen), uint64(len(body)-4))
	if s := r.ifaces[0].snaplen; s != 0 {
		caplen = min(caplen, uint64(s))
	}
	r.tsZero = true
	r.frame.WireLen = int(wirelen)
	return body[4 : 4+caplen], r.ifaces[0].link, nil
}

// decode parses the link, network and TCP headers of a frame and fills
// r.frame when it is TCP on a watched port. Every length is checked before
// slicing; a frame that cannot be parsed is counted as skipped.
func (r *CaptureReader) decode(link uint32, p []byte) bool {
	var etype uint16
	switch link {
	case linkEthernet:
		if len(p) < 14 {
			return r.malformed()
		}
		etype, p = binary.BigEndian.Uint16(p[12:]), p[14:]
	case linkLinuxSLL:
		if len(p) < 16 {
			return r.malformed()
		}
		etype, p = binary.BigEndian.Uint16(p[14:]), p[16:]
	case linkLinuxSLL2:
		if len(p) < 20 {
			return r.malformed()
		}
		etype, p = binary.BigEndian.Uint16(p), p[20:]
	case linkNull, linkLoop:
		if len(p) < 4 {
			return r.malformed()
		}
		// DLT_NULL stores the address family in the capturing host's byte
		// order, DLT_LOOP in network order; families are small numbers, so
		// a value with high bits set is just the other byte order.
		fam := binary.LittleEndian.Uint32(p)
		if fam > 0xFFFF {
			fam = bits.ReverseBytes32(fam)
		}
		p = p[4:]
		switch fam {
		case 2:
			return r.ipv4(p)
		case 10, 24, 28, 30: // AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS
			return r.ipv6(p)
		}
		return false
	case linkRaw, linkRawBSD, linkRawOpen:
		if len(p) == 0 {
			return r.malformed()
		}
		switch p[0] >> 4 {
		case 4:
			return r.ipv4(p)
		case 6:
			return r.ipv6(p)
		}
		return r.malformed()
	case linkIPv4:
		return r.ipv4(p)
	case linkIPv6:
		return r.ipv6(p)
	default:
		r.stats.Unsupported++
		return false
	}
	for i := 0; etype == 0x8100 || etype == 0x88A8 || etype == 0x9100; i++ {
		if i == maxVLANTags || len(p) < 4 {
			return r.malformed()
		}
		etype, p = binary.BigEndian.Uint16(p[2:]), p[4:]
	}
	switch etype {
	case 0x0800:
		return r.ipv4(p)
	case 0x86DD:
		return r.ipv6(p)
	}
	return false
}

func (r *CaptureReader) malformed() bool {
	r.stats.Skipped++
	return false
}

func (r *CaptureReader) ipv4(p []byte) bool {
	if len(p) < 20 || p[0]>>4 != 4 {
		return r.malformed()
	}
	hl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if total == 0 {
		// Captured on the sending host before segmentation offload filled
		// in the length; Wireshark uses the captured length too.
		total = len(p)
	}
	if hl < 20 || hl > len(p) || total < hl {
		return r.malformed()
	}
	if p[9] != 6 {
		return false
	}
	if frag := binary.BigEndian.Uint16(p[6:]); frag&0x3fff != 0 {
		// More-fragments set or a non-zero offset: the TCP segment is
		// split over several frames and is not reassembled here.
		r.stats.Fragments++
		return false
	}
	// Stripping to the total length drops Ethernet padding and FCS.
	end := min(total, len(p))
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	return r.tcp(src, dst, p[hl:end], total-hl, total > len(p))
}

func (r *CaptureReader) ipv6(p []byte) bool {
	if len(p) < 40 || p[0]>>4 != 6 {
		return r.malformed()
	}
	total := 40 + int(binary.BigEndian.Uint16(p[4:]))
	if total == 40 {
		// A jumbogram or an offloaded segment: use the captured length.
		total = max(len(p), 40)
	}
	end := min(total, len(p))
	next, off := p[6], 40
	for i := 0; next != 6; i++ {
		if i == maxIPv6ExtHeaders {
			return r.malformed()
		}
		if off+8 > end {
			if next == 0 || next == 43 || next == 44 || next == 51 || next == 60 || next == 135 || next == 139 || next == 140 {
				return r.malformed()
			}
			return false
		}
		var l int
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination, mobility, HIP, shim6
			l = (int(p[off+1]) + 1) * 8
		case 44: // fragment
			if binary.BigEndian.Uint16(p[off+2:])&0xfff9 != 0 {
				r.stats.Fragments++
				return false
			}
			l = 8 // an atomic fragment (offset 0, no more fragments) is whole
		case 51: // authentication header, length in 4-byte units
			l = (int(p[off+1]) + 2) * 4
		default: // ESP, no next header, UDP, ICMPv6, ...
			return false
		}
		next = p[off]
		off += l
	}
	if off > end {
		return r.malformed()
	}
	src := netip.AddrFrom16([16]byte(p[8:24]))
	dst := netip.AddrFrom16([16]byte(p[24:40]))
	return r.tcp(src, dst, p[off:end], total-off, total > len(p))
}

// tcp parses a TCP segment. seg holds the captured bytes, segLen is the
// segment length the IP header declares (larger when cut is set).
func (r *CaptureReader) tcp(src, dst netip.Addr, seg []byte, segLen int, cut bool) bool {
	if len(seg) < 20 {
		return r.malformed()
	}
	sp, dp := binary.BigEndian.Uint16(seg), binary.BigEndian.Uint16(seg[2:])
	if !r.ports.has(sp) && !r.ports.has(dp) {
		r.countOther(sp, dp)
		return false
	}
	hl := int(seg[12]>>4) * 4
	if hl < 20 || hl > len(seg) {
		return r.malformed()
	}
	fl := seg[13]
	f := &r.frame
	f.Src = netip.AddrPortFrom(src, sp)
	f.Dst = netip.AddrPortFrom(dst, dp)
	f.Seq = binary.BigEndian.Uint32(seg[4:])
	f.Ack = binary.BigEndian.Uint32(seg[8:])
	// FIN, SYN, RST are bits 0-2 in both encodings; ACK is bit 4 on the wire.
	f.Flags = TCPFlags(fl&0x07) | TCPFlags(fl&0x10)>>1
	f.Payload = seg[hl:]
	f.PayloadLen = segLen - hl
	f.Truncated = cut
	return true
}

// countOther counts a TCP frame on ports not watched by its lower port
// (usually the server's), so that a run that found nothing can say where
// the traffic was. The table is fixed (one counter per port).
func (r *CaptureReader) countOther(sp, dp uint16) {
	if r.other == nil {
		r.other = make([]uint32, 1<<16)
	}
	r.other[min(sp, dp)]++
}

// PortCount is a TCP port and the frames seen on it.
type PortCount struct {
	Port   uint16
	Frames int
}

// BusiestPorts returns up to n unwatched TCP ports that carried frames,
// busiest first (by the lower port of each frame).
func (r *CaptureReader) BusiestPorts(n int) []PortCount {
	var out []PortCount
	for p, c := range r.other {
		if c > 0 {
			out = append(out, PortCount{uint16(p), int(c)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Frames != out[j].Frames {
			return out[i].Frames > out[j].Frames
		}
		return out[i].Port < out[j].Port
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// portSet is a bitmap of watched TCP ports.
type portSet [65536 / 64]uint64

func (s *portSet) set(ports []uint16) {
	if len(ports) == 0 {
		ports = []uint16{DefaultPort}
	}
	for _, p := range ports {
		s[p/64] |= 1 << (p % 64)
	}
}

func (s *portSet) has(p uint16) bool { return s[p/64]&(1<<(p%64)) != 0 }
