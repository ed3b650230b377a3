// Package sqlite is the embedded store: SQLite through modernc.org/sqlite
// (pure Go), in WAL mode, with an R*Tree as the spatial index over projected
// points. It creates and migrates its schema on Open.
//
// Durability: synchronous=FULL by default, so a commit is on disk before
// Insert returns. Writes go through one connection (SQLite has one writer);
// reads use a pool that WAL lets run beside it.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/migrate"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/accountsql"
	hartsql "github.com/hartonomous/hartd/sql"
)

// FileName is the database's name inside the data directory.
const FileName = "hartd.db"

// Options tune the store; the zero value is the safe default.
type Options struct {
	// Synchronous is SQLite's synchronous setting: "full" (default: every
	// commit is fsynced) or "normal" (in WAL mode, survives a crash of the
	// process but not of the machine).
	Synchronous string
	// ReadConns is the size of the read pool; 0 means 4.
	ReadConns int
	// CacheKiB is the writer's page cache; 0 means 64 MiB. A batch of 1,000
	// 768-d vectors dirties about 3 MiB: with SQLite's default 2 MiB cache
	// the transaction spills to the WAL before it commits.
	CacheKiB int
	// CheckpointPages is the WAL size, in pages, that triggers an automatic
	// checkpoint; 0 means 16384 (64 MiB of 4 KiB pages). Checkpoints copy
	// the WAL into the database and fsync it; SQLite's default of 1000
	// pages checkpoints every few batches.
	CheckpointPages int
	// PageSize applies to a database this Open creates; 0 means 16 KiB.
	PageSize int
}

// Store is the SQLite store. Fields are immutable after Open.
type Store struct {
	path   string
	w      *sql.DB // one connection: SQLite's single writer
	r      *sql.DB // read pool
	closed atomic.Bool
	// itemsStmts caches the read pool's prepared Items statement per
	// number of ids (up to maxCachedItems): parsing the query cost more
	// than running it, and a search fetches the same k ids every time.
	itemsStmts sync.Map // int → *sql.Stmt
	// Accounts holds tenants, keys, the ledger and dedup policies.
	accountsql.Accounts
}

const maxCachedItems = 128

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir and migrates its schema
// to the newest version this binary knows.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create data dir: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dir, FileName), opts)
}

