package spatial

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

func TestEncodeWKB(t *testing.T) {
	// POINT (1 2), little-endian: byte order, type 1, x, y.
	want, _ := hex.DecodeString("0101000000000000000000f03f0000000000000040")
	if got := EncodeWKB(Point{1, 2, 3}); !bytes.Equal(got, want) {
		t.Fatalf("EncodeWKB = %x, want %x", got, want)
	}
}

func TestWKBRoundTrip(t *testing.T) {
	points := []Point{
		{}, {1, 2, 3}, {-1.5, 2.25, 0}, {math.Copysign(0, -1), 0, 0},
		{math.MaxFloat64, -math.MaxFloat64, 1}, {math.SmallestNonzeroFloat64, 1e-300, 0},
		{123456.789, -0.000123, 7},
	}
	for _, p := range points {
		b := EncodeWKB(p)
		x, y, err := DecodeWKB(b)
		if err != nil {
			t.Fatalf("DecodeWKB(EncodeWKB(%v)): %v", p, err)
		}
		if math.Float64bits(x) != math.Float64bits(p.X) || math.Float64bits(y) != math.Float64bits(p.Y) {
			t.Errorf("round trip of %v gave (%v %v)", p, x, y)
		}
	}
}

func TestDecodeWKBBigEndian(t *testing.T) {
	b := wkb.MustMarshal(orb.Point{3.5, -4}, binary.BigEndian)
	x, y, err := DecodeWKB(b)
	if err != nil || x != 3.5 || y != -4 {
		t.Fatalf("DecodeWKB(big-endian POINT (3.5 -4)) = %v, %v, %v", x, y, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeWKBRejects(t *testing.T) {
	valid := EncodeWKB(Point{1, 2, 0})
	withType := func(order binary.AppendByteOrder, typ uint32, rest []byte) []byte {
		b := []byte{1}
		if order == binary.AppendByteOrder(binary.BigEndian) {
			b[0] = 0
		}
		b = order.AppendUint32(b, typ)
		return append(b, rest...)
	}
	coords := valid[5:]
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"one byte", []byte{1}},
		{"short", valid[:20]},
		{"header only", valid[:5]},
		{"trailing byte", append(append([]byte(nil), valid...), 0)},
		{"bad byte order", append([]byte{2}, valid[1:]...)},
		{"garbage", []byte("this is not a WKB point")},
		{"garbage of point length", bytes.Repeat([]byte{0xff}, 21)},
		{"linestring", wkb.MustMarshal(orb.LineString{{0, 0}, {1, 1}})},
		{"empty linestring of 21 bytes", withType(binary.LittleEndian, 2, make([]byte, 16))},
		{"polygon", wkb.MustMarshal(orb.Polygon{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}})},
		{"multipoint", wkb.MustMarshal(orb.MultiPoint{{0, 0}})},
		{"collection", wkb.MustMarshal(orb.Collection{orb.Point{1, 2}})},
		{"type 1 in the wrong byte order", withType(binary.BigEndian, 0x01000000, coords)},
		{"ISO point Z", withType(binary.LittleEndian, 1001, append(append([]byte(nil), coords...), make([]byte, 8)...))},
		{"ISO point M, truncated to 21 bytes", withType(binary.LittleEndian, 2001, coords)},
		{"EWKB point Z", withType(binary.LittleEndian, 0x80000001, append(append([]byte(nil), coords...), make([]byte, 8)...))},
		{"EWKB point Z, truncated to 21 bytes", withType(binary.LittleEndian, 0x80000001, coords)},
		{"EWKB point with SRID", mustHex(t, "0101000020e6100000000000000000f03f0000000000000040")},
		{"POINT EMPTY", EncodeWKB(Point{math.NaN(), math.NaN(), 0})},
		{"infinite x", EncodeWKB(Point{math.Inf(1), 0, 0})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x, y, err := DecodeWKB(tc.b)
			if err == nil {
				t.Fatalf("DecodeWKB(%x) = (%v %v), want an error", tc.b, x, y)
			}
			if !errors.Is(err, ErrInvalidWKB) {
				t.Errorf("DecodeWKB error %v does not wrap ErrInvalidWKB", err)
			}
		})
	}
}

func FuzzDecodeWKB(f *testing.F) {
	f.Add(EncodeWKB(Point{1, 2, 0}))
	f.Add(wkb.MustMarshal(orb.Point{-3, 4}, binary.BigEndian))
	f.Add(wkb.MustMarshal(orb.LineString{{0, 0}, {1, 1}}))
	f.Add(wkb.MustMarshal(orb.Collection{orb.Point{1, 2}, orb.LineString{{0, 0}, {1, 1}}}))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0}, 21))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, y, err := DecodeWKB(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidWKB) {
				t.Fatalf("error %v does not wrap ErrInvalidWKB", err)
			}
			return
		}
		if len(b) != wkbPointLen {
			t.Fatalf("accepted %d bytes", len(b))
		}
		// Whatever is accepted re-encodes to the same point.
		x2, y2, err := DecodeWKB(EncodeWKB(Point{x, y, 0}))
		if err != nil || math.Float64bits(x2) != math.Float64bits(x) || math.Float64bits(y2) != math.Float64bits(y) {
			t.Fatalf("re-encoding (%v %v) gave (%v %v), %v", x, y, x2, y2, err)
		}
		if b[0] == 1 && !bytes.Equal(EncodeWKB(Point{x, y, 0}), b) {
			t.Fatalf("little-endian input %x re-encodes differently", b)
		}
	})
}
