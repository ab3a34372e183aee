-- wsmock.lua: a small stand-in for Wireshark's Lua API, enough to run the
-- generated mqtt.lua under a plain Lua interpreter (5.1 to 5.4) in tests.
--
--   lua wsmock.lua DISSECTOR SEGMENTS MODE [PREF=VALUE...]
--
-- SEGMENTS is a Lua file returning a list of TCP segments in capture order
-- ({ frame, src, sport, dst, dport, hex }). MODE is "1.10" (no TvbRange:raw,
-- no pinfo.can_desegment) or "4.0". The mock reassembles each direction the
-- way TCP does for a dissector that sets pinfo.desegment_offset/len, runs a
-- first pass and a second (pinfo.visited) pass, and prints for each pass
-- every MQTT packet (fields with depth, size and shown value; expert infos)
-- and the Info column of each frame.

local dissector_path, segments_path, mode = arg[1], arg[2], arg[3]
local floor = math.floor

local function integral(v, what)
    if type(v) ~= "number" or v ~= floor(v) then
        error(what .. ": not an integer: " .. tostring(v), 3)
    end
    return v
end

local function dec(v)
    return string.format("%d", integral(v, "dec"))
end

base = { NONE = 0, DEC = 1, HEX = 2, OCT = 3, DEC_HEX = 4, HEX_DEC = 5 }
PI_CHECKSUM, PI_SEQUENCE, PI_PROTOCOL, PI_MALFORMED = 0x01000000, 0x02000000, 0x09000000, 0x07000000
PI_UNDECODED = 0x05000000
PI_CHAT, PI_NOTE, PI_WARN, PI_ERROR = 0x00200000, 0x00400000, 0x00600000, 0x00800000
DESEGMENT_ONE_MORE_SEGMENT = 0x0FFFFFFF
ENC_UTF_8, ENC_ASCII, ENC_BIG_ENDIAN = 2, 0, 0

-- Protocols and fields ------------------------------------------------------

local protos = {}
function Proto(name, desc)
    if type(name) ~= "string" or type(desc) ~= "string" then
        error("Proto: bad arguments")
    end
    if protos[name] then
        error("Proto_new: there cannot be two protocols with the same name")
    end
    local p = { name = name, description = desc, prefs = {} }
    protos[name] = p
    return p
end

local function newfield(kind, abbr, name, display, vs, mask)
    if type(abbr) ~= "string" or type(name) ~= "string" then
        error("ProtoField." .. kind .. ": abbr and name must be strings")
    end
    if mask ~= nil then
        integral(mask, "mask")
    end
    return { kind = kind, abbr = abbr, name = name, display = display, vs = vs, mask = mask }
end

ProtoField = {}
for _, k in ipairs({ "uint8", "uint16", "uint32" }) do
    ProtoField[k] = function(abbr, name, display, vs, mask)
        if display ~= base.DEC and display ~= base.HEX then
            error("ProtoField." .. k .. ": Base must be either base.DEC or base.HEX")
        end
        return newfield(k, abbr, name, display, vs, mask)
    end
end
function ProtoField.bool(abbr, name, display, tfs, mask)
    if (mask == nil or mask == 0) ~= (display == base.NONE) then
        error("ProtoField.bool: display must be base.NONE exactly when there is no mask")
    end
    return newfield("bool", abbr, name, display, tfs, mask)
end
function ProtoField.string(abbr, name, extra)
    if extra ~= nil then
        error("ProtoField.string: 1.10 takes (abbr, name, desc) and 4.x (abbr, name, display, desc)")
    end
    return newfield("string", abbr, name)
end
function ProtoField.bytes(abbr, name, extra)
    if extra ~= nil then
        error("ProtoField.bytes: no third argument")
    end
    return newfield("bytes", abbr, name)
end

Pref = {}
function Pref.enum(label, default) return integral(default, "Pref.enum") end
function Pref.bool(label, default) return default end
function Pref.string(label, default) return default end

local tcp_port = {}
DissectorTable = {}
function DissectorTable.get(name)
    if name ~= "tcp.port" then
        error("no table " .. name)
    end
    return {
        add = function(_, port, proto)
            if type(proto) ~= "table" or proto.dissector == nil then
                error("a Protocol that does not have a dissector cannot be added to a table")
            end
            tcp_port[integral(port, "port")] = proto
        end,
        remove = function(_, port) tcp_port[port] = nil end,
    }
end

-- Tvb and TvbRange ----------------------------------------------------------

local Range = {}
Range.__index = Range

local function new_range(data, off, len)
    integral(off, "range offset")
    integral(len, "range length")
    if off < 0 or len < 0 or off + len > #data then
        error("Range is out of bounds", 2)
    end
    return setmetatable({ data = data, off = off, n = len }, Range)
end

function Range:len() return self.n end
function Range:uint()
    if self.n < 1 or self.n > 4 then
        error("TvbRange:uint() does not handle " .. self.n .. " byte integers")
    end
    local v = 0
    for i = 1, self.n do
        v = v * 256 + string.byte(self.data, self.off + i)
    end
    return v
end
function Range:bytes_string() return string.sub(self.data, self.off + 1, self.off + self.n) end
if mode ~= "1.10" then
    function Range:raw() return self:bytes_string() end
else
    -- 1.10 copies the bytes unchanged (tvb_get_ephemeral_string).
    function Range:string() return self:bytes_string() end
end

function get_version()
    if mode == "1.10" then
        return "1.10.14"
    end
    return "4.0.17"
