package metrics

import (
	"context"
	"time"

	"github.com/hartonomous/hartd/internal/store"
)

// InstrumentStore returns st with its write transactions (Insert, Delete,
// CreateModel) timed into hartd_store_write_duration_seconds. Every other
// method goes straight to st. Code that looks for an optional interface of
// the store should first call Unwrap on a store that has it.
func (m *Metrics) InstrumentStore(st store.Store) store.Store {
	return &timedStore{Store: st, m: m}
}

type timedStore struct {
	store.Store
	m *Metrics
}

// Unwrap returns the store being timed.
func (s *timedStore) Unwrap() store.Store { return s.Store }

func (s *timedStore) observe(op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.m.storeDur.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}

func (s *timedStore) Insert(ctx context.Context, b store.Batch) (ids []int64, err error) {
	defer s.observe("insert", time.Now(), err)
	return s.Store.Insert(ctx, b)
}

func (s *timedStore) Delete(ctx context.Context, modelID int64, ids []int64) (n int, err error) {
	defer s.observe("delete", time.Now(), err)
	return s.Store.Delete(ctx, modelID, ids)
}

func (s *timedStore) CreateModel(ctx context.Context, md store.Model) (out store.Model, err error) {
	defer s.observe("create_model", time.Now(), err)
	return s.Store.CreateModel(ctx, md)
}
