-- ---------------------------------------------------------------------------
-- The fixed header (MQTT 5.0 §2.1): its length is read here, its items by
-- the packet type's own function, which then reads the rest.

local function read_packet(d, root)
    if AVAIL < 2 then
        d.len = 2
        fail(0, FIXED.flags.abbrev, "truncated", REASON.short_packet)
    end
    -- Remaining Length (§2.1.4), read leniently as Wireshark does.
    local remaining, n, err = varint(1, AVAIL)
    if err then
        d.len = AVAIL + 1
        if err == "truncated" then
            fail(1, FIXED.length.abbrev, err, REASON.length_cut)
        end
        fail(1, FIXED.length.abbrev, err, REASON.length_no_end)
    end
    d.len = 1 + n + remaining
    if remaining > MAX_REMAINING then
        fail(1, FIXED.length.abbrev, "malformed", gofmt(REASON.length_too_large, remaining))
    end
    d.remaining, d.length_size = remaining, n
    d.pos, d.limit = 1 + n, d.len
    d.packet.dissect(d, root)
    if d.pos < d.limit then
        note(nil, RULE.trailing_bytes, d.limit - d.pos)
        if d.limit > AVAIL then
            fail(d.pos, nil, "truncated", "")
        end
    end
end

-- ---------------------------------------------------------------------------
-- Connection state. Wireshark reads a capture in order once (the first
-- pass, pinfo.visited false) and dissects frames again whenever it shows
-- them; only the first pass changes the state, and what each packet saw is
-- kept for later passes, by frame and by its place among the frame's
-- packets (TCP may hand over a frame's bytes in other pieces the second
-- time, but the packets come in the same order).

local conversations, packets_seen, replays, segment_starts

local function reset_state()
    conversations, packets_seen, replays, segment_starts = {}, {}, {}, {}
end
reset_state()

proto.prefs.default_version = Pref.enum("Default version", V_UNKNOWN,
    "MQTT version of connections whose CONNECT is not in the capture", VERSION_CHOICES, false)
proto.prefs.show_msg_as_text = Pref.bool("Show payload as text", false,
    "Show the message of PUBLISH and the will message as text (" .. P .. ".msg_text) instead of bytes")
proto.prefs.extra_ports = Pref.string("Extra TCP ports", "",
    "More TCP ports to read MQTT on, separated by commas")

-- conversation returns the state of the packet's TCP connection and the
-- index (1 or 2) of its direction. Per direction: unsynced after a header
-- that could not be read or bytes the capture lost (wait for a segment
-- that starts with a packet), skip (bytes of a packet cut by the capture
-- that open the next segment), gap (lost bytes to note on the next packet).
local function conversation(pinfo)
    local a = tostring(pinfo.src) .. "|" .. dec(pinfo.src_port)
    local b = tostring(pinfo.dst) .. "|" .. dec(pinfo.dst_port)
    local key, dir = a .. " " .. b, 1
    if b < a then
        key, dir = b .. " " .. a, 2
    end
    local c = conversations[key]
    if c == nil then
        local v = proto.prefs.default_version
        if not KNOWN[v] then
            v = V_UNKNOWN
        end
        c = { version = v, assumed = v ~= V_UNKNOWN, saw_connect = false, aliases = { {}, {} },
              unsynced = { false, false }, skip = { 0, 0 }, gap = { false, false } }
        conversations[key] = c
    end
    return c, dir
end

-- plausible reports whether a packet can start at off (see PLAUSIBLE).
local function plausible(off, total)
    if total - off < 2 or not PLAUSIBLE[tvb_u8(off)] then
        return false
    end
    for i = 1, MAX_VARINT do
        if off + i >= total then
            return true -- too short to tell
        end
        if tvb_u8(off + i) < 128 then
            return true
        end
    end
    return false
end

-- packet_length returns the length of the packet at segment offset off,
-- "more" when its header is not complete yet, or "bad" when its Remaining
-- Length is not a number it can be.
local function packet_length(off, total)
    if total - off < 2 then
        return nil, "more"
    end
    BASE, AVAIL = 0, total
    local v, n, err = varint(off + 1, total)
    if err == "truncated" then
        return nil, "more"
    elseif err or v > MAX_REMAINING then
        return nil, "bad"
    end
    return 1 + n + v, "ok"
end

