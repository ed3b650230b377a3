package accountsql

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hartonomous/hartd/internal/store"
)

// Tx is what Dedup needs of a transaction; SQLTx adapts a *sql.Tx.
type Tx interface {
	Exec(ctx context.Context, q string, args ...any) error
	// Query calls row for each row; scan reads the row's columns.
	Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
}

// SQLTx adapts a database/sql transaction to Tx.
type SQLTx struct{ Tx *sql.Tx }

// Exec implements Tx.
func (t SQLTx) Exec(ctx context.Context, q string, args ...any) error {
	_, err := t.Tx.ExecContext(ctx, q, args...)
	return err
}

// Query implements Tx.
func (t SQLTx) Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	rows, err := t.Tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Dedup is the deduplication of one Insert, decided inside its transaction:
// Before reads the tenant's atoms of the batch's content hashes and returns
// the batch of the items that need rows; the dialect writes those; After
// counts the references and fills b.Results.
//
// An item whose content (hash) the tenant holds as an embedding of the same
// model writes nothing: that atom's reference count goes up
// (store.StatusContent). If the tenant holds the content only in other
// models, the new embedding points at the existing atom (also
// StatusContent). Else an item with DuplicateOf writes nothing and that
// embedding's atom's count goes up (store.StatusSemantic). A repeat of
// content inside one batch refers to its first occurrence.
type Dedup struct {
	D      Dialect
	full   store.Batch
	fresh  []int // full index of each item of the fresh batch
	kind   []itemKind
	ref    []int64 // existing embedding id (content or semantic dup)
	atom   []int64 // existing atom id
	firstA []int   // for a repeat inside the batch: the full index of the first
}

type itemKind uint8

const (
	kindNew        itemKind = iota
	kindNewOnAtom           // new embedding row on an existing atom
	kindContent             // content duplicate of an existing embedding
	kindSemantic            // semantic duplicate of DuplicateOf
	kindRepeat              // repeat of an earlier item of the batch
	hashesPerQuery = 400
)

