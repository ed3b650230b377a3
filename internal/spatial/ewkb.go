package spatial

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrInvalidEWKB is returned (wrapped) by DecodeEWKB for input that is not
// an EWKB PointZ.
var ErrInvalidEWKB = errors.New("spatial: not an EWKB PointZ")

// EWKB (PostGIS's extended WKB) flags in the high bits of the geometry type.
const (
	ewkbZ    = 0x80000000
	ewkbM    = 0x40000000
	ewkbSRID = 0x20000000
)

// EWKBPointZLen is the size of an EWKB PointZ without an SRID: byte order
// (1), type (4), x, y and z (8 each). With the SRID flag it is 4 bytes more.
const EWKBPointZLen = 29

// AppendEWKB appends p to dst as little-endian EWKB PointZ with SRID 0
// (unknown), the form PostGIS itself writes for SRID 0: no SRID field, type
// 0x80000001. PostGIS's binary input for geometry (COPY BINARY, binary bind
// parameters) reads it, which is how the PostgreSQL store writes
// "SpatialGeometry" (geometry(PointZ, 0)).
func AppendEWKB(dst []byte, p Point) []byte {
	dst = append(dst, 1)
	dst = binary.LittleEndian.AppendUint32(dst, ewkbZ|wkbPointType)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.X))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Y))
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Z))
}

// EncodeEWKB returns AppendEWKB(nil, p), 29 bytes.
func EncodeEWKB(p Point) []byte {
	return AppendEWKB(make([]byte, 0, EWKBPointZLen), p)
}

// DecodeEWKB returns the point and SRID of an EWKB PointZ, little- or
// big-endian, with or without the SRID flag (without it the SRID is 0).
// Anything else is an error wrapping ErrInvalidEWKB: the wrong length
// (including trailing bytes), an unknown byte-order mark, another geometry
// type, a point without Z or with M, ISO WKB type codes (1001), and
// non-finite coordinates (which includes POINT Z EMPTY, NaN NaN NaN). It
// never panics.
func DecodeEWKB(b []byte) (p Point, srid int32, err error) {
	if len(b) < 5 {
		return p, 0, fmt.Errorf("%w: %d bytes", ErrInvalidEWKB, len(b))
	}
	var order binary.ByteOrder
	switch b[0] {
	case 0:
		order = binary.BigEndian
	case 1:
		order = binary.LittleEndian
	default:
		return p, 0, fmt.Errorf("%w: byte-order mark %#02x", ErrInvalidEWKB, b[0])
	}
	t := order.Uint32(b[1:5])
	if t&^(ewkbZ|ewkbM|ewkbSRID) != wkbPointType {
		return p, 0, fmt.Errorf("%w: geometry type %#x, want a point (%#x)", ErrInvalidEWKB, t, ewkbZ|wkbPointType)
	}
	if t&ewkbZ == 0 || t&ewkbM != 0 {
		return p, 0, fmt.Errorf("%w: geometry type %#x, want a point with Z and without M", ErrInvalidEWKB, t)
	}
	rest := b[5:]
	if t&ewkbSRID != 0 {
		if len(rest) < 4 {
			return p, 0, fmt.Errorf("%w: %d bytes, truncated SRID", ErrInvalidEWKB, len(b))
		}
		srid = int32(order.Uint32(rest))
		rest = rest[4:]
	}
	if len(rest) != 24 {
		return p, 0, fmt.Errorf("%w: %d bytes of coordinates, want 24", ErrInvalidEWKB, len(rest))
	}
	p = Point{
		X: math.Float64frombits(order.Uint64(rest[0:])),
		Y: math.Float64frombits(order.Uint64(rest[8:])),
		Z: math.Float64frombits(order.Uint64(rest[16:])),
	}
	for _, c := range [3]float64{p.X, p.Y, p.Z} {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return Point{}, 0, fmt.Errorf("%w: non-finite coordinates (%g %g %g)", ErrInvalidEWKB, p.X, p.Y, p.Z)
		}
	}
	return p, srid, nil
}