-- seen_now returns what the connection tells its next packet. Packets that
-- are told the same share one table, so a capture costs a table per
-- change of state rather than per packet.
local function seen_now(c, gap)
    local s = c.seen
    if gap or s == nil or s.version ~= c.version or s.assumed ~= c.assumed or s.saw_connect ~= c.saw_connect then
        s = { version = c.version, assumed = c.assumed, saw_connect = c.saw_connect, gap = gap, shared = not gap }
        if not gap then
            c.seen = s
        end
    end
    return s
end

-- An expert note for an error of the script itself.
local SCRIPT_ERROR = { group = PI_MALFORMED, severity = PI_ERROR, format = "%s" }

-- What each packet saw is kept by frame: the packet's seen table when the
-- frame has one packet (most frames); when it has more, a table holding
-- their count (n), the first one's seen table (base), and at [i] the seen
-- table of each packet i that saw something else (a gap, a topic alias).
-- A segment of 2,000 packets told the same thing so costs one small
-- table, not a list of 2,000.
local function seen_count(entry)
    if entry == nil then
        return 0
    elseif entry.version ~= nil then
        return 1
    end
    return entry.n
end

-- D.keep_seen replaces the current packet's seen table (see lookup_alias).
function D.keep_seen(seen)
    local entry = packets_seen[D.frame]
    if entry == nil or entry.version ~= nil then
        packets_seen[D.frame] = seen
    else
        entry[D.index] = seen
    end
end

-- dissect_one reads the packet of plen bytes at off (of the segment's
-- total) into the tree and returns its Info column text and its place
-- among the frame's packets. lost is set when the capture cut this packet
-- short by lost bytes.
local function dissect_one(tvb, frame, visited, tree, off, plen, total, c, dir, lost, as_text)
    local d = D
    local entry = packets_seen[frame]
    local count = seen_count(entry)
    local seen, ordinal
    d.aliases = nil
    if visited then
        -- Count the frame's packets again, however often it is dissected.
        local n = replays[frame] or 0
        replays[frame] = n + 1
        if count == 0 then
            ordinal = n
            seen = { version = c.version, assumed = c.assumed, saw_connect = c.saw_connect }
        elseif count == 1 then
            ordinal, seen = 0, entry
        else
            ordinal = n % count
            seen = entry[ordinal + 1] or entry.base
        end
    else
        ordinal = count
        seen = seen_now(c, lost or c.gap[dir])
        if count == 0 then
            packets_seen[frame] = seen
        else
            if count == 1 then
                entry = { n = 1, base = entry }
                packets_seen[frame] = entry
            end
            entry.n = count + 1
            if seen ~= entry.base then
                entry[count + 1] = seen
            end
        end
        d.aliases = c.aliases
        c.gap[dir] = false
    end
    d.frame, d.index = frame, ordinal + 1

    BASE, AVAIL = off, total - off
    if AVAIL > plen then
        AVAIL = plen
    end
    NNOTES = 0
    d.len = plen
    d.seen, d.dir, d.as_text = seen, dir, as_text
    d.version, d.proto_level, d.packet_id, d.alias = seen.version, -1, -1, -1
    d.brackets, d.err_kind, d.property = "", nil, nil
    local packet = PACKETS[floor(u8(0) / TYPE_DIV)]
    d.packet = packet
    local root = tree:add(proto, range(0, plen))
    root:set_text(packet.text)

    local ok, failure = pcall(read_packet, d, root)
    if not ok then
        if failure ~= STOP then
            note(nil, SCRIPT_ERROR, "@FILE@ could not read this packet: " .. tostring(failure))
        elseif d.err_kind == "truncated" then
            note(nil, RULE.truncated, AVAIL, d.len)
        else
            local msg = d.err_kind
            if d.err_detail ~= "" then
                msg = msg .. ": " .. d.err_detail
            end
            if d.property and d.property_inside then
                msg = msg .. " (inside the " .. d.property .. " property)"
            end
            local label = d.err_field
            if label == "" then
                label = "packet"
            end
            note(nil, RULE.malformed, label, msg)
        end
    end
    if seen.gap then
        note(nil, RULE.gap, seen.gap)
    end
    if not visited and d.proto_level >= 0 then
        -- The CONNECT's level applies to both directions from now on.
        c.saw_connect, c.assumed = true, false
        if KNOWN[d.proto_level] then
            c.version = d.proto_level
        else
            c.version = V_UNKNOWN
        end
    end

    for i = 1, NNOTES, 3 do
        local item = NOTES[i] or root
        local rule = NOTES[i + 1]
        item:add_expert_info(rule.group, rule.severity, NOTES[i + 2])
    end

    local info = packet.info
    if d.packet_id >= 0 then
        info = info .. " (id=" .. dec(d.packet_id) .. ")"
    end
    return info .. d.brackets, ordinal
