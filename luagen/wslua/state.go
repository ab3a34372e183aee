package wslua

import (
	"fmt"
	"io"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Options configure a State.
type Options struct {
	// Profile selects the imitated Wireshark release; zero means Profile40.
	Profile Profile
	// CallSteps bounds the work of one dissector call (and of each
	// init/prefs_changed call), in Lua instructions; the work of library
	// functions written in Go (pattern matching, string.rep, table.concat,
	// ...) is charged as instructions too. 0 means DefaultCallSteps.
	CallSteps int64
	// LoadSteps bounds the work of loading a script; 0 means
	// DefaultLoadSteps.
	LoadSteps int64
	// MemoryLimit bounds the memory the script holds, in bytes (measured as
	// the growth of the Go heap since the state was created); exceeding it
	// is a Lua error. 0 means DefaultMemoryLimit.
	MemoryLimit int64
	// Stdout receives print() and io.write output; nil discards it.
	Stdout io.Writer
	// NegativeReturnDesegments makes a negative return value from the
	// dissector act like pinfo.desegment_len = -ret. Wireshark's TCP
	// dissector (checked against tshark 4.0.17) ignores the sign, so the
	// default is false.
	NegativeReturnDesegments bool
	// ExtraProtocols lists built-in protocol names ("name" or
	// "name=Description") that Proto() must treat as already registered, in
	// addition to the emulator's small built-in list.
	ExtraProtocols []string
}

// State is one emulated Wireshark Lua environment.
type State struct {
	L    *lua.LState
	prof Profile
	opts Options
	out  io.Writer

	budget *budget
	// caught are the runtime errors the script caught itself (pcall)
	// during the current call; errorRaised is the value last given to
	// error(), to tell deliberate errors from runtime ones.
	caught      []*LuaError
	errorRaised lua.LValue
	resumeDepth int

	protos      []*Proto
	protoByName map[string]*Proto // lower-case filter name
	builtinName map[string]bool   // filter and short names of built-in protocols
	builtinDesc map[string]bool
	fieldsByAbb map[string]*Field // committed fields
	allFields   []*Field          // committed, in registration order
	tables      map[string]*dissectorTable
	postdiss    []*Proto
	initDone    bool

	// allocation slabs
	rangeSlab []TvbRange
	treeSlab  []treeItem
	childSlab []*Item
	lbuf      []byte

	// per-call state
	cur         *dissection
	lastMissing string

	// metatables
	mtTvb, mtRange, mtTree, mtPinfo, mtCols, mtCol, mtProto, mtField *lua.LTable
	mtPrefs, mtPref, mtExpert, mtAddr, mtBA, mtDT, mtDissector       *lua.LTable
	mtU64, mtI64, mtFieldEx                                          *lua.LTable

	protoFunc *lua.LFunction // the 1.10 Proto function
	pluginInf *lua.LTable
}

// New creates a State for the options' profile.
func New(opts Options) *State {
	if opts.Profile.IsZero() {
		opts.Profile = Profile40
	}
	if opts.CallSteps <= 0 {
		opts.CallSteps = DefaultCallSteps
	}
	if opts.LoadSteps <= 0 {
		opts.LoadSteps = DefaultLoadSteps
	}
	if opts.MemoryLimit <= 0 {
		opts.MemoryLimit = DefaultMemoryLimit
	}
	s := &State{
		prof:        opts.Profile,
		opts:        opts,
		out:         opts.Stdout,
		protoByName: map[string]*Proto{},
		builtinName: map[string]bool{},
		builtinDesc: map[string]bool{},
		fieldsByAbb: map[string]*Field{},
		tables:      map[string]*dissectorTable{},
	}
	if s.out == nil {
		s.out = io.Discard
	}
	for _, b := range builtinProtocols(s.prof) {
		s.addBuiltin(b)
	}
	for _, b := range opts.ExtraProtocols {
		s.addBuiltin(b)
	}
	for _, name := range []string{"tcp.port", "udp.port", "tcp.proto", "ethertype", "ip.proto", "sctp.port", "sctp.ppi"} {
		s.tables[name] = &dissectorTable{name: name, entries: map[uint32]*Proto{}}
	}
	s.L = lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 256, RegistrySize: 1024 * 4, RegistryMaxSize: 1024 * 256})
	s.budget = newBudget(opts.MemoryLimit)
	s.L.SetContext(&luaCtx{b: s.budget, L: s.L})
	s.openLibs()
	s.registerAPI()
	s.boundAPI()
	if s.prof.lua == 54 {
		s.registerFloat54()
	}
	return s
}

func (s *State) addBuiltin(b string) {
	name, desc, _ := strings.Cut(b, "=")
	s.builtinName[strings.ToLower(name)] = true
	s.builtinName[strings.ToUpper(name)] = true
	if desc != "" {
		s.builtinDesc[desc] = true
	}
}

