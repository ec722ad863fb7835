package httpapi

import (
	"math"
	"testing"
)

func TestParseBBox(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"-122.5,47.3,-121.9,47.7", true},
		{" -180 , -90 , 180 , 90 ", true},
		{"-122,47,-122,47", true}, // a point
		{"1,2,3", false},
		{"1,2,3,4,5", false},
		{"-121,47,-122,48", false}, // min after max
		{"-122,48,-121,47", false},
		{"-181,0,0,1", false},
		{"0,-91,1,0", false},
		{"NaN,0,1,1", false},
		{"0,0,Inf,1", false},
		{"a,b,c,d", false},
		{"", false},
	}
	for _, tt := range tests {
		if _, ok := parseBBox(tt.in); ok != tt.ok {
			t.Errorf("parseBBox(%q) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
}

// FuzzParseBBox: whatever a client sends, an accepted box is finite, in
// the world and ordered.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"-122.5,47.3,-121.9,47.7", "1,2,3", "NaN,0,1,1", "1e308,0,1e309,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := parseBBox(s)
		if !ok {
			return
		}
		for _, v := range []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("parseBBox(%q) = %v", s, b)
			}
		}
		if b.Min[0] < -180 || b.Max[0] > 180 || b.Min[1] < -90 || b.Max[1] > 90 || b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] {
			t.Fatalf("parseBBox(%q) = %v: outside the world or unordered", s, b)
		}
	})
}
