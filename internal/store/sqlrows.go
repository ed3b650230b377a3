package store

import (
	"database/sql"
	"fmt"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Helpers for the dialects on database/sql (SQLite, SQL Server); PostgreSQL
// reads through pgx.

// NullPoint returns the point of three nullable coordinates, nil unless all
// three are set.
func NullPoint(x, y, z sql.NullFloat64) *spatial.Point {
	if x.Valid && y.Valid && z.Valid {
		return &spatial.Point{X: x.Float64, Y: y.Float64, Z: z.Float64}
	}
	return nil
}

// ScanRows streams the result of a Scan query, whose columns are the
// embedding id, its vector (float32 little-endian) and its nullable x, y
// and z, to fn. Row.Vector is decoded into one buffer that the next row
// reuses. It closes rows. An error of fn is returned as it is; its own
// errors go through wrap, which adds the dialect's context.
func ScanRows(rows *sql.Rows, fn func(Row) error, wrap func(error) error) error {
	defer rows.Close()
	var vec []float32
	for rows.Next() {
		var r Row
		var blob sql.RawBytes
		var x, y, z sql.NullFloat64
		if err := rows.Scan(&r.ID, &blob, &x, &y, &z); err != nil {
			return wrap(err)
		}
		if cap(vec) < len(blob)/4 {
			vec = make([]float32, len(blob)/4)
		}
		vec = vec[:len(blob)/4]
		if err := embed.DecodeVectorInto(vec, blob); err != nil {
			return wrap(fmt.Errorf("row %d: %w", r.ID, err))
		}
		r.Vector, r.Point = vec, NullPoint(x, y, z)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	return nil
}