end

-- segment_start returns where the first packet of the segment starts:
-- after the rest of a packet the capture cut short, and not at all (total)
-- while waiting for a segment that starts with a packet.
local function segment_start(key, visited, c, dir, total)
    if visited then
        return segment_starts[key] or 0
    end
    local start = 0
    if c.skip[dir] > 0 then
        start = c.skip[dir]
        if start > total then
            start = total
        end
        c.skip[dir] = c.skip[dir] - start
    end
    if c.unsynced[dir] and start < total then
        if plausible(start, total) then
            c.unsynced[dir] = false
        else
            start = total
        end
    end
    if start > 0 then
        segment_starts[key] = start
    end
    return start
end

-- The Info column texts of the segment's packets, and the place of the
-- first among the frame's packets; written to the column once per segment.
local INFOS, NINFOS, FIRST_ORDINAL = {}, 0, 0

local function add_info(info, ordinal)
    if NINFOS == 0 then
        FIRST_ORDINAL = ordinal
    end
    NINFOS = NINFOS + 1
    INFOS[NINFOS] = info
end

-- dissect_segment reads every packet of the TCP data in tvb, and asks TCP
-- for more data when the last one is not complete.
local function dissect_segment(tvb, pinfo, tree)
    tree_add = tree.add
    local total = tvb:len()
    local c, dir = conversation(pinfo)
    local frame, visited = pinfo.number, pinfo.visited
    segment_read(tvb, total)
    local off = segment_start(frame, visited, c, dir, total)
    if off >= total then
        return total
    end
    -- Bytes of this segment the capture did not keep (snap length).
    local lost = 0
    local okr, reported = pcall(function() return tvb:reported_length_remaining(0) end)
    if okr and type(reported) == "number" and reported > total then
        lost = reported - total
    end
    local can_desegment = lost == 0
    local okc, cd = pcall(function() return pinfo.can_desegment end) -- 1.12 and later
    if okc and cd == 0 then
        can_desegment = false
    end
    local first_pass = not visited
    local as_text = proto.prefs.show_msg_as_text

    while off < total do
        local plen, state = packet_length(off, total)
        if state == "ok" and off + plen <= total then
            add_info(dissect_one(tvb, frame, visited, tree, off, plen, total, c, dir, nil, as_text))
            off = off + plen
        elseif state ~= "bad" and can_desegment then
            pinfo.desegment_offset = off
            if state == "ok" then
                pinfo.desegment_len = off + plen - total
            else
                pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
            end
            return total
        elseif state == "bad" then
            -- A Remaining Length that never ends: read what there is as one
            -- packet, then look for the next one in the next segment.
            add_info(dissect_one(tvb, frame, visited, tree, off, total - off, total, c, dir, nil, as_text))
            if first_pass then
                c.unsynced[dir] = true
                if lost > 0 then
                    c.gap[dir] = lost
                end
            end
            return total
        else
            -- Not all of the packet is in the capture: read what there is.
            local cut = nil
            if lost > 0 then
                cut = lost
            end
            add_info(dissect_one(tvb, frame, visited, tree, off, plen or (total - off), total, c, dir, cut, as_text))
            if first_pass and lost > 0 then
                local rest = -1
                if plen then
                    rest = off + plen - total - lost
                end
                if rest >= 0 then
                    c.skip[dir] = rest
                else
                    c.unsynced[dir] = true
                end
                c.gap[dir] = lost
            end
            return total
        end
    end
    if first_pass and lost > 0 then
        -- Lost bytes between packets: the next segment may start anywhere.
        c.unsynced[dir] = true
        c.gap[dir] = lost
    end
    return total
end

-- write_infos writes the Info column texts of the segment's packets: the
-- frame's first packet sets the column, later ones append to it.
local function write_infos(pinfo)
    if NINFOS == 0 then
        return
    end
    local text = concat(INFOS, ", ", 1, NINFOS)
    pinfo.cols.protocol = SHORT_NAME
    if FIRST_ORDINAL == 0 then
        pinfo.cols.info:set(text)
    else
        pinfo.cols.info:append(", " .. text)
    end
    for i = 1, NINFOS do
        INFOS[i] = nil
    end
    NINFOS = 0
end

