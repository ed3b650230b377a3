package search

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// IndexOptions tune a collection's background indexer. Zero values take
// the defaults.
type IndexOptions struct {
	// MinRows: an index is built once the collection holds this many live
	// rows (default 10,000); below it an exact scan is as fast.
	MinRows int
	// MergeRows: the tail is merged into the index once it holds this many
	// rows (default 2,048) ...
	MergeRows int
	// MergeDelay: ... or once no rows have arrived for this long
	// (default 50 ms).
	MergeDelay time.Duration
	// RetrainFactor: the centroids are retrained once the collection has
	// grown this many times since they were trained (default 4).
	RetrainFactor float64
	// Partitions overrides the number of partitions (k-means centroids);
	// 0 chooses it from the rows (see chooseNlist).
	Partitions int
	// Seed makes training deterministic.
	Seed uint64
	// Log receives build and retrain events; nil discards them.
	Log *slog.Logger
}

func (o *IndexOptions) defaults() {
	if o.MinRows <= 0 {
		o.MinRows = 10000
	}
	if o.MergeRows <= 0 {
		o.MergeRows = 2048
	}
	if o.MergeDelay <= 0 {
		o.MergeDelay = 50 * time.Millisecond
	}
	if o.RetrainFactor <= 1 {
		o.RetrainFactor = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// IndexState describes the index, for statistics.
type IndexState struct {
	Built      bool
	Partitions int
	Covered    int // rows in the index
	Tail       int // rows only the exact tail scan sees
	TrainedOn  int
	Bytes      int
	BuiltAt    time.Time
}

// IndexState reports the index's current state.
func (c *Collection) IndexState() IndexState {
	s := c.snap.Load()
	ix := c.index.Load()
	if ix == nil {
		return IndexState{Tail: s.n}
	}
	return IndexState{Built: true, Partitions: ix.nlist(), Covered: ix.covered, Tail: s.n - ix.covered,
		TrainedOn: ix.trainedOn, Bytes: ix.size(), BuiltAt: ix.builtAt}
}

// StartIndexer runs the collection's indexer until stop is called: it
// builds the index once MinRows live rows exist, merges the tail, and
// retrains as the collection grows. Searches never wait for it: each uses
// the index published when it began, plus an exact scan of the tail. stop
// waits for the indexer to return; a build in progress is abandoned.
func (c *Collection) StartIndexer(opts IndexOptions) (stop func()) {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.runIndexer(ctx, opts)
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

func (c *Collection) runIndexer(ctx context.Context, o IndexOptions) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	idle := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			idle = false
		case <-timer.C:
			idle = true
		}
		for ctx.Err() == nil {
			did, err := c.indexStep(ctx, o, idle)
			if err != nil {
				if ctx.Err() == nil {
					o.Log.Error("indexer", "err", err)
				}
				break
			}
			if !did {
				break
			}
		}
		if ix := c.index.Load(); ix != nil && ix.covered < c.snap.Load().n {
			timer.Reset(o.MergeDelay)
		}
	}
}

// indexStep does one unit of work and reports whether it did any.
func (c *Collection) indexStep(ctx context.Context, o IndexOptions, idle bool) (bool, error) {
	s := c.snap.Load()
	ix := c.index.Load()
	switch {
	case ix == nil && c.Len() >= o.MinRows,
		ix != nil && float64(c.Len()) >= o.RetrainFactor*float64(ix.trainedOn),
		ix != nil && c.retrain.Load() && c.Len() > 0:
		c.retrain.Store(false)
		start := time.Now()
		next, err := trainIVF(ctx, c, s, o.Seed, o.Partitions)
		if err != nil {
			return false, err
		}
		if next, err = next.extend(ctx, s, s.n); err != nil {
			return false, err
		}
		next.builtAt = time.Now()
		c.index.Store(next)
		o.Log.Info("index built", "rows", s.n, "partitions", next.nlist(), "took", time.Since(start).Round(time.Millisecond))
		return true, nil
	case ix != nil && (s.n-ix.covered >= o.MergeRows || (idle && s.n > ix.covered)):
		next, err := ix.extend(ctx, s, s.n)
		if err != nil {
			return false, err
		}
		c.index.Store(next)
		return true, nil
	}
	return false, nil
}

// RequestRetrain asks the indexer to retrain the index's centroids on the
// rows as they are now and rebuild the partitions; searches go on with the
// current index until the new one is published. Without an index it does
// nothing (the indexer builds one once the collection is large enough).
func (c *Collection) RequestRetrain() {
	if c.index.Load() == nil {
		return
	}
	c.retrain.Store(true)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Balance returns how unevenly the index's partitions are filled: the
// largest partition's rows over the mean, 1 for perfect balance, 0 without
// an index. Data that drifts away from what the centroids were trained on
// piles into few partitions, and a probe then scans more codes for the same
// recall.
func (c *Collection) Balance() float64 {
	ix := c.index.Load()
	if ix == nil || ix.covered == 0 {
		return 0
	}
	largest := 0
	for _, l := range ix.lists {
		largest = max(largest, len(l.rows))
	}
	return float64(largest) * float64(ix.nlist()) / float64(ix.covered)
}

// IndexNow brings the index up to date synchronously: it builds (or
// retrains) it if the options call for that, and merges the tail. For tests
// and tools; a serving collection uses StartIndexer.
func (c *Collection) IndexNow(ctx context.Context, opts IndexOptions) error {
	opts.defaults()
	for {
		did, err := c.indexStep(ctx, opts, true)
		if err != nil || !did {
			return err
		}
	}
}
