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
//   - epan/ftypes/ftype-bytes.c: an FT_BYTES value's text is two hex digits
//     per byte joined by ':' (3n-1 characters), rendered into a buffer of
//     3n-1+1 = 3n bytes: n bytes cross the ceiling from 873,814 on.
//   - epan/ftypes/ftype-string.c: an FT_STRING value's display text is the
//     string itself (strlen+1 bytes with the NUL); its filter text puts it
//     in quotes and escapes every non-printable byte as \xNN (up to
//     4*len+2 characters, +1 for the NUL).
//   - epan/tvbuff.c, epan/wslua/wslua_tvb.c (1.10): TvbRange:string() copies
//     the range into ep_alloc(len+1) raw (every byte kept, NULs included);
//     TvbRange:bytes() and tostring(TvbRange) copy it with
//     ep_tvb_memdup(len). 1.12 moved these to wmem (no ceiling).
const (
	// EphemeralCeiling is the first ep_alloc request size 1.10 and 1.12
	// refuse (emem.c: size < (10*1024*1024)>>2).
	EphemeralCeiling = (10 * 1024 * 1024) >> 2

	// ExportBytesPrefix is the most bytes of an FT_BYTES item whose
	// exported text (3n bytes with its NUL) stays below the ceiling.
	ExportBytesPrefix = (EphemeralCeiling - 1) / 3

	// ExportTextPrefix is the most bytes of a string item whose text stays
	// below the ceiling in every form 1.x renders it, whatever the bytes:
	// shown text is at most 3 bytes per byte (U+FFFD for ill-formed
	// UTF-8), and the filter form escapes each of those as \xNN (4 bytes),
	// plus 2 quotes and a NUL: 12n+3 < ceiling.
	ExportTextPrefix = (EphemeralCeiling - 4) / 12

	// TextChunk is how many bytes the runtime reads with one
	// TvbRange:string() where TvbRange:raw is missing (1.10): far below
	// the ceiling, and few enough calls for any packet.
	TextChunk = 64 * 1024

	// UnlimitedSince is the first Wireshark major release without emem.
	UnlimitedSince = 2
)