-- The dissector never lets a Lua error reach Wireshark: anything
-- unexpected becomes an expert note.
function proto.dissector(tvb, pinfo, tree)
    NINFOS = 0
    local ok, result = pcall(dissect_segment, tvb, pinfo, tree)
    TVB, SEG, SEG_END = nil, "", 0 -- keep no segment past its dissection
    pcall(write_infos, pinfo)
    if ok then
        return result
    end
    pcall(function()
        local item = tree:add(proto, tvb())
        item:add_expert_info(PI_MALFORMED, PI_ERROR, "@FILE@ could not read this segment: " .. tostring(result))
    end)
    return tvb:len()
end

-- ---------------------------------------------------------------------------
-- Registration. Preferences are read when a capture is opened (proto.init);
-- Wireshark 1.12 and later also apply changes at once (prefs_changed).
--
-- Do no harm: where Wireshark has its own MQTT dissector (BUILTIN, 1.12 and
-- later) the TCP ports stay with it unless the take_over preference is on;
-- Decode As (tshark -d tcp.port==1883,PROTO) hands single connections to
-- this one. Where there is none (1.10) the ports are taken by default. A
-- port this dissector takes gets back the dissector it had when released,
-- since DissectorTable:remove empties the entry whoever holds it.

proto.prefs.take_over = Pref.bool("Take over TCP ports from the built-in MQTT dissector", TAKE_OVER or not BUILTIN,
    "Read the TCP ports of this dissector (" .. table.concat(PORTS, ", ") .. ") with it instead of Wireshark's own "
    .. "MQTT dissector, whose mqtt.* filters then match nothing there. Off: use Decode As for single connections.")

local tcp_port = DissectorTable.get("tcp.port")
local held = {} -- port -> the dissector it had before this one took it (false: none)

-- take registers the dissector on port once: a port it already holds is
-- left as it is, so a Decode As the user chose for it later stays.
local function take(port)
    if held[port] ~= nil then
        return
    end
    local ok, prev = pcall(function() return tcp_port:get_dissector(port) end)
    held[port] = (ok and prev) or false
    tcp_port:add(port, proto)
end

local function release(port)
    local prev = held[port]
    if prev == nil then
        return
    end
    held[port] = nil
    if prev then
        pcall(function() tcp_port:add(port, prev) end)
    else
        pcall(function() tcp_port:remove(port, proto) end)
    end
end

local extra_ports = {}

local function apply_prefs()
    for _, port in ipairs(PORTS) do
        if proto.prefs.take_over then
            take(port)
        else
            release(port)
        end
    end
    for _, port in ipairs(extra_ports) do
        release(port)
    end
    extra_ports = {}
    for word in string.gmatch(proto.prefs.extra_ports or "", "%d+") do
        local port = tonumber(word)
        local fixed = false
        for _, p in ipairs(PORTS) do
            fixed = fixed or p == port
        end
        if port > 0 and port < 65536 and not fixed then
            take(port)
            extra_ports[#extra_ports + 1] = port
        end
    end
end

function proto.init()
    reset_state()
    apply_prefs()
end

pcall(function() proto.prefs_changed = apply_prefs end)

-- Listed in Decode As (Wireshark 2.0 and later) whether or not it holds a port.
pcall(function() tcp_port:add_for_decode_as(proto) end)
if TAKE_OVER or not BUILTIN then
    for _, port in ipairs(PORTS) do
        take(port)
    end
end

-- ---------------------------------------------------------------------------
-- MQTT inside TLS (port 8883, MQTT 5.0 §4.2). Where Wireshark has its own
-- MQTT (the name "mqtt" was taken) it already reads 8883 after decryption,
-- and the TLS tables are left to it. Where it has none (1.10), 8883 is
-- handed to TLS (ssl.port in 1.10-2.x, tls.port from 3.0) and the decrypted
-- data to this dissector; TLS honours desegment_len, so packets over
-- several records are joined. No WebSocket subprotocol is registered:
-- Wireshark hands a subprotocol one message at a time and ignores
-- desegment_len there, while real clients (MQTT.js) split one packet over
-- several messages, so the packets shown would be wrong.
-- Elsewhere it is listed in TLS's Decode As, so one run can hand the
-- decrypted data to it (tshark -d tls.port==8883,PROTO), as on TCP.
for _, name in ipairs({ "tls", "ssl" }) do
    local ok, app = pcall(DissectorTable.get, name .. ".port")
    if ok and app then
        if P == "mqtt" then
            pcall(function() app:add(8883, proto) end)
            pcall(function() tcp_port:add(8883, Dissector.get(name)) end)
        else
            pcall(function() app:add_for_decode_as(proto) end)
        end
        break
    end
end
