package embed

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The stores keep a vector as its float32 values, little-endian, 4 bytes
// each, with no header: dimension × 4 bytes (docs/formats.md).

// AppendVector appends the encoding of v to dst.
func AppendVector(dst []byte, v []float32) []byte {
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
	}
	return dst
}

// EncodeVector returns the encoding of v.
func EncodeVector(v []float32) []byte {
	return AppendVector(make([]byte, 0, 4*len(v)), v)
}

// DecodeVectorInto decodes b into dst, which must have len(b)/4 elements.
func DecodeVectorInto(dst []float32, b []byte) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("%w: %d bytes encode %d/4 values, want %d", ErrDimension, len(b), len(b), len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

// DecodeVector decodes b as a vector of dim values.
func DecodeVector(b []byte, dim int) ([]float32, error) {
	v := make([]float32, dim)
	if err := DecodeVectorInto(v, b); err != nil {
		return nil, err
	}
	return v, nil
}
