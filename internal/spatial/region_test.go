package spatial

import (
	"errors"
	"math"
	"testing"
)

func TestBoxContains(t *testing.T) {
	nan := math.NaN()
	unit := Box{Min: Point{0, 0, 0}, Max: Point{1, 2, 3}}
	tests := []struct {
		name string
		box  Box
		p    Point
		want bool
	}{
		{"inside", unit, Point{0.5, 1, 1.5}, true},
		{"min corner", unit, Point{0, 0, 0}, true},
		{"max corner", unit, Point{1, 2, 3}, true},
		{"on a face", unit, Point{1, 1, 1}, true},
		{"below x", unit, Point{-1e-12, 1, 1}, false},
		{"above y", unit, Point{0.5, 2.0000001, 1}, false},
		{"above z", unit, Point{0.5, 1, 3.5}, false},
		{"NaN point", unit, Point{nan, 1, 1}, false},
		{"degenerate box, its point", Box{Point{1, 1, 1}, Point{1, 1, 1}}, Point{1, 1, 1}, true},
		{"degenerate box, other point", Box{Point{1, 1, 1}, Point{1, 1, 1}}, Point{1, 1, 1.5}, false},
		{"inverted box", Box{Point{1, 1, 1}, Point{0, 0, 0}}, Point{0.5, 0.5, 0.5}, false},
		{"infinite box", Box{Point{math.Inf(-1), math.Inf(-1), 0}, Point{math.Inf(1), math.Inf(1), 0}}, Point{-1e300, 1e300, 0}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.box.Contains(tc.p); got != tc.want {
				t.Errorf("%v.Contains(%v) = %v, want %v", tc.box, tc.p, got, tc.want)
			}
			if min, max := tc.box.Bounds(); min != tc.box.Min || max != tc.box.Max {
				t.Errorf("Bounds() = %v, %v", min, max)
			}
		})
	}
}

func TestBoxValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		box  Box
		ok   bool
	}{
		{"zero box", Box{}, true},
		{"unit box", Box{Point{0, 0, 0}, Point{1, 1, 1}}, true},
		{"negative coordinates", Box{Point{-3, -2, 0}, Point{-1, -1, 0}}, true},
		{"min x > max x", Box{Point{2, 0, 0}, Point{1, 1, 1}}, false},
		{"min y > max y", Box{Point{0, 2, 0}, Point{1, 1, 1}}, false},
		{"min z > max z", Box{Point{0, 0, 2}, Point{1, 1, 1}}, false},
		{"NaN min", Box{Point{nan, 0, 0}, Point{1, 1, 1}}, false},
		{"NaN max", Box{Point{0, 0, 0}, Point{1, 1, nan}}, false},
		{"infinite max", Box{Point{0, 0, 0}, Point{inf, 1, 1}}, false},
		{"infinite min", Box{Point{0, -inf, 0}, Point{1, 1, 1}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.box.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok = %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidRegion) {
				t.Errorf("Validate() = %v, want it to wrap ErrInvalidRegion", err)
			}
		})
	}
}

func TestSphereContains(t *testing.T) {
	s := Sphere{Center: Point{1, 1, 1}, Radius: 5}
	tests := []struct {
		name   string
		sphere Sphere
		p      Point
		want   bool
	}{
		{"centre", s, Point{1, 1, 1}, true},
		{"inside", s, Point{2, 3, 4}, true},
		{"on the boundary", s, Point{4, 5, 1}, true}, // 3-4-5
		{"just outside", s, Point{4, 5, 1.001}, false},
		{"far away", s, Point{100, 0, 0}, false},
		{"corner of the bounds", s, Point{6, 6, 6}, false},
		{"NaN point", s, Point{math.NaN(), 1, 1}, false},
		{"zero radius, centre", Sphere{Point{1, 2, 3}, 0}, Point{1, 2, 3}, true},
		{"zero radius, elsewhere", Sphere{Point{1, 2, 3}, 0}, Point{1, 2, 3.0000001}, false},
		{"negative radius", Sphere{Point{1, 2, 3}, -1}, Point{1, 2, 3}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sphere.Contains(tc.p); got != tc.want {
				t.Errorf("%v.Contains(%v) = %v, want %v", tc.sphere, tc.p, got, tc.want)
			}
			// Every contained point lies in the bounds.
			if min, max := tc.sphere.Bounds(); tc.want && !(Box{min, max}).Contains(tc.p) {
				t.Errorf("Bounds() = %v, %v does not contain %v", min, max, tc.p)
			}
		})
	}
	if min, max := s.Bounds(); min != (Point{-4, -4, -4}) || max != (Point{6, 6, 6}) {
		t.Errorf("Bounds() = %v, %v; want (-4,-4,-4), (6,6,6)", min, max)
	}
}

func TestSphereValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		sphere Sphere
		ok     bool
	}{
		{"zero", Sphere{}, true},
		{"unit", Sphere{Point{1, 2, 3}, 1}, true},
		{"negative radius", Sphere{Point{}, -1e-300}, false},
		{"NaN radius", Sphere{Point{}, nan}, false},
		{"infinite radius", Sphere{Point{}, inf}, false},
		{"NaN centre", Sphere{Point{0, nan, 0}, 1}, false},
		{"infinite centre", Sphere{Point{0, 0, -inf}, 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sphere.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok = %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidRegion) {
				t.Errorf("Validate() = %v, want it to wrap ErrInvalidRegion", err)
			}
		})
	}
}
