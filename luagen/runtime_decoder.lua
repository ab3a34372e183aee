-- ---------------------------------------------------------------------------
-- The reader's primitives. The dissect_<type> functions further down are
-- the table compiled: each reads its packet type field by field, with the
-- offsets, conditions and checks written out, and calls these few helpers
-- for what every field shares (reading integers, adding items, notes,
-- stopping at a malformed packet). They follow mqttdissect's Go decoder
-- step by step, so both show the same fields in the same order with the
-- same notes. Everything is integer arithmetic (no bit operators), and
-- numbers reach text only through dec(), so Lua 5.1 to 5.4 print the same.

local floor, byte, char, concat, find, sub = math.floor, string.byte, string.char, table.concat, string.find, string.sub
local STOP = {} -- error value: the packet cannot be read to its end

-- dec formats an integer-valued number in decimal (Lua 5.3+ would print
-- 3.0 for a float). Packet identifiers and ports are formatted again and
-- again, so numbers below 65536 are kept once formatted.
local DECIMAL = {}
local function dec(v)
    local s = DECIMAL[v]
    if s then
        return s
    end
    if v >= -9007199254740992 and v <= 9007199254740992 then
        s = string.format("%d", v)
    else
        s = string.format("%.0f", v)
    end
    if v >= 0 and v < 65536 then
        DECIMAL[v] = s
    end
    return s
end

