package wslua

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Default limits. The instruction budgets measure work, not time, so a
// verdict on a script does not depend on how busy the machine is. The
// generated mqtt.lua needs about 4,500 instructions per MQTT packet; a
// segment carrying 2,000 packets (the most seen in real captures) is ~9 M,
// so DefaultCallSteps leaves a margin of more than 10.
const (
	DefaultCallSteps   = 100_000_000
	DefaultLoadSteps   = 100_000_000
	DefaultMemoryLimit = 256 << 20
)

// memCheckEvery is how many instructions run between two measurements of
// the heap (a measurement costs about a microsecond; 65,536 instructions
// take about a millisecond).
const memCheckEvery = 1 << 16

// Limit names a limit a script ran into.
type Limit string

// The limits.
const (
	LimitSteps  Limit = "instructions"
	LimitMemory Limit = "memory"
)

var (
	errSteps  = errors.New("instruction budget exceeded")
	errMemory = errors.New("memory limit exceeded")
)

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// budget counts the work a script does and measures the memory it holds.
//
// gopher-lua's interpreter, given a context, reads ctx.Done() once before
// every instruction (mainLoopWithContext) and raises ctx.Err() when the
// channel is ready. luaCtx.Done counts those reads: it returns a nil channel
// (never ready) while the count is under the budget, and a closed one once
// it is over, so the count is an exact, deterministic instruction counter
// costing one increment and one compare per instruction. Library functions
// written in Go charge their work to the same count (charge) and their big
// allocations to the memory ceiling (alloc) before doing it.
type budget struct {
	n     int64 // work done in the current call
	limit int64 // work allowed in the current call
	check int64 // next n at which slow() runs: min(limit+1, next heap check)
	armed bool

	memLimit int64  // bytes of heap above base allowed
	base     uint64 // heap in use when the state was created
	lastLive uint64 // live heap after the last forced collection
	// overGC is set by the collector hook when a collection finds the heap
	// over the ceiling: a script building strings by doubling allocates
	// gigabytes in a few instructions, faster than the periodic check.
	overGC atomic.Bool

	exceeded Limit  // the limit hit in the current call
	where    string // the script's position when it was hit
	trace    string // and the stack traceback
	used     int64  // work done by the last finished call

	samples []metrics.Sample
	closed  atomic.Bool
}

func newBudget(memLimit int64) *budget {
	b := &budget{memLimit: memLimit, limit: 1<<62 - 1, check: 1<<62 - 1}
	b.samples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	// The base is the heap found live by the last collection: the heap in
	// use now may hold much garbage (of an earlier state, say) that a
	// collection would free, and would then count as room for the script.
	metrics.Read(b.samples)
	b.base = b.samples[1].Value.Uint64()
	if b.base == 0 {
		b.base = b.samples[0].Value.Uint64()
	}
	b.lastLive = b.base
	b.watchGC()
	return b
}

