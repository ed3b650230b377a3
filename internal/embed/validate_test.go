package embed

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name    string
		v       []float32
		dim     int
		m       Metric
		wantErr error
		wantMsg string
	}{
		{"ok cosine", []float32{1, 2, 3}, 3, Cosine, nil, ""},
		{"ok l2 zero", []float32{0, 0, 0}, 3, L2, nil, ""},
		{"short", []float32{1, 2}, 3, Cosine, ErrDimension, "got 2 values, the model has dimension 3"},
		{"long", []float32{1, 2, 3, 4}, 3, L2, ErrDimension, "got 4"},
		{"empty", nil, 3, L2, ErrDimension, "got 0"},
		{"nan", []float32{1, nan, 3}, 3, L2, ErrNonFinite, "value 1 is NaN"},
		{"inf", []float32{1, 2, -inf}, 3, Cosine, ErrNonFinite, "value 2 is -Inf"},
		{"zero cosine", []float32{0, 0, 0}, 3, Cosine, ErrZeroVector, "non-zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.v, tc.dim, tc.m)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Validate = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("Validate = %q, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}

func TestPrepareNormalizesACopy(t *testing.T) {
	v := []float32{3, 4}
	got, err := Prepare(v, 2, Cosine)
	if err != nil {
		t.Fatal(err)
	}
	if v[0] != 3 || v[1] != 4 {
		t.Fatalf("Prepare modified its input: %v", v)
	}
	if math.Abs(float64(got[0])-0.6) > 1e-7 || math.Abs(float64(got[1])-0.8) > 1e-7 {
		t.Fatalf("Prepare = %v, want [0.6 0.8]", got)
	}
	got, err = Prepare(v, 2, L2)
	if err != nil || got[0] != 3 || got[1] != 4 {
		t.Fatalf("Prepare(L2) = %v, %v; want the vector unchanged", got, err)
	}
}

func TestParseMetric(t *testing.T) {
	for in, want := range map[string]Metric{"": Cosine, "cosine": Cosine, "COSINE": Cosine, "l2": L2, "euclidean": L2} {
		got, err := ParseMetric(in)
		if err != nil || got != want {
			t.Errorf("ParseMetric(%q) = %v, %v; want %v", in, got, err, want)
		}
		if got.String() != want.String() {
			t.Errorf("String round trip of %q", in)
		}
	}
	if _, err := ParseMetric("dot"); !errors.Is(err, ErrUnknownMetric) {
		t.Errorf("ParseMetric(dot) = %v, want ErrUnknownMetric", err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	v := []float32{0, -1.5, float32(math.Inf(1)), 3.25e-38, math.MaxFloat32}
	b := EncodeVector(v)
	if len(b) != 4*len(v) {
		t.Fatalf("encoded %d bytes, want %d", len(b), 4*len(v))
	}
	if b[4] != 0 || b[7] != 0xbf { // -1.5 = 0xbfc00000, little-endian
		t.Fatalf("encoding is not float32 little-endian: % x", b[4:8])
	}
	got, err := DecodeVector(b, len(v))
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		if got[i] != v[i] {
			t.Fatalf("value %d: got %v want %v", i, got[i], v[i])
		}
	}
	if _, err := DecodeVector(b[:7], 2); !errors.Is(err, ErrDimension) {
		t.Fatalf("DecodeVector of 7 bytes = %v, want ErrDimension", err)
	}
}

func FuzzDecodeVector(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63}, 1)
	f.Fuzz(func(t *testing.T, b []byte, dim int) {
		if dim < 0 || dim > 1<<16 {
			return
		}
		v, err := DecodeVector(b, dim)
		if err != nil {
			return
		}
		if got := EncodeVector(v); string(got) != string(b) {
			t.Fatalf("round trip changed the bytes")
		}
	})
}
