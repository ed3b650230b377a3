package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hartonomous/hartd/internal/store"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("billing: ledger closed")

// MaxGroup bounds the records of one group commit.
const MaxGroup = 4096

// Ledger group-commits ledger records. It is safe for concurrent use.
type Ledger struct {
	st  appender     // immutable
	log *slog.Logger // immutable

	// mu guards pending, closed; wake is signalled when pending grows.
	mu      sync.Mutex
	pending []waiter
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

type appender interface {
	AppendUsage(ctx context.Context, recs []store.UsageRecord) error
}

type waiter struct {
	rec  store.UsageRecord
	errc chan error
}

// NewLedger starts a ledger writing to st; Close stops it.
func NewLedger(st appender, log *slog.Logger) *Ledger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Ledger{st: st, log: log, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go l.run()
	return l
}

// Append queues rec and returns once it has committed (or failed to). ctx
// bounds the wait only: a record queued is written even if ctx ends.
func (l *Ledger) Append(ctx context.Context, rec store.UsageRecord) error {
	w := waiter{rec: rec, errc: make(chan error, 1)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.pending = append(l.pending, w)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-w.errc:
		return err
	case <-ctx.Done():
		return fmt.Errorf("billing: waiting for the ledger: %w", ctx.Err())
	}
}

// run writes what is pending, one transaction at a time: while one commits,
// the next group gathers.
func (l *Ledger) run() {
	defer close(l.done)
	var batch []waiter
	recs := make([]store.UsageRecord, 0, MaxGroup)
	for {
		l.mu.Lock()
		for len(l.pending) == 0 {
			if l.closed {
				l.mu.Unlock()
				return
			}
			l.mu.Unlock()
			<-l.wake
			l.mu.Lock()
		}
		n := min(len(l.pending), MaxGroup)
		batch = append(batch[:0], l.pending[:n]...)
		l.pending = append(l.pending[:0], l.pending[n:]...)
		l.mu.Unlock()

		recs = recs[:0]
		for _, w := range batch {
			recs = append(recs, w.rec)
		}
		// Not the callers' contexts: a group must not fail because one
		// caller gave up.
		err := l.st.AppendUsage(context.Background(), recs)
		if err != nil {
			l.log.Error("billing ledger write failed", "records", len(recs), "err", err)
			err = fmt.Errorf("billing: ledger: %w", err)
		}
		for _, w := range batch {
			w.errc <- err
		}
	}
}

// Close writes what is pending and stops the writer.
func (l *Ledger) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.done
}