// watchGC arranges for a check after every garbage collection while the
// state lives (a finalizer re-armed each cycle).
func (b *budget) watchGC() {
	type sentinel struct{ _ [16]byte }
	// The finalizer runs on its own goroutine: its own sample.
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	base, limit := b.base, b.memLimit
	var arm func()
	arm = func() {
		s := &sentinel{}
		runtime.SetFinalizer(s, func(*sentinel) {
			if b.closed.Load() {
				return
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > base && int64(live-base) > limit {
				b.overGC.Store(true)
			}
			arm()
		})
	}
	arm()
}

func (b *budget) heapObjects() uint64 {
	metrics.Read(b.samples[:1])
	return b.samples[0].Value.Uint64()
}

// luaCtx is the context.Context given to the main Lua thread and to every
// coroutine (each with its own *LState, so the position of the instruction
// that crossed a limit can be recorded).
type luaCtx struct {
	b *budget
	L *lua.LState
}

func (c *luaCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *luaCtx) Value(any) any               { return nil }

// Done is called by the interpreter before every instruction.
func (c *luaCtx) Done() <-chan struct{} {
	b := c.b
	b.n++
	if b.n < b.check && !b.overGC.Load() {
		return nil
	}
	return b.slow(c.L)
}

func (c *luaCtx) Err() error {
	switch c.b.exceeded {
	case LimitMemory:
		return errMemory
	case "":
		return nil
	}
	return errSteps
}

// slow runs when the count reaches the next check point.
func (b *budget) slow(L *lua.LState) <-chan struct{} {
	if b.exceeded != "" {
		return closedChan
	}
	if b.n > b.limit {
		b.hit(L, LimitSteps)
		return closedChan
	}
	if b.overMemory() {
		b.hit(L, LimitMemory)
		return closedChan
	}
	b.check = min(b.limit+1, b.n+memCheckEvery)
	return nil
}

// overMemory measures the heap; only when it looks over the ceiling does
// it collect garbage to learn what is really live (at most once per
// quarter of the ceiling allocated, so a script near the ceiling does not
// make every check a collection).
func (b *budget) overMemory() bool {
	gcSaid := b.overGC.Swap(false)
	heap := b.heapObjects()
	if !gcSaid && (heap <= b.base || int64(heap-b.base) <= b.memLimit) {
		return false
	}
	if !gcSaid && heap < b.lastLive+uint64(b.memLimit/4) {
		return false
	}
	runtime.GC()
	metrics.Read(b.samples[1:2])
	b.lastLive = b.samples[1].Value.Uint64()
	return b.lastLive > b.base && int64(b.lastLive-b.base) > b.memLimit
}

// hit records that a limit was crossed, with the script's position.
func (b *budget) hit(L *lua.LState, what Limit) {
	b.exceeded = what
	b.where, b.trace = luaPosition(L)
	// The next instruction raises it again: a script's pcall cannot
	// swallow it.
	b.check = 0
}

// charge adds work done by a library function written in Go; over the
// budget, it raises the budget error at once.
func (b *budget) charge(L *lua.LState, n int) {
	if n <= 0 {
		return
	}
	b.n += int64(n)
	if b.n >= b.check || b.overGC.Load() {
		if b.slow(L) != nil {
			L.RaiseError("%s", (&luaCtx{b: b}).Err().Error())
		}
	}
}

// alloc is called before a library function allocates size bytes: a size
// that cannot fit under the ceiling raises the memory error instead of
// asking the Go runtime for it (which would end the process).
func (b *budget) alloc(L *lua.LState, size int64) {
	if size < 0 || size > b.memLimit {
		b.hit(L, LimitMemory)
		L.RaiseError("%s", errMemory.Error())
	}
	if size > 1<<20 {
		// Big: measure now rather than at the next check point.
		b.check = b.n
	}
	b.charge(L, int(size>>6)+1)
}

// arm starts the budget for one call. Nested arms (a Lua call made from Go
// while a call is running) keep the outer budget.
func (b *budget) arm(steps int64) bool {
	if b.armed {
		return false
	}
	b.armed = true
	b.n = 0
	b.limit = steps
	b.check = min(steps+1, memCheckEvery)
	b.exceeded, b.where, b.trace = "", "", ""
	return true
}

// disarm ends the call's budget and returns the limit it ran into, if any.
func (b *budget) disarm() Limit {
	b.armed = false
	b.used = b.n
	hit := b.exceeded
	b.exceeded = ""
	b.limit, b.check = 1<<62-1, 1<<62-1
	return hit
}

func (b *budget) close() { b.closed.Store(true) }

// luaPosition returns "chunk:line" of the innermost Lua function running
// on L and a traceback of the Lua functions below it.
func luaPosition(L *lua.LState) (string, string) {
	if L == nil {
		return "", ""
	}
	where := ""
	var tb strings.Builder
	for level := 0; level < 64; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
			break
		}
		if dbg.CurrentLine <= 0 {
			continue // a Go function
		}
		pos := fmt.Sprintf("%s:%d", dbg.Source, dbg.CurrentLine)
		if where == "" {
			where = pos
			tb.WriteString("stack traceback:")
		}
		fmt.Fprintf(&tb, "\n\t%s", pos)
		if dbg.LineDefined == 0 {
			tb.WriteString(": in main chunk")
		} else {
			fmt.Fprintf(&tb, ": in function <%s:%d>", dbg.Source, dbg.LineDefined)
		}
	}
	return where, tb.String()
}
