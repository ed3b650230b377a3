// Package ooda is hartd's in-process optimization loop. It replaces the
// seed's Service Broker queues (analyze → hypothesize → act → learn, whose
// only real action was UPDATE STATISTICS) with a loop that measures search
// quality on each model's own recent traffic and acts on the index:
//
//   - observe: replay a sample of the model's recent hybrid queries both
//     hybrid and exact, for recall@10, and read its latencies and the
//     balance of its index's partitions;
//   - orient: compare them with the targets;
//   - decide: retrain the index when recall is under target or the
//     partitions have gone badly out of balance (data drifted away from
//     what the centroids were trained on);
//   - act: ask the model's indexer to retrain in the background. Searches
//     keep the current index until the new one is published; nothing waits
//     on the loop.
//
// Every decision is logged and recorded on the model, where Stats and
// `hartd status` show it. A retrain is not repeated for a model until the
// previous one has landed and a cooldown has passed.
package ooda

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/hartonomous/hartd/internal/engine"
)

// Engine is what the loop needs of the engine.
type Engine interface {
	ModelNames() []string
	Observe(ctx context.Context, model string, sample int) (engine.Observation, error)
	RetrainIndex(model string) error
	IndexBuiltAt(model string) (time.Time, error)
	RecordDecision(model string, d engine.Decision) error
}

// Targets are what the loop steers to. Zero values take the defaults.
type Targets struct {
	// Recall is the recall@10 hybrid search must reach (default 0.95).
	Recall float64
	// MaxBalance is the largest partition over the mean beyond which the
	// index is rebalanced (default 8).
	MaxBalance float64
	// Sample is how many recent queries are replayed per model and pass
	// (default 16); each costs one exact scan.
	Sample int
	// MinSampled is the fewest replayed queries on which a recall verdict
	// is reached (default 8).
	MinSampled int
	// Cooldown is the least time between two retrains of a model
	// (default 10 minutes).
	Cooldown time.Duration
}

func (t *Targets) defaults() {
	if t.Recall <= 0 {
		t.Recall = 0.95
	}
	if t.MaxBalance <= 0 {
		t.MaxBalance = 8
	}
	if t.Sample <= 0 {
		t.Sample = 16
	}
	if t.MinSampled <= 0 {
		t.MinSampled = 8
	}
	if t.Cooldown <= 0 {
		t.Cooldown = 10 * time.Minute
	}
}

// Loop is the optimization loop. Tick is safe to call while Run runs.
type Loop struct {
	eng     Engine
	targets Targets
	log     *slog.Logger
	now     func() time.Time

	mu      sync.Mutex // guards retrain
	retrain map[string]pending
}

// pending is a retrain the loop asked for.
type pending struct {
	asked    time.Time
	builtAt  time.Time // the index's build time when asked
	landed   bool
	landedAt time.Time
}

// New returns a loop over eng.
func New(eng Engine, t Targets, log *slog.Logger) *Loop {
	t.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loop{eng: eng, targets: t, log: log, now: time.Now, retrain: map[string]pending{}}
}

// Run runs a pass every interval until ctx is done.
func (l *Loop) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Tick(ctx)
		}
	}
}

// Tick runs one pass over every model and returns the decisions it took.
func (l *Loop) Tick(ctx context.Context) []engine.Decision {
	var out []engine.Decision
	for _, name := range l.eng.ModelNames() {
		if ctx.Err() != nil {
			return out
		}
		d, ok, err := l.model(ctx, name)
		if err != nil {
			l.log.Warn("ooda: observe", "model", name, "err", err)
			continue
		}
		if ok {
			out = append(out, d)
		}
	}
	return out
}

// model runs observe → orient → decide → act for one model.
func (l *Loop) model(ctx context.Context, name string) (engine.Decision, bool, error) {
	o, err := l.eng.Observe(ctx, name, l.targets.Sample)
	if err != nil {
		return engine.Decision{}, false, err
	}
	l.log.Debug("ooda: observed", "model", name, "searches", o.Searches, "p50", o.P50, "p99", o.P99,
		"sampled", o.Sampled, "recall", o.Recall, "balance", o.Balance, "index", o.IndexBuilt)
	if !o.IndexBuilt {
		return engine.Decision{}, false, nil
	}
	if !l.mayRetrain(name) {
		return engine.Decision{}, false, nil
	}
	var reason string
	switch {
	case o.Sampled >= l.targets.MinSampled && !math.IsNaN(o.Recall) && o.Recall < l.targets.Recall:
		reason = fmt.Sprintf("recall@10 %.3f on %d recent queries is under the target %.2f", o.Recall, o.Sampled, l.targets.Recall)
	case o.Balance > l.targets.MaxBalance:
		reason = fmt.Sprintf("the largest partition holds %.1f times the mean (limit %.0f): the data has drifted from the centroids", o.Balance, l.targets.MaxBalance)
	default:
		return engine.Decision{}, false, nil
	}
	builtAt, err := l.eng.IndexBuiltAt(name)
	if err != nil {
		return engine.Decision{}, false, err
	}
	if err := l.eng.RetrainIndex(name); err != nil {
		return engine.Decision{}, false, err
	}
	d := engine.Decision{Time: l.now(), Action: "retrain-index", Reason: reason}
	l.mu.Lock()
	l.retrain[name] = pending{asked: d.Time, builtAt: builtAt}
	l.mu.Unlock()
	if err := l.eng.RecordDecision(name, d); err != nil {
		return d, true, err
	}
	l.log.Info("ooda: decided", "model", name, "action", d.Action, "reason", d.Reason)
	return d, true, nil
}

// mayRetrain reports whether a new retrain of name may be asked for: none
// is pending, and the last one landed at least a cooldown ago.
func (l *Loop) mayRetrain(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.retrain[name]
	if !ok {
		return true
	}
	if !p.landed {
		builtAt, err := l.eng.IndexBuiltAt(name)
		if err != nil || !builtAt.After(p.builtAt) {
			return false
		}
		p.landed, p.landedAt = true, l.now()
		l.retrain[name] = p
		l.log.Info("ooda: retrain landed", "model", name, "asked", p.asked, "took", builtAt.Sub(p.asked).Round(time.Millisecond))
	}
	return l.now().Sub(p.landedAt) >= l.targets.Cooldown
}
