// Package wslua emulates the part of Wireshark's Lua API (epan/wslua) that
// dissectors use, on gopher-lua, so that Lua dissectors can be run and
// checked headless, without Wireshark.
//
// # Use
//
//	s := wslua.New(wslua.Options{Profile: wslua.Profile40})
//	defer s.Close()
//	if err := s.Load("mqtt.lua", src); err != nil { ... } // *LuaError
//	c := s.NewConn()                                         // one per TCP connection
//	fr := c.Segment(wslua.ToServer, payload, wslua.FrameInfo{Number: 7, Src: cli, Dst: srv})
//	for _, call := range fr.Calls { for _, pdu := range call.Roots() { ... } }
//
// Conn also implements dissect.StreamHandler (Data, Gap, Close), with
// results delivered to Conn.OnFrame.
//
// # Profiles
//
// A Profile is a Wireshark release with its Lua dialect: 1.10 (Lua 5.1,
// `bit`), 1.10/5.2 (`bit32`, no `bit`), 1.12, 2.6, 3.6, 4.0 (Lua 5.2, `bit`
// and `bit32`) and 4.4 (Lua 5.4: no bit32, unpack, loadstring, setfenv,
// module; "%d" of a non-integral number fails; 6/2 prints as "3.0" where
// the float is visible at compile time, see float54.go). An API point the
// profile lacks fails with "wslua: X is not available in Wireshark V (first
// in W)"; a missing global reads as nil (so feature tests such as
// `bit32 and bit32.band` work) and the note is appended to the error that
// follows. Lua 5.1 profiles reject goto, labels, // and bit operators
// before compiling (CheckSyntax51); Lua 5.2 profiles reject // and bit
// operators.
//
// # Fidelity
//
// Error texts, label rendering (value strings, bitmask patterns, hex digit
// counts, booleans, <MISSING> bytes), explicit-value masking, text items
// (_ws.lua.text), "Lua Error:" items, and TCP desegmentation
// (desegment_offset/desegment_len, DESEGMENT_ONE_MORE_SEGMENT, several PDUs
// per segment, the frame number of the completing segment, the
// "[TCP segment of a reassembled PDU]" column rule, Info fence and
// Protocol freeze between PDUs) follow Wireshark; the tests compare field
// names, labels, values and positions with tshark 4.0 PDML when tshark is
// installed.
//
// Not emulated: Wireshark's own dissectors (no TCP Info text unless
// FrameInfo.Info is given, Dissector.get only knows Lua protocols and
// "data"), Field extractors (Field.new works, extracts nothing), taps,
// listeners, heuristic dissectors, GUI functions, NSTime, Struct, GRegex,
// conversations, two-pass dissection (pinfo.visited is always false), TCP
// sequence analysis (segments are fed in order; use Gap for holes).
// A negative return value does not request more data (tshark 4.0 ignores
// it); Options.NegativeReturnDesegments turns that on.
//
// # Sandbox and limits
//
// A script can read nothing but its own text and what it is handed (the
// capture's bytes): os keeps only time, clock, date and difftime; io only
// writes to Options.Stdout; package.loaders/searchers only search
// package.preload, and require, dofile, loadfile and package.loadlib load
// no file; there is no debug library, no string.dump and no channel
// library. (sandbox.go; each escape route has a test in sandbox_test.go.)
//
// Work, not time, is bounded: each dissector call (and init,
// prefs_changed) may run Options.CallSteps Lua instructions, loading
// Options.LoadSteps. The count is exact (gopher-lua reads ctx.Done() once
// per instruction; budget.go counts the reads), so the verdict on a script
// does not depend on how busy the machine is. Library functions written in
// Go that could do much work in one call are replaced by versions that
// charge it: pattern matching (an own matcher, match.go, that counts its
// steps), string.rep, table.concat, unpack, table.insert/remove/sort,
// string.byte, load. Memory is bounded by Options.MemoryLimit: big
// allocations are checked before they are made, and the heap is measured
// every 65,536 instructions and after each garbage collection. Running
// into a limit raises a Lua error naming the limit and the script's line
// (LuaError.Limit, LuaError.Where) that the script cannot catch for good
// (its pcall catches it, the next instruction raises it again); the state
// stays usable.
//
// The language's runtime errors ("attempt to index a nil value") a script
// catches itself with pcall during a dissector call are recorded in
// Call.Caught; not error() values, errors the Wireshark API raises, or
// those of API points the release lacks, which scripts test for.
package wslua
