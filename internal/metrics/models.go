package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 10 * time.Second

var (
	modelVectors = prometheus.NewDesc("hartd_model_vectors",
		"Live embeddings of the model.", []string{"model"}, nil)
	modelProjectionReady = prometheus.NewDesc("hartd_model_projection_ready",
		"1 once the model's anchors are chosen and every embedding has a point.", []string{"model"}, nil)
	modelAnchorsChosen = prometheus.NewDesc("hartd_model_anchors_chosen_timestamp_seconds",
		"When the model's anchors were chosen, in Unix seconds; absent before.", []string{"model"}, nil)
	indexRows = prometheus.NewDesc("hartd_index_rows",
		"Rows the model's runtime core holds, deleted ones included.", []string{"model"}, nil)
	indexLiveRows = prometheus.NewDesc("hartd_index_live_rows",
		"Rows of the model's runtime core not deleted.", []string{"model"}, nil)
	indexTombstones = prometheus.NewDesc("hartd_index_tombstones",
		"Deleted rows still held by the model's runtime core.", []string{"model"}, nil)
	indexPartitions = prometheus.NewDesc("hartd_index_partitions",
		"Partitions of the model's hybrid-search index; 0 before it is built.", []string{"model"}, nil)
	indexTail = prometheus.NewDesc("hartd_index_tail_rows",
		"Rows not yet merged into the index, searched exactly.", []string{"model"}, nil)
	indexBytes = prometheus.NewDesc("hartd_index_bytes",
		"Memory held by the model's index: codes, factors, centroids.", []string{"model"}, nil)
	indexBuilt = prometheus.NewDesc("hartd_index_built_timestamp_seconds",
		"When the model's index was last built or retrained.", []string{"model"}, nil)
	statsError = prometheus.NewDesc("hartd_model_stats_error",
		"Reading the models' state failed during this scrape.", nil, nil)
)

// modelCollector reads the models' state from the source at scrape time,
// so the values are never stale and nothing is updated on the write path.
type modelCollector struct{ m *Metrics }

func (c modelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{modelVectors, modelProjectionReady, modelAnchorsChosen,
		indexRows, indexLiveRows, indexTombstones, indexPartitions, indexTail, indexBytes, indexBuilt} {
		ch <- d
	}
}

func (c modelCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.src.Load()
	if src == nil {
		return // loading
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	stats, err := src.StatsAll(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(statsError, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, model string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, model)
	}
	for _, s := range stats {
		gauge(modelVectors, float64(s.Count), s.Key)
		ready := 0.0
		if s.ProjectionReady {
			ready = 1
		}
		gauge(modelProjectionReady, ready, s.Key)
		if s.Anchors != nil {
			gauge(modelAnchorsChosen, float64(s.Anchors.ChosenAt.UnixNano())/1e9, s.Key)
		}
		gauge(indexRows, float64(s.Index.Rows), s.Key)
		gauge(indexLiveRows, float64(s.Index.LiveRows), s.Key)
		gauge(indexTombstones, float64(s.Index.Tombstones), s.Key)
		gauge(indexPartitions, float64(s.Index.Partitions), s.Key)
		gauge(indexTail, float64(s.Index.Tail), s.Key)
		gauge(indexBytes, float64(s.Index.Bytes), s.Key)
		if s.Index.Built {
			gauge(indexBuilt, float64(s.Index.BuiltAt.UnixNano())/1e9, s.Key)
		}
	}
}
