package luagen

// What Wireshark 1.x can export of one field. These are facts of Wireshark
// releases, not of MQTT, so they live here and not in spec/.
//
// Source facts (public Wireshark sources of the 1.10 and 1.12 lines):
//   - epan/emem.c: per-packet ("ephemeral", ep_) memory comes in chunks of
//     EMEM_PACKET_CHUNK_SIZE = 10*1024*1024 bytes, and every ep_alloc of
//     `size` bytes asserts size < EMEM_PACKET_CHUNK_SIZE>>2, i.e. a request
//     of 2,621,440 bytes or more fails DISSECTOR_ASSERT. Outside a
//     dissector's exception handler (printing PDML or -T fields after
//     dissection) that is tshark's "Unhandled exception ... Aborted". The
//     1.12 emem.c keeps the same chunk size and assertion; emem (and ep_)
//     is gone from 2.0 on, where wmem has no such ceiling.
//   - print.c (1.10 line): -T fields and PDML's show attribute take a
//     field's value from proto_construct_match_selected_string, which
//     ep_allocs "<abbrev> == <value in filter form>" (abbrev, 4, the value,
//     a NUL) and then drops the prefix (and a string's quotes). -T fields
//     then copies the value into an ep_strbuf, which emem.c caps at
//     MAX_STRBUF_LEN = 65,536 bytes: at most 65,535 characters are printed.
//   - epan/ftypes/ftype-bytes.c: an FT_BYTES value's text is two hex digits
//     per byte joined by ':' (3n-1 characters).
//   - epan/ftypes/ftype-string.c, epan/strutil.c: an FT_STRING value's
//     filter form is the string in double quotes with '\' and '"'
//     backslashed and every non-printable byte written \xNN: up to 4 bytes
//     per byte, plus 2.
//   - epan/tvbuff.c, epan/wslua/wslua_tvb.c (1.10): TvbRange:string() copies
//     the range into ep_alloc(len+1) raw (every byte kept, NULs included);
//     TvbRange:bytes() and tostring(TvbRange) copy it with
//     ep_tvb_memdup(len). 1.12 moved these to wmem (no ceiling).
//
// So an FT_BYTES item of n bytes asks for 3n-1+len(abbrev)+5 bytes, and a
// string item of n raw bytes (shown as up to 3n bytes, U+FFFD standing for
// each ill-formed byte) for at most 12n+2+len(abbrev)+5.
const (
	// EphemeralCeiling is the first ep_alloc request size 1.10 and 1.12
	// refuse (emem.c: size < (10*1024*1024)>>2).
	EphemeralCeiling = (10 * 1024 * 1024) >> 2

	// TextChunk is how many bytes the runtime reads with one
	// TvbRange:string() where Tvb:raw is missing (1.10): far below the
	// ceiling, and few enough calls for any packet.
	TextChunk = 64 * 1024

	// UnlimitedSince is the first Wireshark major release without emem.
	UnlimitedSince = 2
)

// ExportBytesLimit is the most bytes an FT_BYTES item of the field with
// this abbreviation may cover on 1.x: 3n+len(abbrev)+4 < EphemeralCeiling.
// The generated runtime computes the same (export_fit).
func ExportBytesLimit(abbrev string) int { return (EphemeralCeiling - len(abbrev) - 5) / 3 }

// ExportTextLimit is the most raw bytes a string item of the field may
// cover on 1.x, whatever they are: 12n+len(abbrev)+7 < EphemeralCeiling.
func ExportTextLimit(abbrev string) int { return (EphemeralCeiling - len(abbrev) - 8) / 12 }