// Before decides what each item of b is and returns the batch of rows to
// write (b itself when nothing is a duplicate).
func (d *Dedup) Before(ctx context.Context, tx Tx, tenantID int64, b store.Batch) (store.Batch, error) {
	n := len(b.Items)
	d.full = b
	d.kind = make([]itemKind, n)
	d.ref = make([]int64, n)
	d.atom = make([]int64, n)
	d.firstA = make([]int, n)
	a := Accounts{D: d.D}
	// The tenant's atoms of these hashes, with their embedding in the model.
	type found struct{ atom, emb int64 }
	existing := map[string]found{}
	var hashes [][]byte
	seen := map[string]bool{}
	for i := range b.Items {
		if h := b.Items[i].ContentHash; h != nil && !seen[string(h)] {
			seen[string(h)] = true
			hashes = append(hashes, h)
		}
	}
	for lo := 0; lo < len(hashes); lo += hashesPerQuery {
		hi := min(lo+hashesPerQuery, len(hashes))
		args := []any{b.ModelID, tenantID}
		for _, h := range hashes[lo:hi] {
			args = append(args, h)
		}
		q := a.q(`SELECT a."AtomId", a."ContentHash", COALESCE(MIN(e."EmbeddingId"), 0) FROM "Atoms" a
LEFT JOIN "AtomEmbeddings" e ON e."AtomId" = a."AtomId" AND e."ModelId" = ?
WHERE a."TenantId" = ? AND a."ContentHash" IN (?` + strings.Repeat(", ?", hi-lo-1) + `)
GROUP BY a."AtomId", a."ContentHash"`)
		err := tx.Query(ctx, q, args, func(scan func(...any) error) error {
			var f found
			var h []byte
			if err := scan(&f.atom, &h, &f.emb); err != nil {
				return err
			}
			// Several atoms of one hash exist only in data written before
			// deduplication: prefer one with an embedding in the model,
			// then the oldest.
			if old, ok := existing[string(h)]; !ok || (old.emb == 0 && f.emb != 0) || (old.emb == 0) == (f.emb == 0) && f.atom < old.atom {
				existing[string(bytes.Clone(h))] = f
			}
			return nil
		})
		if err != nil {
			return b, fmt.Errorf("dedup: read atoms: %w", err)
		}
	}
	first := map[string]int{}
	sub := b
	sub.Items = nil
	for i := range b.Items {
		it := &b.Items[i]
		h := string(it.ContentHash)
		switch f, ok := existing[h]; {
		case it.ContentHash != nil && ok && f.emb != 0:
			d.kind[i], d.ref[i], d.atom[i] = kindContent, f.emb, f.atom
			continue
		case it.ContentHash != nil && first[h] > 0:
			d.kind[i], d.firstA[i] = kindRepeat, first[h]-1
			continue
		case it.ContentHash != nil && ok:
			d.kind[i], d.atom[i] = kindNewOnAtom, f.atom
		case it.DuplicateOf > 0:
			d.kind[i], d.ref[i] = kindSemantic, it.DuplicateOf
			continue
		}
		if it.ContentHash != nil {
			first[h] = i + 1
		}
		d.fresh = append(d.fresh, i)
		sub.Items = append(sub.Items, *it)
	}
	if len(sub.Items) == n {
		return b, nil
	}
	// Anchors that are items of the batch follow their item: to its index
	// in the fresh batch, or to the embedding it duplicates.
	if b.Anchors != nil {
		pos := make(map[int]int, len(d.fresh))
		for k, i := range d.fresh {
			pos[i] = k
		}
		anchors := *b.Anchors
		sub.Anchors = &anchors
		for k, i := range b.AnchorItems {
			if i < 0 {
				continue
			}
			if p, ok := pos[i]; ok {
				sub.AnchorItems[k] = p
				continue
			}
			sub.AnchorItems[k] = -1
			j := i
			if d.kind[j] == kindRepeat {
				j = d.firstA[j]
				if p, ok := pos[j]; ok {
					sub.AnchorItems[k] = p
					continue
				}
			}
			anchors.EmbeddingIDs[k] = d.ref[j]
		}
	}
	return sub, nil
}

