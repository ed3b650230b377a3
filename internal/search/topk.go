package search

import (
	"sort"

	"github.com/hartonomous/hartd/internal/spatial"
)

// Hit is one search result.
type Hit struct {
	ID    int64
	Score float32
	// Point is the row's projected point; valid only if HasPoint.
	Point    spatial.Point
	HasPoint bool
}

// topK keeps the k best hits seen. key orders hits: larger is better (the
// score for cosine, its negation for l2); equal keys prefer the lower id, so
// results are deterministic. The heap's root is the worst hit kept.
type topK struct {
	k    int
	keys []float32
	hits []Hit
}

func newTopK(k int) *topK {
	return &topK{k: k, keys: make([]float32, 0, k), hits: make([]Hit, 0, k)}
}

// worse reports whether entry i ranks below entry j.
func (t *topK) worse(i, j int) bool {
	if t.keys[i] != t.keys[j] {
		return t.keys[i] < t.keys[j]
	}
	return t.hits[i].ID > t.hits[j].ID
}

// admits reports whether a hit with key and id would be kept.
func (t *topK) admits(key float32, id int64) bool {
	if len(t.keys) < t.k {
		return true
	}
	return key > t.keys[0] || (key == t.keys[0] && id < t.hits[0].ID)
}

// push offers a hit; the caller has checked admits.
func (t *topK) push(key float32, h Hit) {
	if len(t.keys) < t.k {
		t.keys = append(t.keys, key)
		t.hits = append(t.hits, h)
		for i := len(t.keys) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.worse(i, p) {
				break
			}
			t.swap(i, p)
			i = p
		}
		return
	}
	t.keys[0], t.hits[0] = key, h
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(t.keys) && t.worse(l, m) {
			m = l
		}
		if r < len(t.keys) && t.worse(r, m) {
			m = r
		}
		if m == i {
			return
		}
		t.swap(i, m)
		i = m
	}
}

func (t *topK) swap(i, j int) {
	t.keys[i], t.keys[j] = t.keys[j], t.keys[i]
	t.hits[i], t.hits[j] = t.hits[j], t.hits[i]
}

// merge folds o into t.
func (t *topK) merge(o *topK) {
	for i, key := range o.keys {
		if t.admits(key, o.hits[i].ID) {
			t.push(key, o.hits[i])
		}
	}
}

// sorted returns the hits best first.
func (t *topK) sorted() []Hit {
	idx := make([]int, len(t.keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return t.worse(idx[b], idx[a]) })
	out := make([]Hit, len(idx))
	for i, j := range idx {
		out[i] = t.hits[j]
	}
	return out
}