// builtinProtocols is a small list of Wireshark's own protocols a script may
// collide with (filter name = description).
func builtinProtocols(p Profile) []string {
	l := []string{
		"frame=Frame", "eth=Ethernet II", "ip=Internet Protocol Version 4", "ipv6=Internet Protocol Version 6",
		"tcp=Transmission Control Protocol", "udp=User Datagram Protocol", "data=Data", "http=Hypertext Transfer Protocol",
		"dns=Domain Name System", "tls=Transport Layer Security", "ssl=Secure Sockets Layer", "arp=Address Resolution Protocol",
		"icmp=Internet Control Message Protocol", "sctp=Stream Control Transmission Protocol", "websocket=WebSocket",
		"amqp=Advanced Message Queuing Protocol", "mqttsn=MQ Telemetry Transport Protocol for Sensor Networks",
		"coap=Constrained Application Protocol", "xml=eXtensible Markup Language", "json=JavaScript Object Notation",
	}
	if p.atLeast(112) {
		l = append(l, "mqtt=MQ Telemetry Transport Protocol")
	}
	return l
}

// Profile returns the state's profile.
func (s *State) Profile() Profile { return s.prof }

// Close releases the Lua state.
func (s *State) Close() {
	s.budget.close()
	s.L.Close()
}

// Load compiles and runs a dissector script, then registers (commits) the
// fields of the protocols it created, as Wireshark does after loading its
// scripts. chunk names the script in error messages (Wireshark uses the
// file path). The dialect check runs first: Lua 5.1 profiles reject goto,
// labels, // and bit operators; Lua 5.2 profiles reject // and bit
// operators.
func (s *State) Load(chunk string, src []byte) error {
	switch s.prof.lua {
	case 51:
		if err := CheckSyntax51(chunk, src); err != nil {
			return &LuaError{Message: err.Error()}
		}
	case 52:
		if err := CheckSyntax52(chunk, src); err != nil {
			return &LuaError{Message: err.Error()}
		}
	}
	chunkAST, err := parse.Parse(strings.NewReader(string(src)), chunk)
	if err != nil {
		return &LuaError{Message: strings.TrimSpace(err.Error())}
	}
	fixMultiAssign(chunkAST) // gopher-lua miscompiles `a, b = b, a`
	if s.prof.lua == 54 {
		float54{}.block(chunkAST, nil)
	}
	proto, err := lua.Compile(chunkAST, chunk)
	if err != nil {
		return &LuaError{Message: strings.TrimSpace(err.Error())}
	}
	fn := s.L.NewFunctionFromProto(proto)
	s.lastMissing = ""
	s.L.Push(fn)
	if lerr := s.pcall(0, 0, s.opts.LoadSteps, 0, "while loading"); lerr != nil {
		return lerr
	}
	return s.commit()
}

// LoadFile is Load with a file's contents; the chunk is named by the path.
func (s *State) LoadFile(path string, src []byte) error { return s.Load(path, src) }

// pcall runs the function and args pushed on the stack under the budget and
// converts a failure into a LuaError. what says where the call is ("while
// loading", "in mqtt.init"); frame > 0 names the frame instead.
func (s *State) pcall(nargs, nret int, steps int64, frame int, what string) *LuaError {
	outer := s.budget.arm(steps)
	err := s.L.PCall(nargs, nret, nil)
	var hit Limit
	if outer {
		hit = s.budget.disarm()
	}
	if err == nil && hit == "" {
		return nil
	}
	le := &LuaError{Frame: frame}
	if err == nil {
		le.Message = string(hit)
	} else if ae, ok := err.(*lua.ApiError); ok {
		if ae.Object != nil {
			le.Message = ae.Object.String()
			if ae.Object.Type() == lua.LTNil {
				le.Message = "nil"
			}
		} else {
			le.Message = ae.Error()
		}
		le.Traceback = ae.StackTrace
	} else {
		le.Message = err.Error()
	}
	if frame > 0 {
		what = fmt.Sprintf("in frame %d", frame)
	}
	if hit != "" {
		// Name the script's line where the limit was crossed, not the line
		// of a pcall/error wrapper that caught and raised it again.
		le.Limit = hit
		le.Where = s.budget.where
		if s.budget.trace != "" {
			le.Traceback = s.budget.trace
		}
		at := ""
		if le.Where != "" {
			at = " at " + le.Where
		}
		switch hit {
		case LimitMemory:
			le.Message = fmt.Sprintf("wslua: script exceeded its memory limit of %d MiB %s%s", s.opts.MemoryLimit>>20, what, at)
		default:
			le.Message = fmt.Sprintf("wslua: script exceeded its budget of %d Lua instructions %s%s (endless loop?)", steps, what, at)
		}
		return le
	}
	le.Where = errorPosition(le.Message)
	if s.lastMissing != "" && (strings.Contains(le.Message, "nil") || strings.Contains(le.Message, "non-function")) {
		le.Message += "; " + s.lastMissing
	}
	return le
}

