package wslua

import (
	"errors"
	"sync"
	"time"
)

var errBudget = errors.New("time budget exceeded")

// budgetCtx is a reusable context.Context for gopher-lua's per-instruction
// cancellation check: one timer is re-armed for each call instead of
// allocating a context.WithTimeout per call.
type budgetCtx struct {
	mu    sync.Mutex
	done  chan struct{}
	timer *time.Timer
	armed bool
	fired bool
	start time.Time
	limit time.Duration
	// after holds functions registered by context.WithCancel for child
	// contexts (coroutines): called when the budget runs out.
	after map[int]func()
	next  int
}

func newBudgetCtx() *budgetCtx {
	b := &budgetCtx{done: make(chan struct{})}
	b.timer = time.AfterFunc(time.Hour, b.fire)
	b.timer.Stop()
	return b
}

func (b *budgetCtx) fire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A stale firing from a previous arming must not cut the current call short.
	if b.armed && !b.fired && time.Since(b.start) >= b.limit {
		b.fired = true
		close(b.done)
		for _, f := range b.after {
			go f()
		}
		b.after = nil
	}
}

// AfterFunc lets context.WithCancel (used by gopher-lua for coroutines)
// propagate cancellation without a goroutine per child.
func (b *budgetCtx) AfterFunc(f func()) func() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.after == nil {
		b.after = map[int]func(){}
	}
	id := b.next
	b.next++
	b.after[id] = f
	return func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		_, ok := b.after[id]
		delete(b.after, id)
		return ok
	}
}

// arm starts the budget for one call. Nested arms (a Lua call made from Go
// while a call is running) keep the outer budget.
func (b *budgetCtx) arm(d time.Duration) bool {
	b.mu.Lock()
	if b.armed {
		b.mu.Unlock()
		return false
	}
	b.armed = true
	b.start = time.Now()
	b.limit = d
	b.mu.Unlock()
	b.timer.Reset(d)
	return true
}

// disarm ends the call's budget and reports whether it ran out.
func (b *budgetCtx) disarm() bool {
	b.timer.Stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	fired := b.fired
	if fired {
		b.fired = false
		b.done = make(chan struct{})
	}
	return fired
}

func (b *budgetCtx) stop() { b.timer.Stop() }

func (b *budgetCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done is read by the interpreter before every instruction, only from the
// goroutine that also replaces the channel (disarm), so no lock is needed.
func (b *budgetCtx) Done() <-chan struct{} { return b.done }

func (b *budgetCtx) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fired {
		return errBudget
	}
	return nil
}

func (b *budgetCtx) Value(any) any { return nil }