// After takes the ids of the fresh batch's rows and returns every item's
// embedding id, fills b.Results and counts the references.
func (d *Dedup) After(ctx context.Context, tx Tx, freshIDs []int64) ([]int64, error) {
	b := d.full
	n := len(b.Items)
	a := Accounts{D: d.D}
	ids := make([]int64, n)
	if len(d.fresh) == n && !d.any(kindNewOnAtom) {
		copy(ids, freshIDs)
		if b.Results != nil {
			for i := range ids {
				b.Results[i] = store.ItemResult{ID: ids[i], Status: store.StatusNew, ReferenceCount: 1}
			}
			if err := d.fillAtoms(ctx, tx, ids, nil); err != nil {
				return nil, err
			}
		}
		return ids, nil
	}
	for k, i := range d.fresh {
		ids[i] = freshIDs[k]
	}
	atomOf := func(emb int64) (int64, error) {
		var at int64
		err := tx.Query(ctx, a.q(`SELECT "AtomId" FROM "AtomEmbeddings" WHERE "EmbeddingId" = ?`), []any{emb}, func(scan func(...any) error) error {
			return scan(&at)
		})
		if err == nil && at == 0 {
			err = fmt.Errorf("%w: embedding %d", store.ErrNotFound, emb)
		}
		return at, err
	}
	bump := map[int64]int64{} // atom → added references
	for i := range b.Items {
		switch d.kind[i] {
		case kindNewOnAtom:
			// The row got an atom of its own: point it at the existing
			// one and drop the new one.
			own, err := atomOf(ids[i])
			if err != nil {
				return nil, fmt.Errorf("dedup: %w", err)
			}
			if err := tx.Exec(ctx, a.q(`UPDATE "AtomEmbeddings" SET "AtomId" = ? WHERE "EmbeddingId" = ?`), d.atom[i], ids[i]); err != nil {
				return nil, fmt.Errorf("dedup: repoint embedding %d: %w", ids[i], err)
			}
			if err := tx.Exec(ctx, a.q(`DELETE FROM "Atoms" WHERE "AtomId" = ?`), own); err != nil {
				return nil, fmt.Errorf("dedup: drop atom %d: %w", own, err)
			}
			bump[d.atom[i]]++
		case kindContent:
			ids[i] = d.ref[i]
			bump[d.atom[i]]++
		case kindSemantic:
			at, err := atomOf(d.ref[i])
			if err != nil {
				return nil, fmt.Errorf("dedup: semantic duplicate: %w", err)
			}
			ids[i], d.atom[i] = d.ref[i], at
			bump[at]++
		}
	}
	for i := range b.Items {
		if d.kind[i] == kindRepeat {
			j := d.firstA[i]
			ids[i] = ids[j]
			at := d.atom[j]
			if at == 0 {
				var err error
				if at, err = atomOf(ids[j]); err != nil {
					return nil, fmt.Errorf("dedup: %w", err)
				}
				d.atom[j] = at
			}
			d.atom[i] = at
			bump[at]++
		}
	}
	for at, k := range bump {
		if err := tx.Exec(ctx, a.q(`UPDATE "Atoms" SET "ReferenceCount" = "ReferenceCount" + ? WHERE "AtomId" = ?`), k, at); err != nil {
			return nil, fmt.Errorf("dedup: count references of atom %d: %w", at, err)
		}
	}
	if b.Results != nil {
		for i := range b.Items {
			r := store.ItemResult{ID: ids[i], AtomID: d.atom[i], Status: store.StatusNew}
			switch d.kind[i] {
			case kindNewOnAtom, kindContent:
				r.Status = store.StatusContent
			case kindSemantic:
				r.Status = store.StatusSemantic
			case kindRepeat:
				r.Status = store.StatusContent
			}
			b.Results[i] = r
		}
		if err := d.fillAtoms(ctx, tx, ids, bump); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (d *Dedup) any(k itemKind) bool {
	for _, x := range d.kind {
		if x == k {
			return true
		}
	}
	return false
}

// fillAtoms reads the atom id and reference count of each result.
func (d *Dedup) fillAtoms(ctx context.Context, tx Tx, ids []int64, _ map[int64]int64) error {
	a := Accounts{D: d.D}
	res := d.full.Results
	byEmb := map[int64][]int{}
	for i, id := range ids {
		byEmb[id] = append(byEmb[id], i)
	}
	uniq := make([]int64, 0, len(byEmb))
	for id := range byEmb {
		uniq = append(uniq, id)
	}
	for lo := 0; lo < len(uniq); lo += hashesPerQuery {
		hi := min(lo+hashesPerQuery, len(uniq))
		args := make([]any, 0, hi-lo)
		for _, id := range uniq[lo:hi] {
			args = append(args, id)
		}
		q := a.q(`SELECT e."EmbeddingId", a."AtomId", a."ReferenceCount" FROM "AtomEmbeddings" e JOIN "Atoms" a ON a."AtomId" = e."AtomId"
WHERE e."EmbeddingId" IN (?` + strings.Repeat(", ?", hi-lo-1) + `)`)
		err := tx.Query(ctx, q, args, func(scan func(...any) error) error {
			var emb, at, rc int64
			if err := scan(&emb, &at, &rc); err != nil {
				return err
			}
			for _, i := range byEmb[emb] {
				res[i].AtomID, res[i].ReferenceCount = at, rc
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("dedup: read atoms: %w", err)
		}
	}
	return nil
}
