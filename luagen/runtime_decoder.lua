-- ---------------------------------------------------------------------------
-- The reader. A Decoder reads one MQTT control packet into the tree; the
-- dissect_<type> functions further down call its methods once per element
-- of the packet's layout. It follows mqttdissect's Go decoder step by step,
-- so both show the same fields in the same order with the same notes.
-- Everything is integer arithmetic (no bit operators), and numbers reach
-- text only through dec(), so Lua 5.1 to 5.4 print the same.

local floor, byte, char, concat = math.floor, string.byte, string.char, table.concat
local STOP = {} -- error value: the packet cannot be read to its end

-- dec formats an integer-valued number in decimal (Lua 5.3+ would print
-- 3.0 for a float).
local function dec(v)
    if v >= -9007199254740992 and v <= 9007199254740992 then
        return string.format("%d", v)
    end
    return string.format("%.0f", v)
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

-- band is a & b for non-negative integers.
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

-- valid_utf8 looks at non-ASCII bytes only: string.find skips runs of
-- ASCII at C speed, so a long string costs little Lua work.
local function valid_utf8(s)
    local i, n = 1, #s
    while true do
        local c = byte(s, i)
        if c == nil then
            return true
        elseif c < 0x80 then
            i = string.find(s, "[\128-\255]", i)
            if i == nil then
                return true
            end
        end
        local w, ok = utf8_width(s, i, n)
        if not ok then
            return false
        end
        i = i + w
    end
end