end

local function new_tvb(data, lost)
    local t = { data = data }
    return setmetatable(t, {
        __index = {
            len = function() return #data end,
            raw = mode ~= "1.10" and function(_, off, len)
                return new_range(data, off, len):bytes_string()
            end or nil,
            reported_length_remaining = function(_, off) return #data + lost - (off or 0) end,
        },
        __call = function(_, off, len)
            off = off or 0
            len = len or (#data - off)
            return new_range(data, off, len)
        end,
    })
end

-- Tree ----------------------------------------------------------------------

local out = {}
local function emit(s) out[#out + 1] = s end
current_frame, prefix = 0, "mqtt"

local function band(a, b)
    local r, bit = 0, 1
    while a > 0 and b > 0 do
        if a % 2 == 1 and b % 2 == 1 then r = r + bit end
        a, b, bit = floor(a / 2), floor(b / 2), bit * 2
    end
    return r
end

local hexwidth = { uint8 = 2, uint16 = 4, uint32 = 8 }

local function show(f, range, value)
    if f.kind == "string" then
        if type(value) ~= "string" then
            error("string field " .. f.abbr .. " added without a text value")
        end
        return value
    elseif f.kind == "bytes" then
        local s, parts = range:bytes_string(), {}
        for i = 1, #s do parts[i] = string.format("%02x", string.byte(s, i)) end
        return table.concat(parts, ":")
    end
    local v = value
    if v == nil then
        v = range:uint()
        if f.mask then
            local div = 1
            while band(f.mask, div) == 0 do div = div * 2 end
            v = floor(band(v, f.mask) / div)
        end
    elseif f.mask then
        error("masked field " .. f.abbr .. " added with a value")
    end
    integral(v, f.abbr)
    if f.kind == "bool" then
        if value ~= nil then
            error("boolean " .. f.abbr .. " added with a value (1.10 takes any number as true)")
        end
        return v ~= 0 and "1" or "0"
    end
    if f.display == base.HEX then
        return string.format("0x%0" .. hexwidth[f.kind] .. "x", v)
    end
    return dec(v)
end

local Item = {}
Item.__index = Item
local depth_of_root = -1

function Item:add(f, range, value)
    if type(f) ~= "table" or range == nil then
        error("TreeItem:add: bad arguments")
    end
    local item = setmetatable({ depth = self.depth + 1 }, Item)
    if f.kind == nil then -- the protocol
        emit("pdu " .. current_frame)
        item.depth = depth_of_root
        return item
    end
    local node = { depth = item.depth, abbr = "mqtt." .. string.match(f.abbr, "^[^.]*%.(.*)$"),
        size = range.n, show = show(f, range, value) }
    emit(node)
    item.node = node
    return item
end
function Item:set_text(s) if type(s) ~= "string" then error("set_text") end end
function Item:append_text(s) if type(s) ~= "string" then error("append_text") end end
function Item:set_generated() end

function Item:add_expert_info(group, severity, text)
    if type(text) ~= "string" then error("add_expert_info: no text") end
    local plain = string.gsub(prefix, "%W", "%%%0")
    emit("n " .. (string.gsub(text, plain .. "%.", "mqtt.")))
end

-- Run -----------------------------------------------------------------------

dofile(dissector_path)
local proto = nil
for _, p in pairs(protos) do proto = p end
prefix = proto.name
for i = 4, #arg do
    local k, v = string.match(arg[i], "^([%w_]+)=(.*)$")
    if v == "true" then v = true elseif tonumber(v) then v = tonumber(v) end
    proto.prefs[k] = v
end

local function unhex(h)
    return (string.gsub(h, "%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local segments = dofile(segments_path)

local function pass(visited)
    if not visited then
        proto.init() -- Wireshark calls it when a capture is opened, not between passes
    end
    local pending = {}
    local info = {}
    for _, s in ipairs(segments) do
        local p = tcp_port[s.dport] or tcp_port[s.sport]
        if p then
            local key = s.src .. ":" .. s.sport
            local lost = s.lost or 0
            local data = unhex(s.hex)
            if lost == 0 then
                data = (pending[key] or "") .. data
            end
            local text = nil
            local pinfo = {
                number = s.frame, src = s.src, dst = s.dst, src_port = s.sport, dst_port = s.dport,
                visited = visited, desegment_offset = 0, desegment_len = 0,
                cols = { info = {
                    set = function(_, t) text = t end,
                    append = function(_, t) text = (text or "") .. t end,
                } },
            }
            if mode ~= "1.10" then
                -- TCP reassembles only segments that were captured whole.
                pinfo.can_desegment = (lost == 0) and 1 or 0
            end
            current_frame = s.frame
            local consumed = p.dissector(new_tvb(data, lost), pinfo, setmetatable({ depth = -2 }, Item))
            integral(consumed, "dissector result")
            if pinfo.desegment_len > 0 and lost == 0 then
                pending[key] = string.sub(data, pinfo.desegment_offset + 1)
            else
                pending[key] = nil
            end
            if text then
                info[#info + 1] = "info " .. s.frame .. " " .. text
            end
        end
    end
    for _, l in ipairs(info) do emit(l) end
end

emit("pass 1")
pass(false)
emit("pass 2")
pass(true)
for i, e in ipairs(out) do
    if type(e) == "table" then
        out[i] = string.format("f %d %s %d %s", e.depth, e.abbr, e.size, e.show)
    end
end
io.write(table.concat(out, "\n"), "\n")
