package spatial

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidRegion is returned (wrapped) by Box.Validate and Sphere.Validate.
var ErrInvalidRegion = errors.New("spatial: invalid region")

// Region is a filter in projected space.
type Region interface {
	// Contains reports whether p lies in the region (boundary included).
	Contains(p Point) bool
	// Bounds returns the smallest axis-aligned box enclosing the region.
	Bounds() (min, max Point)
}

var (
	_ Region = Box{}
	_ Region = Sphere{}
)

// Box is the axis-aligned box [Min.X, Max.X] × [Min.Y, Max.Y] × [Min.Z, Max.Z],
// boundary included. A box that fails Validate contains no point.
type Box struct{ Min, Max Point }

// Contains reports whether p lies in the box, boundary included. It is false
// for points with NaN coordinates.
func (b Box) Contains(p Point) bool {
	return b.Min.X <= p.X && p.X <= b.Max.X &&
		b.Min.Y <= p.Y && p.Y <= b.Max.Y &&
		b.Min.Z <= p.Z && p.Z <= b.Max.Z
}

// Bounds returns b.Min and b.Max.
func (b Box) Bounds() (min, max Point) { return b.Min, b.Max }

// Validate returns an error wrapping ErrInvalidRegion if a bound is NaN or
// infinite or if Min exceeds Max on some axis.
func (b Box) Validate() error {
	if !finitePoint(b.Min) || !finitePoint(b.Max) {
		return fmt.Errorf("%w: box %v–%v has a non-finite bound", ErrInvalidRegion, b.Min, b.Max)
	}
	for _, ax := range [...]struct {
		name     string
		min, max float64
	}{{"x", b.Min.X, b.Max.X}, {"y", b.Min.Y, b.Max.Y}, {"z", b.Min.Z, b.Max.Z}} {
		if ax.min > ax.max {
			return fmt.Errorf("%w: box min %s = %g exceeds max %s = %g", ErrInvalidRegion, ax.name, ax.min, ax.name, ax.max)
		}
	}
	return nil
}

// Sphere is the closed ball of radius Radius around Center.
type Sphere struct {
	Center Point
	Radius float64
}

// Contains reports whether p lies in the ball, boundary included. It is
// false for points with NaN coordinates.
func (s Sphere) Contains(p Point) bool { return s.Center.Dist(p) <= s.Radius }

// Bounds returns the cube Center ± Radius.
func (s Sphere) Bounds() (min, max Point) {
	c, r := s.Center, s.Radius
	return Point{c.X - r, c.Y - r, c.Z - r}, Point{c.X + r, c.Y + r, c.Z + r}
}

// Validate returns an error wrapping ErrInvalidRegion if the centre or the
// radius is NaN or infinite or the radius is negative.
func (s Sphere) Validate() error {
	switch {
	case !finitePoint(s.Center):
		return fmt.Errorf("%w: sphere centre %v is not finite", ErrInvalidRegion, s.Center)
	case math.IsNaN(s.Radius) || math.IsInf(s.Radius, 0):
		return fmt.Errorf("%w: sphere radius %g is not finite", ErrInvalidRegion, s.Radius)
	case s.Radius < 0:
		return fmt.Errorf("%w: sphere radius %g is negative", ErrInvalidRegion, s.Radius)
	}
	return nil
}

func finitePoint(p Point) bool {
	for _, c := range [...]float64{p.X, p.Y, p.Z} {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return false
		}
	}
	return true
}
