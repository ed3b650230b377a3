package spatial

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"testing"
)

func TestEncodeEWKB(t *testing.T) {
	// SELECT encode(ST_AsEWKB(ST_MakePoint(1, 2, 3), 'NDR'), 'hex') on
	// PostGIS 3: byte order, type 0x80000001, x, y, z.
	want, _ := hex.DecodeString("0101000080000000000000f03f00000000000000400000000000000840")
	if got := EncodeEWKB(Point{1, 2, 3}); !bytes.Equal(got, want) {
		t.Fatalf("EncodeEWKB = %x, want %x", got, want)
	}
	if n := len(EncodeEWKB(Point{})); n != EWKBPointZLen {
		t.Fatalf("EncodeEWKB is %d bytes, want %d", n, EWKBPointZLen)
	}
}

func TestEWKBRoundTrip(t *testing.T) {
	points := []Point{
		{}, {1, 2, 3}, {-1.5, 2.25, 0}, {math.Copysign(0, -1), 0, 0},
		{math.MaxFloat64, -math.MaxFloat64, 1}, {math.SmallestNonzeroFloat64, 1e-300, 0.5},
		{123456.789, -0.000123, 7},
	}
	for _, p := range points {
		got, srid, err := DecodeEWKB(EncodeEWKB(p))
		if err != nil {
			t.Fatalf("DecodeEWKB(EncodeEWKB(%v)): %v", p, err)
		}
		if srid != 0 || math.Float64bits(got.X) != math.Float64bits(p.X) ||
			math.Float64bits(got.Y) != math.Float64bits(p.Y) || math.Float64bits(got.Z) != math.Float64bits(p.Z) {
			t.Errorf("round trip of %v gave %v, SRID %d", p, got, srid)
		}
	}
}

// bigEndianEWKB builds a big-endian EWKB point of type typ, with srid when
// the flag is set.
func bigEndianEWKB(typ uint32, srid int32, coords ...float64) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0}, typ)
	if typ&ewkbSRID != 0 {
		b = binary.BigEndian.AppendUint32(b, uint32(srid))
	}
	for _, c := range coords {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(c))
	}
	return b
}

func TestDecodeEWKBForms(t *testing.T) {
	// SELECT encode(ST_AsEWKB(ST_SetSRID(ST_MakePoint(1, 2, 3), 4326), 'NDR'), 'hex')
	withSRID, _ := hex.DecodeString("01010000a0e6100000000000000000f03f00000000000000400000000000000840")
	p, srid, err := DecodeEWKB(withSRID)
	if err != nil || p != (Point{1, 2, 3}) || srid != 4326 {
		t.Fatalf("DecodeEWKB(SRID=4326) = %v, %d, %v", p, srid, err)
	}
	p, srid, err = DecodeEWKB(bigEndianEWKB(ewkbZ|ewkbSRID|1, -1, 4, 5, 6))
	if err != nil || p != (Point{4, 5, 6}) || srid != -1 {
		t.Fatalf("DecodeEWKB(big-endian) = %v, %d, %v", p, srid, err)
	}
}

func TestDecodeEWKBRejects(t *testing.T) {
	good := EncodeEWKB(Point{1, 2, 3})
	cases := map[string][]byte{
		"empty":         nil,
		"short":         good[:4],
		"truncated":     good[:28],
		"trailing":      append(append([]byte{}, good...), 0),
		"bad order":     append([]byte{2}, good[1:]...),
		"2-D point":     EncodeWKB(Point{1, 2, 0}),
		"ISO PointZ":    append(binary.LittleEndian.AppendUint32([]byte{1}, 1001), good[5:]...),
		"PointZM":       bigEndianEWKB(ewkbZ|ewkbM|1, 0, 1, 2, 3, 4),
		"PointM":        bigEndianEWKB(ewkbM|1, 0, 1, 2, 3),
		"LineStringZ":   bigEndianEWKB(ewkbZ|2, 0, 1, 2, 3),
		"SRID no room":  bigEndianEWKB(ewkbZ|ewkbSRID|1, 0)[:7],
		"POINT Z EMPTY": EncodeEWKB(Point{math.NaN(), math.NaN(), math.NaN()}),
		"infinite z":    EncodeEWKB(Point{0, 0, math.Inf(1)}),
	}
	for name, b := range cases {
		if _, _, err := DecodeEWKB(b); !errors.Is(err, ErrInvalidEWKB) {
			t.Errorf("%s: DecodeEWKB(%x) = %v, want ErrInvalidEWKB", name, b, err)
		}
	}
}

// FuzzDecodeEWKB: DecodeEWKB never panics; what it accepts is finite and
// re-encodes to the same point.
func FuzzDecodeEWKB(f *testing.F) {
	f.Add(EncodeEWKB(Point{1, 2, 3}))
	f.Add(bigEndianEWKB(ewkbZ|ewkbSRID|1, 4326, 1, 2, 3))
	f.Add(EncodeWKB(Point{1, 2, 0}))
	f.Add([]byte{1, 1, 0, 0, 0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, srid, err := DecodeEWKB(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidEWKB) {
				t.Fatalf("error %v does not wrap ErrInvalidEWKB", err)
			}
			return
		}
		for _, c := range []float64{p.X, p.Y, p.Z} {
			if math.IsNaN(c) || math.IsInf(c, 0) {
				t.Fatalf("accepted a non-finite point %v", p)
			}
		}
		q, _, err := DecodeEWKB(EncodeEWKB(p))
		if err != nil || q != p {
			t.Fatalf("re-encoding %v gave %v, %v", p, q, err)
		}
		if b[0] == 1 && len(b) == EWKBPointZLen && srid == 0 && !bytes.Equal(EncodeEWKB(p), b) {
			t.Fatalf("little-endian input %x re-encodes as %x", b, EncodeEWKB(p))
		}
	})
}