// OpenFile is Open for an explicit database file.
func OpenFile(ctx context.Context, path string, opts Options) (*Store, error) {
	syncMode := strings.ToUpper(opts.Synchronous)
	switch syncMode {
	case "":
		syncMode = "FULL"
	case "FULL", "NORMAL":
	default:
		return nil, fmt.Errorf("sqlite: synchronous %q: want full or normal", opts.Synchronous)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.CacheKiB <= 0 {
		opts.CacheKiB = 64 << 10
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 16 << 10
	}
	if opts.CheckpointPages <= 0 {
		opts.CheckpointPages = (64 << 20) / opts.PageSize
	}
	q := url.Values{}
	// page_size must come before journal_mode: it cannot change in WAL mode.
	q.Add("_pragma", fmt.Sprintf("page_size(%d)", opts.PageSize))
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", opts.CacheKiB))
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", opts.CheckpointPages))
	q.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{path: path, w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout(10000)")
	rq.Add("_pragma", "query_only(1)")
	// Reads through a memory map: a page already in the OS cache costs no
	// system call (and system calls are costly in sandboxes and VMs). A
	// search's hits are fetched by id, on pages no per-connection cache holds.
	rq.Add("_pragma", fmt.Sprintf("mmap_size(%d)", int64(1)<<40))
	r, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	s.r = r
	s.Accounts = accountsql.Accounts{W: w, R: r, D: Dialect}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrate.Load(hartsql.FS, "sqlite/migrations")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	r := &migrate.Runner{DB: s.w, Dialect: migrate.SQLite, Migrations: ms}
	if _, err := r.Up(ctx, -1); err != nil {
		return fmt.Errorf("sqlite: %s: %w", s.path, err)
	}
	return nil
}

// Dialect is SQLite's accountsql dialect.
var Dialect = accountsql.Dialect{
	Name:      "sqlite",
	Time:      accountsql.SQLiteTime,
	ParseTime: accountsql.ParseAnyTime,
	Day:       func(col string) string { return "substr(" + col + ", 1, 10)" },
	True:      "1",
	False:     "0",
	Returning: func(table, cols, vals, idCol string) string {
		return "INSERT INTO " + table + " " + cols + " VALUES " + vals + " RETURNING " + idCol
	},
	IsUnique:  isUnique,
	MaxParams: 32_000,
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close checkpoints the WAL and closes the database.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.itemsStmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	err := s.r.Close()
	// A clean shutdown leaves the database in one file; failure here loses
	// nothing, the WAL is replayed on the next open.
	_, _ = s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// CreateModel implements store.Store.
func (s *Store) CreateModel(ctx context.Context, m store.Model) (store.Model, error) {
	if err := s.check(); err != nil {
		return m, err
	}
	if m.TenantID == 0 {
		m.TenantID = store.DefaultTenant
	}
	at := now()
	res, err := s.w.ExecContext(ctx, `INSERT INTO Models (TenantId, ModelName, Dimension, Metric, AnchorSeed, CreatedAt)
VALUES (?, ?, ?, ?, ?, ?)`, m.TenantID, m.Name, m.Dimension, m.Metric.String(), int64(m.AnchorSeed), at)
	if isUnique(err) {
		return m, fmt.Errorf("%w: model %q", store.ErrExists, m.Name)
	}
	if err != nil {
		return m, fmt.Errorf("sqlite: create model %q: %w", m.Name, err)
	}
	m.ID, _ = res.LastInsertId()
	m.CreatedAt = parseTime(at)
	return m, nil
}

// Models implements store.Store.
func (s *Store) Models(ctx context.Context) ([]store.Model, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ModelId, TenantId, ModelName, Dimension, Metric, AnchorSeed, CreatedAt
FROM Models WHERE IsActive = 1 ORDER BY ModelId`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list models: %w", err)
	}
	defer rows.Close()
	var out []store.Model
	for rows.Next() {
		var m store.Model
		var metric, at string
		var seed int64
		if err := rows.Scan(&m.ID, &m.TenantID, &m.Name, &m.Dimension, &metric, &seed, &at); err != nil {
			return nil, fmt.Errorf("sqlite: list models: %w", err)
		}
		if m.Metric, err = embed.ParseMetric(metric); err != nil {
			return nil, fmt.Errorf("sqlite: model %q: %w", m.Name, err)
		}
		m.AnchorSeed, m.CreatedAt = uint64(seed), parseTime(at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list models: %w", err)
	}
	return out, nil
}

// Anchors implements store.Store.
func (s *Store) Anchors(ctx context.Context, modelID int64) (*store.Anchors, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT AnchorIndex, EmbeddingId, AnchorVector, ChosenAt
FROM SpatialAnchors WHERE ModelId = ? ORDER BY AnchorIndex`, modelID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read anchors: %w", err)
	}
	defer rows.Close()
	var a store.Anchors
	n := 0
	for rows.Next() {
		var idx int
		var eid sql.NullInt64
		var blob []byte
		var at string
		if err := rows.Scan(&idx, &eid, &blob, &at); err != nil {
			return nil, fmt.Errorf("sqlite: read anchors: %w", err)
		}
		if idx < 1 || idx > 3 {
			return nil, fmt.Errorf("sqlite: model %d: anchor index %d out of range", modelID, idx)
		}
		v, err := embed.DecodeVector(blob, len(blob)/4)
		if err != nil {
			return nil, fmt.Errorf("sqlite: model %d: anchor %d: %w", modelID, idx, err)
		}
		a.EmbeddingIDs[idx-1], a.Vectors[idx-1], a.ChosenAt = eid.Int64, v, parseTime(at)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read anchors: %w", err)
	}
	switch n {
	case 0:
		return nil, nil
	case 3:
		return &a, nil
	}
	return nil, fmt.Errorf("sqlite: model %d has %d anchors, want 3", modelID, n)
}

// Insert implements store.Store.
func (s *Store) Insert(ctx context.Context, b store.Batch) (ids []int64, err error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: insert: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	at := now()
	if b.Anchors != nil {
		if err := reproject(ctx, tx, b.Reproject); err != nil {
			return nil, err
		}
	}
	var tenant int64
	if err := tx.QueryRowContext(ctx, `SELECT TenantId FROM Models WHERE ModelId = ?`, b.ModelID).Scan(&tenant); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlite: insert: model %d: %w", b.ModelID, store.ErrNotFound)
		}
		return nil, fmt.Errorf("sqlite: insert: %w", err)
	}
	var dd *accountsql.Dedup
	if b.Dedup {
		dd = &accountsql.Dedup{D: Dialect}
		if b, err = dd.Before(ctx, accountsql.SQLTx{Tx: tx}, tenant, b); err != nil {
			return nil, fmt.Errorf("sqlite: insert: %w", err)
		}
	}
	n := len(b.Items)
	atomIDs, err := multiInsert(ctx, tx, `INSERT INTO Atoms (TenantId, ContentHash, Content, SourceUri, SourceType, Metadata, CreatedAt)`,
		7, n, func(i int, a []any) []any {
			it := &b.Items[i]
			return append(a, tenant, nullBytes(it.ContentHash), nullString(it.Text), nullString(it.SourceURI),
				nullString(it.SourceType), nullString(it.Metadata), at)
		})
	if err != nil {
		return nil, fmt.Errorf("sqlite: insert atoms: %w", err)
	}
	var vecs []byte
	if n > 0 {
		vecs = make([]byte, 0, 4*n*len(b.Items[0].Vector))
	}
	ids, err = multiInsert(ctx, tx, `INSERT INTO AtomEmbeddings
(AtomId, ModelId, Dimension, EmbeddingVector, SpatialGeometry, SpatialX, SpatialY, SpatialZ, CreatedAt)`,
		9, n, func(i int, a []any) []any {
			it := &b.Items[i]
			start := len(vecs)
			vecs = embed.AppendVector(vecs, it.Vector)
			var geom []byte
			var x, y, z sql.NullFloat64
			if p := it.Point; p != nil {
				geom = spatial.EncodeWKB(*p)
				x, y, z = sql.NullFloat64{Float64: p.X, Valid: true}, sql.NullFloat64{Float64: p.Y, Valid: true}, sql.NullFloat64{Float64: p.Z, Valid: true}
			}
			return append(a, atomIDs[i], b.ModelID, len(it.Vector), vecs[start:len(vecs):len(vecs)], geom, x, y, z, at)
		})
	if err != nil {
		return nil, fmt.Errorf("sqlite: insert embeddings: %w", err)
	}
	var pointed []int
	for i := range b.Items {
		if b.Items[i].Point != nil {
			pointed = append(pointed, i)
		}
	}
	if _, err := multiInsert(ctx, tx, `INSERT INTO AtomEmbeddingsSpatialIndex (EmbeddingId, MinX, MaxX, MinY, MaxY, MinZ, MaxZ)`,
		7, len(pointed), func(k int, a []any) []any {
			i := pointed[k]
			p := b.Items[i].Point
			return append(a, ids[i], p.X, p.X, p.Y, p.Y, p.Z, p.Z)
		}); err != nil {
		return nil, fmt.Errorf("sqlite: insert spatial index: %w", err)
	}
	if a := b.Anchors; a != nil {
		for k := range 3 {
			eid := a.EmbeddingIDs[k]
			if i := b.AnchorItems[k]; i >= 0 {
				eid = ids[i]
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO SpatialAnchors (ModelId, AnchorIndex, EmbeddingId, AnchorVector, ChosenAt)
VALUES (?, ?, ?, ?, ?)`, b.ModelID, k+1, eid, embed.EncodeVector(a.Vectors[k]), at); err != nil {
				return nil, fmt.Errorf("sqlite: insert anchors: %w", err)
			}
		}
	}
	if dd != nil {
		if ids, err = dd.After(ctx, accountsql.SQLTx{Tx: tx}, ids); err != nil {
			return nil, fmt.Errorf("sqlite: insert: %w", err)
		}
	}
	if b.Usage != nil {
		if _, err := tx.ExecContext(ctx, Dialect.UsageInsert(), Dialect.UsageArgs(*b.Usage)...); err != nil {
			return nil, fmt.Errorf("sqlite: insert: ledger: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: insert: commit: %w", err)
	}
	return ids, nil
}

// rowsPerStatement bounds a multi-row INSERT: one driver call per 200 rows
// instead of one per row, well under SQLite's 32,766 bound parameters.
const rowsPerStatement = 200

// multiInsert inserts n rows of cols values each with head + VALUES lists,
// args appending row i's values, and returns the rowids given to the rows.
// The single writer and the tables' AUTOINCREMENT keys make the rowids of
// one statement consecutive, ending at last_insert_rowid(); the row count
// is checked so that nothing else could have interleaved.
func multiInsert(ctx context.Context, tx *sql.Tx, head string, cols, n int, args func(i int, a []any) []any) ([]int64, error) {
	ids := make([]int64, n)
	tuple := "(?" + strings.Repeat(",?", cols-1) + ")"
	var full *sql.Stmt
	a := make([]any, 0, cols*min(n, rowsPerStatement))
	for lo := 0; lo < n; lo += rowsPerStatement {
		hi := min(lo+rowsPerStatement, n)
		a = a[:0]
		for i := lo; i < hi; i++ {
			a = args(i, a)
		}
		var res sql.Result
		var err error
		if hi-lo == rowsPerStatement {
			if full == nil {
				q := head + " VALUES " + tuple + strings.Repeat(","+tuple, rowsPerStatement-1)
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return nil, err
				}
				defer full.Close()
			}
			res, err = full.ExecContext(ctx, a...)
		} else {
			res, err = tx.ExecContext(ctx, head+" VALUES "+tuple+strings.Repeat(","+tuple, hi-lo-1), a...)
		}
		if err != nil {
			return nil, fmt.Errorf("rows %d to %d: %w", lo, hi-1, err)
		}
		if got, _ := res.RowsAffected(); got != int64(hi-lo) {
			return nil, fmt.Errorf("rows %d to %d: %d rows affected", lo, hi-1, got)
		}
		last, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			ids[i] = last - int64(hi-1-i)
		}
	}
	return ids, nil
}

func reproject(ctx context.Context, tx *sql.Tx, ups []store.PointUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	upd, err := tx.PrepareContext(ctx, `UPDATE AtomEmbeddings SET SpatialGeometry = ?, SpatialX = ?, SpatialY = ?, SpatialZ = ? WHERE EmbeddingId = ?`)
	if err != nil {
		return fmt.Errorf("sqlite: reproject: %w", err)
	}
	defer upd.Close()
	idx, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO AtomEmbeddingsSpatialIndex VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("sqlite: reproject: %w", err)
	}
	defer idx.Close()
	for _, u := range ups {
		p := u.Point
		if _, err := upd.ExecContext(ctx, spatial.EncodeWKB(p), p.X, p.Y, p.Z, u.ID); err != nil {
			return fmt.Errorf("sqlite: reproject %d: %w", u.ID, err)
		}
		if _, err := idx.ExecContext(ctx, u.ID, p.X, p.X, p.Y, p.Y, p.Z, p.Z); err != nil {
			return fmt.Errorf("sqlite: reproject %d: spatial index: %w", u.ID, err)
		}
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

const itemColumns = `e.EmbeddingId, e.AtomId, e.SpatialX, e.SpatialY, e.SpatialZ,
a.Content, a.SourceUri, a.SourceType, a.Metadata, e.CreatedAt`

type scanner interface{ Scan(...any) error }

func scanItem(sc scanner, extra ...any) (store.Item, error) {
	var it store.Item
	var x, y, z sql.NullFloat64
	var text, uri, typ, meta sql.NullString
	var at string
	dest := append([]any{&it.ID, &it.AtomID, &x, &y, &z, &text, &uri, &typ, &meta, &at}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return it, err
	}
	it.Point = store.NullPoint(x, y, z)
	it.Text, it.SourceURI, it.SourceType, it.Metadata = text.String, uri.String, typ.String, meta.String
	it.CreatedAt = parseTime(at)
	return it, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, modelID, id int64) (store.Item, error) {
	if err := s.check(); err != nil {
		return store.Item{}, err
	}
	var blob []byte
	row := s.r.QueryRowContext(ctx, `SELECT `+itemColumns+`, e.EmbeddingVector
FROM AtomEmbeddings e JOIN Atoms a ON a.AtomId = e.AtomId WHERE e.ModelId = ? AND e.EmbeddingId = ?`, modelID, id)
	it, err := scanItem(row, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("%w: id %d", store.ErrNotFound, id)
	}
	if err != nil {
		return it, fmt.Errorf("sqlite: get %d: %w", id, err)
	}
	if it.Vector, err = embed.DecodeVector(blob, len(blob)/4); err != nil {
		return it, fmt.Errorf("sqlite: get %d: %w", id, err)
	}
	return it, nil
}

// Items implements store.Store.
func (s *Store) Items(ctx context.Context, modelID int64, ids []int64) (map[int64]store.Item, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make(map[int64]store.Item, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// SQLite binds at most 32766 parameters; k is at most 1000.
	args := make([]any, 0, len(ids)+1)
	args = append(args, modelID)
	for _, id := range ids {
		args = append(args, id)
	}
	// The query text is built only when no prepared statement has it.
	query := func() string {
		return `SELECT ` + itemColumns + ` FROM AtomEmbeddings e JOIN Atoms a ON a.AtomId = e.AtomId
WHERE e.ModelId = ? AND e.EmbeddingId IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	}
	var rows *sql.Rows
	var err error
	if len(ids) <= maxCachedItems {
		var stmt *sql.Stmt
		if v, ok := s.itemsStmts.Load(len(ids)); ok {
			stmt = v.(*sql.Stmt)
		} else {
			if stmt, err = s.r.PrepareContext(ctx, query()); err != nil {
				return nil, fmt.Errorf("sqlite: items: %w", err)
			}
			if v, loaded := s.itemsStmts.LoadOrStore(len(ids), stmt); loaded {
				stmt.Close()
				stmt = v.(*sql.Stmt)
			}
		}
		rows, err = stmt.QueryContext(ctx, args...)
	} else {
		rows, err = s.r.QueryContext(ctx, query(), args...)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: items: %w", err)
		}
		out[it.ID] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: items: %w", err)
	}
	return out, nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, modelID int64, ids []int64) (n int, err error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	find, err := tx.PrepareContext(ctx, `SELECT AtomId FROM AtomEmbeddings WHERE ModelId = ? AND EmbeddingId = ?`)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete: %w", err)
	}
	defer find.Close()
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var atomID int64
		err := find.QueryRowContext(ctx, modelID, id).Scan(&atomID)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, &store.MissingError{Index: i, ID: id}
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: delete %d: %w", id, err)
		}
		for _, q := range []string{
			`DELETE FROM AtomEmbeddingsSpatialIndex WHERE EmbeddingId = ?`,
			`DELETE FROM AtomEmbeddings WHERE EmbeddingId = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return 0, fmt.Errorf("sqlite: delete %d: %w", id, err)
			}
		}
		// An atom lives while something references it.
		if _, err := tx.ExecContext(ctx, `UPDATE Atoms SET ReferenceCount = ReferenceCount - 1 WHERE AtomId = ?`, atomID); err != nil {
			return 0, fmt.Errorf("sqlite: delete %d: atom: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM Atoms WHERE AtomId = ? AND ReferenceCount <= 0
AND NOT EXISTS (SELECT 1 FROM AtomEmbeddings WHERE AtomId = ?)`, atomID, atomID); err != nil {
			return 0, fmt.Errorf("sqlite: delete %d: atom: %w", id, err)
		}
		n++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: delete: commit: %w", err)
	}
	return n, nil
}

// Scan implements store.Store.
func (s *Store) Scan(ctx context.Context, modelID int64, fn func(store.Row) error) error {
	if err := s.check(); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT EmbeddingId, EmbeddingVector, SpatialX, SpatialY, SpatialZ
FROM AtomEmbeddings WHERE ModelId = ? ORDER BY EmbeddingId`, modelID)
	if err != nil {
		return fmt.Errorf("sqlite: scan model %d: %w", modelID, err)
	}
	return store.ScanRows(rows, fn, func(err error) error {
		return fmt.Errorf("sqlite: scan model %d: %w", modelID, err)
	})
}