-- gofmt fills in a note's Go format string: %s, %d, %x, %#x, %#02x.
local function gofmt(format, ...)
    local args, i = { ... }, 0
    return (string.gsub(format, "%%(#?)(0?)(%d*)([%%sdx])", function(sharp, zero, width, verb)
        if verb == "%" then
            return "%"
        end
        i = i + 1
        local a = args[i]
        if verb == "s" then
            return tostring(a)
        elseif verb == "d" then
            return dec(a)
        end
        local s = string.format("%x", a)
        if zero == "0" and width ~= "" then
            s = string.rep("0", tonumber(width) - #s) .. s
        end
        if sharp == "#" then
            s = "0x" .. s
        end
        return s
    end))
end

-- band is a & b for non-negative integers (bit fields whose mask is not
-- one run of bits; the others are read with floor and %).
local function band(a, b)
    local r, bit = 0, 1
    while a > 0 and b > 0 do
        if a % 2 == 1 and b % 2 == 1 then
            r = r + bit
        end
        a, b, bit = floor(a / 2), floor(b / 2), bit * 2
    end
    return r
end

-- utf8_width returns the length of the UTF-8 sequence at byte i of s (n
-- bytes long) and whether it is well-formed (no overlong forms, surrogates
-- or values above U+10FFFF). For one that is not, the length is that of
-- its longest well-formed start, at least 1: Wireshark shows each such
-- piece as one U+FFFD.
local function utf8_width(s, i, n)
    local c = byte(s, i)
    if c < 0x80 then
        return 1, true
    end
    local more, lo, hi
    if c >= 0xC2 and c <= 0xDF then
        more, lo, hi = 1, 0x80, 0xBF
    elseif c == 0xE0 then
        more, lo, hi = 2, 0xA0, 0xBF
    elseif c == 0xED then
        more, lo, hi = 2, 0x80, 0x9F
    elseif c >= 0xE1 and c <= 0xEF then
        more, lo, hi = 2, 0x80, 0xBF
    elseif c == 0xF0 then
        more, lo, hi = 3, 0x90, 0xBF
    elseif c >= 0xF1 and c <= 0xF3 then
        more, lo, hi = 3, 0x80, 0xBF
    elseif c == 0xF4 then
        more, lo, hi = 3, 0x80, 0x8F
    else
        return 1, false
    end
    if i + 1 > n then
        return 1, false
    end
    local c1 = byte(s, i + 1)
    if c1 < lo or c1 > hi then
        return 1, false
    end
    for k = 2, more do
        if i + k > n then
            return k, false
        end
        local ck = byte(s, i + k)
        if ck < 0x80 or ck > 0xBF then
            return k, false
        end
    end
    return more + 1, true
end

-- utf8_checked remembers which short strings (topics, mostly, which
-- repeat) are well-formed UTF-8; it is emptied when it holds UTF8_KEEP.
local utf8_checked, utf8_count, UTF8_KEEP, UTF8_SHORT = {}, 0, 4096, 256

local function valid_utf8(s)
    local known = utf8_checked[s]
    if known ~= nil then
        return known
    end
    -- Most strings are ASCII: one pattern search tells.
    local ok = find(s, "[\128-\255]") == nil
    if not ok then
        -- Only non-ASCII bytes are looked at: find skips runs of ASCII at
        -- C speed, so a long string costs little Lua work.
        ok = true
        local i, n = 1, #s
        while true do
            local c = byte(s, i)
            if c == nil then
                break
            elseif c < 0x80 then
                i = find(s, "[\128-\255]", i)
                if i == nil then
                    break
                end
            end
            local w, good = utf8_width(s, i, n)
            if not good then
                ok = false
                break
            end
            i = i + w
        end
    end
    if #s <= UTF8_SHORT then
        if utf8_count >= UTF8_KEEP then
            utf8_checked, utf8_count = {}, 0
        end
        utf8_checked[s], utf8_count = ok, utf8_count + 1
    end
    return ok
end

-- replace_ill_formed returns s with each ill-formed piece replaced by
-- U+FFFD, as Wireshark shows it. Well-formed runs are copied whole, a run of
-- ill-formed pieces becomes one string.rep, and the pieces are joined in
-- blocks, so no table grows with the length of the text.
local function replace_ill_formed(s)
    local blocks, out, np, i, run, n = {}, {}, 0, 1, 1, #s
    while true do
        local c = byte(s, i)
        if c == nil then
            break
        elseif c < 0x80 then
            i = find(s, "[\128-\255]", i)
            if i == nil then
                break
            end
        else
            local w, ok = utf8_width(s, i, n)
            if ok then
                i = i + w
            else
                np = np + 1
                out[np] = sub(s, run, i - 1)
                local count = 0
                repeat
                    count, i = count + 1, i + w
                    c = byte(s, i)
                    if c == nil or c < 0x80 then
                        break
                    elseif c < 0xC2 or c > 0xF4 then
                        w, ok = 1, false -- a byte no character starts with
                    else
                        w, ok = utf8_width(s, i, n)
                    end
                until ok
                np = np + 1
                out[np] = string.rep("\239\191\189", count)
                run = i
                if np >= 4096 then
                    blocks[#blocks + 1] = concat(out)
                    out, np = {}, 0
                end
            end
        end
    end
    out[np + 1] = sub(s, run, n)
    blocks[#blocks + 1] = concat(out)
    return concat(blocks)
end

-- text_show is how Wireshark shows a UTF-8 string: up to the first NUL,
-- with U+FFFD for each piece that is not UTF-8. The last short string
-- shown is remembered: a topic is shown in its item and again in the Info
-- column.
local shown_in, shown_out = nil, ""
local function text_show(s)
    if s == shown_in then
        return shown_out
    end
    local t = s
    local nul = find(t, "\0", 1, true)
    if nul then
        t = sub(t, 1, nul - 1)
    end
    if not valid_utf8(t) then
        t = replace_ill_formed(t)
    end
    if #s <= UTF8_SHORT then
        shown_in, shown_out = s, t
    end
    return t
end

-- The running release, from get_version() ("1.10.14"); nil when it cannot
-- tell. Wireshark 1.x renders a field's exported value (PDML, -T fields)
-- into per-packet memory that refuses any request of EP_CEILING bytes or
-- more, and tshark aborts; so there, and when the release is unknown, no
-- item may carry a value whose text could reach it (export_fit).
local RELEASE = nil
do
    local ok, v = pcall(function() return get_version() end)
    if ok and type(v) == "string" and string.match(v, "^%d+%.") then
        RELEASE = v
    end
end
local EXPORT_LIMITED = RELEASE == nil or tonumber(string.match(RELEASE, "^(%d+)")) < UNLIMITED_SINCE

-- Before 1.12, TvbRange:string() copies the bytes unchanged; later it
-- converts them to UTF-8, so it serves as a byte reader only there.
local STRING_IS_RAW = RELEASE == nil
if RELEASE then
    local major, minor = string.match(RELEASE, "^(%d+)%.(%d+)")
    STRING_IS_RAW = tonumber(major) == 1 and tonumber(minor) < 12
end

-- raw_bytes returns n bytes of tvb at off as a Lua string through Tvb:raw
-- (1.12 and later; not TvbRange:raw, which 3.4 answers with the whole
-- Tvb), or nil where there is no such method.
local has_raw = nil
local function raw_bytes(tvb, off, n)
    if has_raw == false then
        return nil
    end
    local ok, s = pcall(function() return tvb:raw(off, n) end)
    if ok and type(s) == "string" and #s == n then
        has_raw = true
        return s
    end
    has_raw = false
    return nil
end

-- tvb_bytes returns n bytes of tvb as a Lua string: raw_bytes where it
-- works; before 1.12, TvbRange:string() TEXT_CHUNK bytes at a time (each
-- copy a per-packet allocation far below EP_CEILING); one byte at a time
-- only where neither works.
local has_string = nil
if not STRING_IS_RAW then
    has_string = false
end
local function tvb_bytes(tvb, off, n)
    if n <= 0 then
        return ""
    end
    local s = raw_bytes(tvb, off, n)
    if s then
        return s
    end
    if has_string ~= false then
        local t = {}
        local ok = pcall(function()
            local i = 0
            while i < n do
                local m = n - i
                if m > TEXT_CHUNK then
                    m = TEXT_CHUNK
                end
                local piece = tvb(off + i, m):string()
                if type(piece) ~= "string" or #piece ~= m then
                    error("short")
                end
                if has_string == nil then
                    -- Once: the copy must be the bytes themselves.
                    for k = 1, m do
                        if k > 8 then
                            break
                        end
                        if byte(piece, k) ~= tvb(off + i + k - 1, 1):uint() then
                            error("converted")
                        end
                    end
                    has_string = true
                end
                t[#t + 1] = piece
                i = i + m
            end
        end)
        if ok then
            return concat(t)
        end
        has_string = false
    end
    local t = {}
    for i = 0, n - 1 do
        t[i + 1] = char(tvb(off + i, 1):uint())
    end
    return concat(t)
end

-- export_fit returns how many of the n bytes of a value of the field
-- (abbrev, is_text) one item may cover on this release: all of them, except
-- on the releases with EP_CEILING for values whose text could reach it.
-- 1.x exports a value as "<abbrev> == <value>" in filter form: three bytes
-- per byte of FT_BYTES, and for strings at worst 12 per byte (3 bytes of
-- U+FFFD, each escaped as \xNN), plus quotes and a NUL (luagen/limits.go).
-- raw, when given, is the value's bytes: a string is then cut before a
-- UTF-8 continuation byte.
local function export_fit(abbrev, is_text, n, raw)
    if not EXPORT_LIMITED then
        return n
    end
    local k
    if is_text then
        k = floor((EP_CEILING - #abbrev - 8) / 12)
    else
        k = floor((EP_CEILING - #abbrev - 5) / 3)
    end
    if k >= n then
        return n
    end
    if is_text and raw then
        local back = 0
        while back < 3 and k > 0 do
            local c = byte(raw, k + 1)
            if c == nil or c < 0x80 or c >= 0xC0 then
                break
            end
            k, back = k - 1, back + 1
        end
    end
    return k
end

-- The note on an item cut by export_fit.
local EXPORT_NOTE = { group = PI_UNDECODED, severity = PI_NOTE,
    format = "%s has %d bytes: Wireshark %s can export only the first %d of one field (more aborts tshark), so the item covers those" }

-- The bytes being read. Dissection is not reentrant, so the packet being
-- read lives in these upvalues rather than in a table: TVB is the segment,
-- BASE the packet's offset in it, AVAIL how many of its bytes the capture
-- holds. SEG holds the segment's first SEG_END bytes as a Lua string when
-- the segment is small enough to copy (SEG_MAX), so integers are read with
-- string.byte instead of a TvbRange each; past SEG_END (a large reassembled
-- packet, or 1.10 without TvbRange:raw) they are read from TVB.
local SEG_MAX = 262144
local TVB, BASE, AVAIL = nil, 0, 0

-- tree_add is TreeItem:add, taken once per dissector call from its tree
-- (every TreeItem shares it): add(item, ...) is item:add(...) without
-- looking the method up for each item.
local tree_add = nil
local SEG, SEG_END = "", 0

-- segment_read makes tvb the segment being read.
local function segment_read(tvb, total)
    TVB, BASE, SEG, SEG_END = tvb, 0, "", 0
    if total > 0 and total <= SEG_MAX then
        local s = raw_bytes(tvb, 0, total)
        if s then
            SEG, SEG_END = s, total
        end
    end
end

-- tvb_u8 reads the byte at segment offset t.
local function tvb_u8(t)
    if t < SEG_END then
        return byte(SEG, t + 1)
    end
    return TVB(t, 1):uint()
end

-- u8, u16 and u32 read a big-endian integer at packet offset off; the
-- caller has checked that the bytes are there.
local function u8(off)
    local t = BASE + off
    if t < SEG_END then
        return byte(SEG, t + 1)
    end
    return TVB(t, 1):uint()
end

local function u16(off)
    local t = BASE + off
    if t + 2 <= SEG_END then
        local a, b = byte(SEG, t + 1, t + 2)
        return a * 256 + b
    end
    return TVB(t, 2):uint()
end

local function u32(off)
    local t = BASE + off
    if t + 4 <= SEG_END then
        local a, b, c, e = byte(SEG, t + 1, t + 4)
        return ((a * 256 + b) * 256 + c) * 256 + e
    end
    return TVB(t, 4):uint()
end

-- bytes returns the n bytes at packet offset off as a Lua string, cut to
-- what the capture holds. Every read of wire bytes as text goes through
-- here.
local function bytes(off, n)
    if off + n > AVAIL then
        n = AVAIL - off
    end
    if n <= 0 then
        return ""
    end
    local t = BASE + off
    if t + n <= SEG_END then
        return sub(SEG, t + 1, t + n)
    end
    return tvb_bytes(TVB, t, n)
end

-- range returns the TvbRange of n bytes at packet offset off, cut to what
-- the capture holds (a cut capture must not raise "Range is out of bounds").
local function range(off, n)
    if off > AVAIL then
        off = AVAIL
    end
    if n < 0 then
        n = 0
    end
    if off + n > AVAIL then
        n = AVAIL - off
    end
    return TVB(BASE + off, n)
end

-- add_wire adds a string or bytes item whose length comes from the wire
-- (text is its value for a string field, nil for bytes, which Wireshark
-- reads itself). Every such item is added here.
local function add_wire(tree, pf, off, n, text)
    if text then
        return tree_add(tree, pf, range(off, n), text)
    end
    return tree_add(tree, pf, range(off, n))
end

-- The decoder state of the packet being read, one table reset for each
-- packet. Fields: seen (what the connection told the packet: version,
-- assumed, saw_connect), aliases (the connection's topic aliases on the
-- first pass, nil when the packet is read again), dir, as_text, version,
-- proto_level, packet_id, alias, brackets (Info column text), len (as the
-- header declares), pos and limit (next byte and end while the fixed
-- header is read), and why reading stopped (err_*).
local D = {}

-- Notes of the packet, as (item or false, rule, message) triples, attached
-- after the packet is read so they follow the item's own children.
local NOTES, NNOTES = {}, 0

local function note(item, rule, ...)
    local msg = rule.format
    if select("#", ...) > 0 then
        msg = gofmt(rule.format, ...)
    end
    NOTES[NNOTES + 1], NOTES[NNOTES + 2], NOTES[NNOTES + 3] = item or false, rule, msg
    NNOTES = NNOTES + 3
end

-- fail stops the packet at packet offset off: kind is "malformed" (wrong
-- on the wire) or "truncated" (cut by the capture); abbrev names the field.
local function fail(off, abbrev, kind, detail)
    D.pos = off
    D.err_kind, D.err_field, D.err_detail = kind, abbrev or "", detail or ""
    error(STOP, 0)
end

-- need fails for n bytes at pos that are not there: past limit (the end of
-- the packet or property block), or past what the capture holds.
local function need(pos, limit, n, abbrev, what)
    if pos + n > limit then
        fail(pos, abbrev, "malformed", gofmt(REASON.need_bytes, what, n, limit - pos))
    end
    fail(pos, abbrev, "truncated", "")
end

-- add_cut adds the item of a value that runs to the end of its scope (the
-- application message, the rest of a property block after an unknown
-- identifier): n bytes at packet offset off, of the field pf (abbrev;
-- is_text for a string field). Where the release cannot export that much
-- (export_fit) the item covers what it can, with a note saying so, and only
-- those bytes are read. Returns the bytes shown of a string field, else "".
local function add_cut(tree, pf, abbrev, is_text, off, n)
    local k = export_fit(abbrev, is_text, n, nil)
    local raw, item = "", nil
    if is_text then
        if k < n then
            raw = bytes(off, k + 1)
            k = export_fit(abbrev, is_text, n, raw)
            raw = sub(raw, 1, k)
        else
            raw = bytes(off, n)
        end
        item = add_wire(tree, pf, off, k, text_show(raw))
    else
        item = add_wire(tree, pf, off, k)
    end
    if k < n then
        note(item, EXPORT_NOTE, abbrev, n, RELEASE or "(unknown release)", k)
    end
    return raw
end

-- varint reads a variable byte integer (MQTT 5.0 §1.5.5) of at most
-- MAX_VARINT_LENIENT bytes at packet offset off, ending before limit:
-- value, size, error ("truncated" when limit comes first, "malformed" when
-- it never ends).
local function varint(off, limit)
    local v, mult = 0, 1
    for i = 0, MAX_VARINT_LENIENT - 1 do
        if off + i >= limit then
            return 0, 0, "truncated"
        end
        local b = u8(off + i)
        v = v + (b % 128) * mult
        if b < 128 then
            return v, i + 1, nil
        end
        if mult < 562949953421312 then
            mult = mult * 128
        else
            mult = mult * 128.0 -- from 2^56 on a float, never a wrapped integer
        end
    end
    return 0, 0, "malformed"
end

-- field_varint reads a variable byte integer field at pos in a scope that
-- ends at limit, failing as the Go decoder does when it cannot.
local function field_varint(pos, limit, abbrev)
    local lim = limit
    if lim > AVAIL then
        lim = AVAIL
    end
    local v, n, err = varint(pos, lim)
    if err == "truncated" and lim == limit then
        err = "malformed"
    end
    if err then
        fail(pos, abbrev, err, REASON.varint_past_end)
    end
    return v, n
end

-- Aliases change on the first pass only, when Wireshark reads the capture
-- in order; later passes replay what the first one found (seen.alias).
local function set_alias(alias, topic)
    if D.aliases then
        D.aliases[D.dir][alias] = topic
    end
end

local function lookup_alias(alias)
    if D.aliases then
        local topic = D.aliases[D.dir][alias]
        local seen = D.seen
        if seen.shared then
            -- The packet's own copy: it now differs from its neighbours.
            seen = { version = seen.version, assumed = seen.assumed, saw_connect = seen.saw_connect }
            D.seen = seen
            D.keep_seen(seen)
        end
        seen.alias = topic or false
        return topic
    end
    return D.seen.alias or nil
end

-- properties reads an MQTT 5 property block (§2.2.2) at pos: a variable
-- byte integer length, then identifier and value pairs, under a subtree
-- item (pf, label) with the length (pf_len) as its first child. context
-- names the packet for the rules on where a property may appear. Returns
-- the position after the block.
local function properties(tree, pos, limit, pf, label, pf_len, context)
    local start = pos
    local lim = limit
    if lim > AVAIL then
        lim = AVAIL
    end
    local length, n, err = varint(pos, lim)
    if err == "truncated" and lim == limit then
        err = "malformed"
    end
    if err then
        fail(pos, PROPERTY.length.abbrev, err, REASON.props_len_cut)
    end
    if pos + n + length > limit then
        if n > MAX_VARINT then
            note(nil, RULE.long_varint, n)
        end
        fail(pos, PROPERTY.length.abbrev, "malformed", gofmt(REASON.props_past_end,
            length, limit - pos - n))
    end
    local block_end = pos + n + length
    local block = tree_add(tree, pf, range(start, n + length), "")
    block:set_text(label)
    local item = tree_add(block, pf_len, range(pos, n), length)
    if n > MAX_VARINT then
        note(item, RULE.long_varint, n)
    end
    pos = pos + n

    local seen = nil
    while pos < block_end do
        if pos + 1 > AVAIL then
            need(pos, block_end, 1, PROPERTY.id.abbrev, REASON.what_property_id)
        end
        local id = u8(pos)
        local id_item = tree_add(block, PROPERTY.id.pf, range(pos, 1), id)
        pos = pos + 1
        local prop = PROPERTIES[id]
        if prop == nil then
            -- Like Wireshark, take the rest of the block as one string.
            add_cut(block, PROPERTY.unknown.pf, PROPERTY.unknown.abbrev, true, pos, block_end - pos)
            note(id_item, RULE.unknown_property, id)
            if block_end > AVAIL then
                fail(AVAIL, PROPERTY.unknown.abbrev, "truncated", "")
            end
            pos = block_end
            break
        end
        if not prop.allowed[context] then
            note(id_item, RULE.property_not_allowed, prop.name, context)
        end
        if seen == nil then
            seen = {}
        elseif seen[id] and not prop.repeatable then
            note(id_item, RULE.property_repeated, prop.name)
        end
        seen[id] = true
        -- A failure inside names the property when the block ends before
        -- the packet does.
        D.property, D.property_inside = prop.name, block_end < limit
        pos = prop.read(block, pos, block_end)
        D.property = nil
    end
    return pos
end
