package spatial

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// ErrInvalidWKB is returned (wrapped) by DecodeWKB for input that is not a
// 2-D OGC WKB point.
var ErrInvalidWKB = errors.New("spatial: not a 2-D WKB point")

// wkbPointLen is the size of a 2-D WKB point: byte order (1), geometry type
// (4), x and y (8 each).
const wkbPointLen = 21

// wkbPointType is the OGC WKB geometry type code of a 2-D point.
const wkbPointType = 1

// EncodeWKB returns the 2-D point (p.X p.Y) as little-endian OGC WKB
// (21 bytes). p.Z is not encoded: it is stored in its own column.
func EncodeWKB(p Point) []byte {
	b, err := wkb.Marshal(orb.Point{p.X, p.Y}, binary.LittleEndian)
	if err != nil {
		// orb never fails to marshal a point.
		panic(fmt.Sprintf("spatial: EncodeWKB: %v", err))
	}
	return b
}

// DecodeWKB returns the coordinates of a 2-D OGC WKB point, little- or
// big-endian. Anything else is an error wrapping ErrInvalidWKB: input of the
// wrong length (including trailing bytes), an unknown byte-order mark, any
// other geometry type (ISO Z/M/ZM points, EWKB with flags or an SRID, lines,
// polygons, collections), and points with NaN or infinite coordinates (which
// includes the POINT EMPTY encoding NaN NaN). It never panics.
func DecodeWKB(b []byte) (x, y float64, err error) {
	if len(b) != wkbPointLen {
		return 0, 0, fmt.Errorf("%w: %d bytes, a 2-D point has %d", ErrInvalidWKB, len(b), wkbPointLen)
	}
	var order binary.ByteOrder
	switch b[0] {
	case 0:
		order = binary.BigEndian
	case 1:
		order = binary.LittleEndian
	default:
		return 0, 0, fmt.Errorf("%w: byte-order mark %#02x", ErrInvalidWKB, b[0])
	}
	if t := order.Uint32(b[1:5]); t != wkbPointType {
		return 0, 0, fmt.Errorf("%w: geometry type %#x, want %d (point)", ErrInvalidWKB, t, wkbPointType)
	}
	g, err := wkb.Unmarshal(b)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrInvalidWKB, err)
	}
	pt, ok := g.(orb.Point)
	if !ok {
		return 0, 0, fmt.Errorf("%w: decoded a %T", ErrInvalidWKB, g)
	}
	x, y = pt[0], pt[1]
	if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
		return 0, 0, fmt.Errorf("%w: non-finite coordinates (%g %g)", ErrInvalidWKB, x, y)
	}
	return x, y, nil
}