// errorPosition returns the "chunk:line" prefix of a Lua error message.
func errorPosition(msg string) string {
	i := strings.Index(msg, ": ")
	if i < 0 {
		return ""
	}
	pos := msg[:i]
	c := strings.LastIndexByte(pos, ':')
	if c < 0 || c == len(pos)-1 {
		return ""
	}
	for _, r := range pos[c+1:] {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return pos
}

// ---------------------------------------------------------------------------
// Registry view

// ProtoInfo describes a registered Lua protocol.
type ProtoInfo struct {
	Name         string // filter name (lower case), e.g. "mqttx"
	ShortName    string // upper-cased name, what proto.name returns
	Description  string
	HasDissector bool
	HasInit      bool
	Fields       []*Field
	Experts      []*ExpertInfo
	Prefs        []*Pref
}

// Protos returns the protocols the scripts created, in creation order.
func (s *State) Protos() []ProtoInfo {
	out := make([]ProtoInfo, 0, len(s.protos))
	for _, p := range s.protos {
		pi := ProtoInfo{Name: p.name, ShortName: p.short, Description: p.desc, HasDissector: p.dissector != nil, HasInit: p.init != nil}
		pi.Fields = append(pi.Fields, p.committed...)
		pi.Experts = append(pi.Experts, p.committedEx...)
		pi.Prefs = append(pi.Prefs, p.prefs...)
		out = append(out, pi)
	}
	return out
}

// Fields returns every registered ProtoField, in registration order.
func (s *State) Fields() []*Field { return append([]*Field(nil), s.allFields...) }

// Field returns the registered field with the abbrev, or nil.
func (s *State) Field(abbrev string) *Field { return s.fieldsByAbb[abbrev] }

// PortBinding is one DissectorTable entry a script added.
type PortBinding struct {
	Table string // "tcp.port", "udp.port", ...
	Port  uint32
	Proto string // filter name
}

// Ports returns the entries of all dissector tables, sorted.
func (s *State) Ports() []PortBinding {
	var out []PortBinding
	for _, t := range s.tables {
		for port, p := range t.entries {
			out = append(out, PortBinding{t.name, port, p.name})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Port < out[j].Port
	})
	return out
}

// TCPPorts returns the ports the scripts added to "tcp.port".
func (s *State) TCPPorts() []uint32 {
	var out []uint32
	for port := range s.tables["tcp.port"].entries {
		out = append(out, port)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Prefs returns all preferences of all protocols.
func (s *State) Prefs() []*Pref {
	var out []*Pref
	for _, p := range s.protos {
		out = append(out, p.prefs...)
	}
	return out
}

// SetPref sets a preference like tshark's -o "proto.name:value" (name is
// "proto.name"), then calls the protocol's prefs_changed callback (on
// profiles that have it) if the value changed.
func (s *State) SetPref(name, value string) error {
	pname, key, ok := strings.Cut(name, ".")
	if !ok {
		return fmt.Errorf("wslua: preference name %q must be proto.name", name)
	}
	p := s.protoByName[strings.ToLower(pname)]
	if p == nil {
		return fmt.Errorf("wslua: no protocol %q for preference %q", pname, name)
	}
	var pref *Pref
	for _, x := range p.prefs {
		if x.Name == key {
			pref = x
		}
	}
	if pref == nil {
		return fmt.Errorf("wslua: protocol %q has no preference %q", pname, key)
	}
	changed, err := pref.set(value)
	if err != nil {
		return err
	}
	if changed && p.prefsChanged != nil && s.prof.atLeast(112) {
		s.lastMissing = ""
		s.L.Push(p.prefsChanged)
		if lerr := s.pcall(0, 0, s.opts.CallSteps, 0, "in prefs_changed"); lerr != nil {
			return lerr
		}
	}
	return nil
}

// Init calls every protocol's init function (Wireshark does this when a
// capture file is opened). The Conn driver calls it once automatically
// before the first dissection; call it again to start a new capture.
func (s *State) Init() error {
	s.initDone = true
	for _, p := range s.protos {
		if p.init == nil {
			continue
		}
		s.lastMissing = ""
		s.L.Push(p.init)
		if lerr := s.pcall(0, 0, s.opts.CallSteps, 0, "in "+p.name+".init"); lerr != nil {
			return lerr
		}
	}
	return nil
}

// DissectorFor returns the filter name of the Lua protocol registered on
// tcp.port for the port, or "".
func (s *State) DissectorFor(port uint32) string {
	if p := s.tables["tcp.port"].entries[port]; p != nil {
		return p.name
	}
	return ""
}