-- text_show is how Wireshark shows a UTF-8 string: up to the first NUL,
-- with U+FFFD for each piece that is not UTF-8.
local function text_show(s)
    local nul = string.find(s, "\0", 1, true)
    if nul then
        s = string.sub(s, 1, nul - 1)
    end
    if valid_utf8(s) then
        return s
    end
    -- Well-formed runs are copied whole, and a run of ill-formed pieces
    -- becomes one string.rep; the pieces are joined in blocks so that no
    -- table grows with the length of the text.
    local blocks, out, np, i, run, n = {}, {}, 0, 1, 1, #s
    while true do
        local c = byte(s, i)
        if c == nil then
            break
        elseif c < 0x80 then
            i = string.find(s, "[\128-\255]", i)
            if i == nil then
                break
            end
        else
            local w, ok = utf8_width(s, i, n)
            if ok then
                i = i + w
            else
                np = np + 1
                out[np] = string.sub(s, run, i - 1)
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
    out[np + 1] = string.sub(s, run, n)
    blocks[#blocks + 1] = concat(out)
    return concat(blocks)
end

-- The running release, from get_version() ("1.10.14"); nil when it cannot
-- tell. Wireshark 1.x renders a field's exported value (PDML, -T fields)
-- into per-packet memory that refuses any request of EP_CEILING bytes or
-- more, and tshark aborts; so there, and when the release is unknown, no
-- item may carry a value whose text could reach it.
local RELEASE = nil
do
    local ok, v = pcall(function() return get_version() end)
    if ok and type(v) == "string" and string.match(v, "^%d+%.") then
        RELEASE = v
    end
end
local EXPORT_LIMITED = RELEASE == nil or tonumber(string.match(RELEASE, "^(%d+)")) < UNLIMITED_SINCE

-- Before 1.12, TvbRange:string() copies the bytes unchanged; later it
-- converts them to UTF-8, so it serves only there.
local STRING_IS_RAW = RELEASE == nil
if RELEASE then
    local major, minor = string.match(RELEASE, "^(%d+)%.(%d+)")
    STRING_IS_RAW = tonumber(major) == 1 and tonumber(minor) < 12
end

-- tvb_bytes returns n bytes of tvb as a Lua string: Tvb:raw from 1.12 on
-- (not TvbRange:raw, which 3.4 answers with the whole Tvb); before,
-- TvbRange:string() TEXT_CHUNK bytes at a time (each copy a per-packet
-- allocation far below EP_CEILING). One byte at a time only where neither
-- works.
local has_raw, has_string = nil, nil
if not STRING_IS_RAW then
    has_string = false
end
local function tvb_bytes(tvb, off, n)
    if n <= 0 then
        return ""
    end
    if has_raw ~= false then
        local ok, s = pcall(function() return tvb:raw(off, n) end)
        if ok and type(s) == "string" and #s == n then
            has_raw = true
            return s
        end
        has_raw = false
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
                local s = tvb(off + i, m):string()
                if type(s) ~= "string" or #s ~= m then
                    error("short")
                end
                if has_string == nil then
                    -- Once: the copy must be the bytes themselves.
                    for k = 1, m do
                        if k > 8 then
                            break
                        end
                        if byte(s, k) ~= tvb(off + i + k - 1, 1):uint() then
                            error("converted")
                        end
                    end
                    has_string = true
                end
                t[#t + 1] = s
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

-- export_fit returns how many of the n bytes of a value of field f one
-- item may cover on this release: all of them, except on the releases
-- with EP_CEILING for values whose text could reach it. 1.x exports a
-- value as "<abbrev> == <value>" in filter form: three bytes per byte of
-- FT_BYTES, and for strings at worst 12 per byte (3 bytes of U+FFFD, each
-- escaped as \xNN), plus quotes and a NUL (luagen/limits.go). raw, when
-- given, is the value's bytes: a string is then cut before a UTF-8
-- continuation byte.
local function export_fit(f, n, raw)
    if not EXPORT_LIMITED then
        return n
    end
    local k = n
    if f.kind == "bytes" then
        k = floor((EP_CEILING - #f.abbrev - 5) / 3)
    elseif f.kind == "string" then
        k = floor((EP_CEILING - #f.abbrev - 8) / 12)
    end
    if k >= n then
        return n
    end
    if f.kind == "string" and raw then
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

local Decoder = {}
Decoder.__index = Decoder

-- new_decoder prepares to read the packet of plen bytes at off in tvb.
-- seen is what the connection told the packet (version, assumed,
-- saw_connect); aliases are the connection's topic aliases on the first
-- pass, nil when the packet is read again.
-- The latest value of each field in the current packet, for conditions on
-- flags. The tables live as long as the script, and a generation number
-- says which entries belong to the current packet, so a packet creates no
-- table for them.
local VALUES, VALUE_GEN, GEN = {}, {}, 0

-- The one decoder, reset for each packet: dissection is not reentrant, and
-- a fresh table per packet (with its string keys) is what costs most time
-- in interpreters such as gopher-lua.
local D = setmetatable({ items = {}, notes = {}, brackets = {} }, Decoder)

local function new_decoder(tvb, off, plen, seen, aliases, dir, as_text)
    local avail = tvb:len() - off
    if avail > plen then
        avail = plen
    end
    GEN = GEN + 1
    local d = D
    d.tvb, d.base, d.avail = tvb, off, avail -- bytes of the packet in the capture
    d.len = plen -- the packet's length as its header declares
    d.pos, d.limit = 0, plen -- next byte, end of the current scope
    d.seen, d.aliases, d.dir, d.as_text = seen, aliases, dir, as_text
    d.version, d.proto_level, d.gen = seen.version, -1, GEN
    -- items holds (abbrev, offset, item) triples in tree order, for
    -- attaching notes to the first item of a field at an offset.
    d.nitems = 0
    if #d.notes > 0 then
        d.notes = {}
    end
    if #d.brackets > 0 then
        d.brackets = {}
    end
    d.alias, d.topic_seen, d.topic_empty, d.topic = -1, false, false, ""
    d.packet_id, d.err, d.packet, d.flags = -1, nil, nil, nil
    return d
end

-- item_at returns the first item of the field with this abbreviation at
-- packet offset off, or nil.
function Decoder:item_at(abbrev, off)
    local items = self.items
    for i = 1, self.nitems, 3 do
        if items[i] == abbrev and items[i + 1] == off then
            return items[i + 2]
        end
    end
    return nil
end

function Decoder:left()
    return self.limit - self.pos
end

function Decoder:version_is(...)
    for i = 1, select("#", ...) do
        if self.version == select(i, ...) then
            return true
        end
    end
    return false
end

-- is_set reports whether the latest value of field f is not 0.
function Decoder:is_set(f)
    return VALUE_GEN[f] == self.gen and VALUES[f] ~= 0
end

-- range returns the TvbRange of n bytes at packet offset off, cut to what
-- the capture holds (a cut capture must not raise "Range is out of bounds").
function Decoder:range(off, n)
    if off > self.avail then
        off = self.avail
    end
    if n < 0 then
        n = 0
    end
    if off + n > self.avail then
        n = self.avail - off
    end
    return self.tvb(self.base + off, n)
end

function Decoder:uint_at(off, n)
    return self.tvb(self.base + off, n):uint()
end

function Decoder:bytes_at(off, n)
    if off + n > self.avail then
        n = self.avail - off
    end
    return tvb_bytes(self.tvb, self.base + off, n)
end

function Decoder:note(rule, field, off, ...)
    local msg = rule.format
    if select("#", ...) > 0 then
        msg = gofmt(rule.format, ...)
    end
    self.notes[#self.notes + 1] = { rule = rule, field = field, off = off, msg = msg }
end

-- fail stops the packet: kind is "malformed" (wrong on the wire) or
-- "truncated" (cut by the capture).
function Decoder:fail(off, f, kind, detail)
    self.pos = off
    self.err = { kind = kind, field = f and f.abbrev or "", detail = detail or "", suffix = "" }
    error(STOP, 0)
end

-- add adds the item of field f for n bytes at off. Integers and text carry
-- their value; bit fields, booleans and bytes are read by Wireshark.
function Decoder:add(tree, f, off, n, value, text)
    local r = self:range(off, n)
    local item
    if f.kind == "string" then
        item = tree:add(f.pf, r, text or "")
    elseif f.kind == "none" then
        item = tree:add(f.pf, r, "")
        item:set_text(f.name)
    elseif f.kind == "uint" and not f.mask then
        item = tree:add(f.pf, r, value)
    else
        item = tree:add(f.pf, r)
    end
    VALUES[f], VALUE_GEN[f] = value or 0, self.gen
    local items, n = self.items, self.nitems
    items[n + 1], items[n + 2], items[n + 3] = f.abbrev, off, item
    self.nitems = n + 3
    return item
end

function Decoder:check_value(f, off, v)
    if not f.values or f.unchecked then
        return
    end
    if f.values[v] == nil then
        if f.kind ~= "bool" then
            self:note(RULE.undefined_value, f.abbrev, off, f.abbrev, v)
        end
    elseif f.reserved and f.reserved[v] then
        self:note(RULE.reserved_value, f.abbrev, off, f.abbrev, v)
    end
end

-- bits adds the bit fields of a flags byte under its item, and names the
-- set ones in the item's text as Wireshark's bitmask items do.
function Decoder:bits(item, bits, off, whole)
    local label = {}
    for _, f in ipairs(bits) do
        local v = floor(band(whole, f.mask) / f.div)
        self:add(item, f, off, 1, v)
        if f.must_be_zero and v ~= 0 then
            self:note(RULE.reserved_bits, f.abbrev, off, f.abbrev)
        end
        self:check_value(f, off, v)
        if f.kind == "bool" then
            if v ~= 0 then
                label[#label + 1] = ", " .. f.name
            end
        elseif f.values and f.values[v] then
            label[#label + 1] = ", " .. f.name .. ": " .. f.values[v]
        end
    end
    if #label > 0 then
        item:append_text(concat(label))
    end
end

-- need checks that n bytes can be read in the current scope.
function Decoder:need(f, n, what)
    if self.pos + n > self.limit then
        self:fail(self.pos, f, "malformed",
            gofmt(REASON.need_bytes, what, n, self.limit - self.pos))
    end
    if self.pos + n > self.avail then
        self:fail(self.pos, f, "truncated", "")
    end
end

-- read_varint reads a variable byte integer (MQTT 5.0 §1.5.5) of at most
-- MAX_VARINT_LENIENT bytes at off in tvb, ending before limit: value, size,
-- error ("truncated" when limit comes first, "malformed" when it never ends).
local function read_varint(tvb, off, limit)
    local v, mult = 0, 1
    for i = 0, MAX_VARINT_LENIENT - 1 do
        if off + i >= limit then
            return 0, 0, "truncated"
        end
        local b = tvb(off + i, 1):uint()
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

function Decoder:varint_at(off, limit)
    return read_varint(self.tvb, self.base + off, self.base + limit)
end

-- integer reads a one-, two- or four-byte integer (size 1, 2, 4) or a
-- variable byte integer (size 0).
function Decoder:integer(tree, e, size)
    local f = e.field
    local v, n
    if size == 0 then
        local limit = self.limit
        if limit > self.avail then
            limit = self.avail
        end
        local err
        v, n, err = self:varint_at(self.pos, limit)
        if err == "truncated" and limit == self.limit then
            err = "malformed"
        end
        if err then
            self:fail(self.pos, f, err, REASON.varint_past_end)
        end
        if n > MAX_VARINT then
            self:note(RULE.long_varint, f.abbrev, self.pos, n)
        end
    else
        self:need(f, size, f.name)
        v, n = self:uint_at(self.pos, size), size
    end
    local off = self.pos
    local item = self:add(tree, f, off, n, v)
    self:check_value(f, off, v)
    if e.bits then
        self:bits(item, e.bits, off, v)
    end
    self.pos = self.pos + n
    self:role(e, off, v, nil)
end

function Decoder:u8(tree, e) self:integer(tree, e, 1) end
function Decoder:u16(tree, e) self:integer(tree, e, 2) end
function Decoder:u32(tree, e) self:integer(tree, e, 4) end
function Decoder:varint(tree, e) self:integer(tree, e, 0) end

-- length_prefixed reads a two-byte length and that many bytes: a UTF-8
-- string or binary data (MQTT 5.0 §1.5.4, §1.5.6). Without a length field
-- the item covers the length too (FT_UINT_STRING).
function Decoder:length_prefixed(tree, e)
    local f = e.field
    if self.as_text and e.text then
        f = e.text
    end
    self:need(e.len or f, 2, REASON.what_length)
    local start = self.pos
    local n = self:uint_at(self.pos, 2)
    if e.len then
        self:add(tree, e.len, self.pos, 2, n)
    end
    self.pos = self.pos + 2
    if self.pos + n > self.limit then
        self.pos = start
        self:fail(start, f, "malformed", gofmt(REASON.string_past_end,
            n, self.limit - start - 2))
    end
    if self.pos + n > self.avail then
        self:fail(self.pos, f, "truncated", "")
    end
    local raw = ""
    if f.kind == "string" or e.check or e.role == "topic" or e.info then
        raw = self:bytes_at(self.pos, n)
    end
    local k = export_fit(f, n, raw)
    local text = nil
    if f.kind == "string" then
        if k < n then
            text = text_show(string.sub(raw, 1, k))
        else
            text = text_show(raw)
        end
    end
    if n == 0 and e.omit_empty then
        -- no item for an empty value, as Wireshark does for a PUBLISH topic
    elseif e.len then
        self:add(tree, f, self.pos, k, 0, text)
    else
        self:add(tree, f, start, k + 2, 0, text)
    end
    if k < n then
        local at = self.pos
        if not e.len then
            at = start
        end
        self:note(EXPORT_NOTE, f.abbrev, at, f.abbrev, n, RELEASE or "(unknown release)", k)
    end
    self:check_text(e, f, self.pos, raw)
    self.pos = self.pos + n
    self:role(e, self.pos - n, n, raw)
end

Decoder.utf8_string = Decoder.length_prefixed
Decoder.binary_data = Decoder.length_prefixed

function Decoder:check_text(e, f, off, raw)
    local check = e.check
    if not check then
        return
    end
    if check.utf8 then
        if not valid_utf8(raw) then
            self:note(RULE.bad_utf8, f.abbrev, off, f.abbrev)
        elseif string.find(raw, "\0", 1, true) then
            self:note(RULE.nul_in_string, f.abbrev, off, f.abbrev)
        end
    end
    if check.non_empty and #raw == 0 then
        self:note(RULE.illegal_topic_length, f.abbrev, off)
    end
    if check.no_wildcard and (string.find(raw, "+", 1, true) or string.find(raw, "#", 1, true)) then
        self:note(RULE.wildcard_in_topic, f.abbrev, off, f.abbrev)
    end
end

-- rest reads every byte left in the packet (the application message).
function Decoder:rest(tree, e)
    local f = e.field
    if self.as_text and e.text then
        f = e.text
    end
    local n = self.limit - self.pos
    local k = export_fit(f, n, nil)
    local raw, text = "", nil
    if f.kind == "string" then
        -- Only the bytes the item shows are read.
        if k < n then
            raw = self:bytes_at(self.pos, k + 1)
            k = export_fit(f, n, raw)
            raw = string.sub(raw, 1, k)
        else
            raw = self:bytes_at(self.pos, n)
        end
        text = text_show(raw)
    end
    self:add(tree, f, self.pos, k, 0, text)
    if k < n then
        self:note(EXPORT_NOTE, f.abbrev, self.pos, f.abbrev, n, RELEASE or "(unknown release)", k)
    end
    self:role(e, self.pos, 0, raw)
    if self.limit > self.avail then
        self:fail(self.avail, f, "truncated", "")
    end
    self.pos = self.limit
end

-- properties reads an MQTT 5 property block (§2.2.2): a variable byte
-- integer length, then identifier and value pairs, under a subtree.
function Decoder:properties(tree, e)
    local start = self.pos
    local limit = self.limit
    if limit > self.avail then
        limit = self.avail
    end
    local length, n, err = self:varint_at(self.pos, limit)
    if err == "truncated" and limit == self.limit then
        err = "malformed"
    end
    if err then
        self:fail(self.pos, PROPERTY.length, err, REASON.props_len_cut)
    end
    if n > MAX_VARINT then
        self:note(RULE.long_varint, PROPERTY.length.abbrev, self.pos, n)
    end
    if self.pos + n + length > self.limit then
        self:fail(self.pos, PROPERTY.length, "malformed", gofmt(REASON.props_past_end,
            length, self.limit - self.pos - n))
    end
    local block_end = self.pos + n + length
    local sub = self:add(tree, e.field, start, n + length)
    self:add(sub, e.len, self.pos, n, length)
    self.pos = self.pos + n

    local outer = self.limit
    self.limit = block_end
    local seen = {}
    while self.pos < self.limit do
        self:need(PROPERTY.id, 1, REASON.what_property_id)
        local id_off = self.pos
        local id = self:uint_at(self.pos, 1)
        self:add(sub, PROPERTY.id, self.pos, 1, id)
        self.pos = self.pos + 1
        local prop = PROPERTIES[id]
        if prop == nil then
            -- Like Wireshark, take the rest of the block as one string.
            local n = self.limit - self.pos
            local raw = self:bytes_at(self.pos, n)
            local k = export_fit(PROPERTY.unknown, n, raw)
            self:add(sub, PROPERTY.unknown, self.pos, k, 0, text_show(string.sub(raw, 1, k)))
            if k < n then
                self:note(EXPORT_NOTE, PROPERTY.unknown.abbrev, self.pos, PROPERTY.unknown.abbrev, n,
                    RELEASE or "(unknown release)", k)
            end
            self:note(RULE.unknown_property, PROPERTY.id.abbrev, id_off, id)
            if self.limit > self.avail then
                self:fail(self.avail, PROPERTY.unknown, "truncated", "")
            end
            self.pos = self.limit
            break
        end
        if not prop.allowed[e.context] then
            self:note(RULE.property_not_allowed, PROPERTY.id.abbrev, id_off, prop.name, e.context)
        end
        if seen[id] and not prop.repeatable then
            self:note(RULE.property_repeated, PROPERTY.id.abbrev, id_off, prop.name)
        end
        seen[id] = true
        local ok, failure = pcall(prop.read, self, sub, prop)
        if not ok then
            if failure == STOP and self.err.kind == "malformed" and block_end < outer then
                self.err.suffix = self.err.suffix .. " (inside the " .. prop.name .. " property)"
            end
            self.limit = outer
            error(failure, 0)
        end
    end
    self.limit = outer
end

-- alias_topic shows the topic a v5 Topic Alias stands for (§3.3.2.3.4),
-- and remembers the aliases a sender sets, per direction. The topic in use
-- (from the name or the alias) then goes to the Info column.
function Decoder:alias_topic(tree, e)
    if e.role ~= "alias_topic" or not self.topic_seen then
        return
    end
    if self.alias >= 0 and not self.topic_empty then
        self:set_alias(self.alias, self.topic)
    elseif self.alias >= 0 then
        local topic = self:lookup_alias(self.alias)
        if topic == nil then
            self:note(RULE.unknown_topic_alias, ALIAS.alias.abbrev, self.pos)
        else
            local k = export_fit(e.field, #topic, topic)
            local item = self:add(tree, e.field, self.pos, 0, 0, text_show(string.sub(topic, 1, k)))
            item:set_generated()
            if k < #topic then
                self:note(EXPORT_NOTE, e.field.abbrev, self.pos, e.field.abbrev, #topic,
                    RELEASE or "(unknown release)", k)
            end
            self.topic = topic
        end
    elseif self.topic_empty then
        self:note(RULE.illegal_topic_length, ALIAS.topic.abbrev, self.pos)
    end
    self:role(e, self.pos, 0, self.topic)
end

-- Aliases change on the first pass only, when Wireshark reads the capture
-- in order; later passes replay what the first one found (seen.alias).
function Decoder:set_alias(alias, topic)
    if self.aliases then
        self.aliases[self.dir][alias] = topic
    end
end

function Decoder:lookup_alias(alias)
    if self.aliases then
        local topic = self.aliases[self.dir][alias]
        self.seen.alias = topic or false
        return topic
    end
    return self.seen.alias or nil
end

-- entries iterates over a list that runs to the end of the packet, which
-- must hold at least one entry (§3.8.3, §3.9.3, §3.10.3, §3.11.3).
function Decoder:entries()
    if self.pos >= self.limit then
        self:note(RULE.missing_payload, "", self.pos, self.packet.name)
    end
    local last = nil
    return function()
        if self.pos >= self.limit or self.pos == last then
            return nil
        end
        last = self.pos
        return true
    end
end

-- role records what an element's value means beyond its own item.
function Decoder:role(e, off, v, raw)
    local role = e.role
    if role == "version" then
        self.proto_level = v
        self.version = v
        if not KNOWN[v] then
            self:note(RULE.unknown_level, e.field.abbrev, off, v)
            self.version = V_UNKNOWN
        end
    elseif role == "packet_id" then
        self.packet_id = v
    elseif role == "topic" then
        self.topic = raw
        self.topic_seen, self.topic_empty = true, #raw == 0
    elseif role == "topic_alias" then
        self.alias = v
    end
    if e.check and e.check.non_zero and v == 0 then
        self:note(RULE.zero_packet_id, e.field.abbrev, off, e.field.abbrev)
    end
    if e.info == "bracket" then
        -- Columns take UTF-8 text: shown as the item shows it.
        self.brackets[#self.brackets + 1] = " [" .. text_show(raw) .. "]"
    end
end
