package spatial

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// SQL Server's native GEOMETRY serialization of a point.
//
// [MS-SSCLRT] (Microsoft SQL Server CLR Types Serialization Formats) §2.1.1
// defines the structure behind the geometry and geography types; integers
// and doubles are little-endian:
//
//	SRID                     4 bytes, int32 (0 for hartd's planar points; -1 alone is NULL)
//	Version                  1 byte, 1 (2 only adds segment types for curves)
//	Serialization Properties 1 byte, bit flags:
//	    0x01 Z  has Z values         0x02 M  has M values
//	    0x04 V  valid                0x08 P  single point
//	    0x10 L  single line segment  0x20 H  larger than a hemisphere (geography)
//	then, when P is set, no counts, figures or shapes, only the point:
//	X, Y                     8 bytes each
//	Z                        8 bytes, when Z is set
//	M                        8 bytes, when M is set
//
// So POINT (1 2) with SRID 0 is 22 bytes, 00000000 01 0C then x and y, and
// POINT Z (1 2 3) is 30 bytes with properties 0x0D. SQL Server converts such
// bytes to geometry (CAST(@b AS geometry), or a bulk copy into a geometry
// column) without parsing text, and returns them for a geometry column.

const (
	mssqlHeaderLen = 6
	mssqlVersion   = 1

	mssqlPropZ      = 0x01
	mssqlPropM      = 0x02
	mssqlPropValid  = 0x04
	mssqlPropPoint  = 0x08
	mssqlPropLine   = 0x10
	mssqlPropHemi   = 0x20
	mssqlPropUnused = 0xC0
)

// ErrInvalidMSSQLPoint is returned (wrapped) by DecodeMSSQLPoint for input
// that is not a single point in SQL Server's native serialization.
var ErrInvalidMSSQLPoint = errors.New("spatial: not a SQL Server native point")

// MSSQLPoint is a point as SQL Server's native serialization holds it. A
// NaN Z or M is SQL Server's NULL for that ordinate.
type MSSQLPoint struct {
	SRID       int32
	X, Y, Z, M float64
	HasZ, HasM bool
}

// EncodeMSSQLPoint returns hartd's stored form of p: SRID 0, version 1,
// properties Z|V|P (0x0D), then x, y and z: 30 bytes.
func EncodeMSSQLPoint(p Point) []byte {
	return AppendMSSQLPoint(make([]byte, 0, mssqlHeaderLen+24), MSSQLPoint{X: p.X, Y: p.Y, Z: p.Z, HasZ: true})
}

// AppendMSSQLPoint appends the native serialization of p (version 1, the
// valid and single-point flags set) to dst and returns the result. It does
// not check the coordinates: SQL Server rejects a NaN or infinite X or Y.
func AppendMSSQLPoint(dst []byte, p MSSQLPoint) []byte {
	props := byte(mssqlPropValid | mssqlPropPoint)
	if p.HasZ {
		props |= mssqlPropZ
	}
	if p.HasM {
		props |= mssqlPropM
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(p.SRID))
	dst = append(dst, mssqlVersion, props)
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.X))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Y))
	if p.HasZ {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Z))
	}
	if p.HasM {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.M))
	}
	return dst
}

// DecodeMSSQLPoint parses a single point in SQL Server's native
// serialization, version 1 or 2, with any SRID, with or without Z and M.
// Anything else is an error wrapping ErrInvalidMSSQLPoint: the NULL
// geometry (SRID -1 alone), a point in the general form (counts, figures and
// shapes, which SQL Server uses for POINT EMPTY and never for a point with
// coordinates), other shapes, the geography-only hemisphere flag, reserved
// bits, a length that does not match the flags (including trailing bytes),
// and a NaN or infinite X or Y. It never panics.
func DecodeMSSQLPoint(b []byte) (MSSQLPoint, error) {
	var p MSSQLPoint
	if len(b) == 4 && binary.LittleEndian.Uint32(b) == math.MaxUint32 {
		return p, fmt.Errorf("%w: the NULL geometry", ErrInvalidMSSQLPoint)
	}
	if len(b) < mssqlHeaderLen {
		return p, fmt.Errorf("%w: %d bytes, the header alone has %d", ErrInvalidMSSQLPoint, len(b), mssqlHeaderLen)
	}
	p.SRID = int32(binary.LittleEndian.Uint32(b))
	if v := b[4]; v != 1 && v != 2 {
		return p, fmt.Errorf("%w: version %d, want 1 or 2", ErrInvalidMSSQLPoint, v)
	}
	props := b[5]
	switch {
	case props&mssqlPropUnused != 0:
		return p, fmt.Errorf("%w: reserved property bits set (%#02x)", ErrInvalidMSSQLPoint, props)
	case props&mssqlPropHemi != 0:
		return p, fmt.Errorf("%w: the geography hemisphere flag is set (%#02x)", ErrInvalidMSSQLPoint, props)
	case props&mssqlPropLine != 0:
		return p, fmt.Errorf("%w: a single line segment (%#02x)", ErrInvalidMSSQLPoint, props)
	case props&mssqlPropPoint == 0:
		return p, fmt.Errorf("%w: not the single-point form (%#02x)", ErrInvalidMSSQLPoint, props)
	}
	p.HasZ, p.HasM = props&mssqlPropZ != 0, props&mssqlPropM != 0
	want := mssqlHeaderLen + 16
	if p.HasZ {
		want += 8
	}
	if p.HasM {
		want += 8
	}
	if len(b) != want {
		return p, fmt.Errorf("%w: %d bytes, properties %#02x need %d", ErrInvalidMSSQLPoint, len(b), props, want)
	}
	f := func(off int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[off:])) }
	p.X, p.Y = f(6), f(14)
	off := 22
	if p.HasZ {
		p.Z = f(off)
		off += 8
	}
	if p.HasM {
		p.M = f(off)
	}
	if math.IsNaN(p.X) || math.IsInf(p.X, 0) || math.IsNaN(p.Y) || math.IsInf(p.Y, 0) {
		return MSSQLPoint{}, fmt.Errorf("%w: non-finite coordinates (%g %g)", ErrInvalidMSSQLPoint, p.X, p.Y)
	}
	return p, nil
}

// Point returns the point's X, Y and Z (0 when it has none or Z is NULL).
func (p MSSQLPoint) Point() Point {
	z := p.Z
	if !p.HasZ || math.IsNaN(z) {
		z = 0
	}
	return Point{X: p.X, Y: p.Y, Z: z}
}
