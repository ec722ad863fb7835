package cap

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestMarshalDocument(t *testing.T) {
	data, err := os.ReadFile("testdata/boil_water.xml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">` + "\n",
		"\n  <identifier>PHSKC-2026-BWA-0042</identifier>\n",
		"\n  <info>\n    <language>en-US</language>\n", // indented
		"after a main break.\nWater from the tap",      // newlines stay readable, not &#xA;
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !bytes.HasSuffix(out, []byte("</alert>\n")) {
		t.Errorf("output does not end with </alert> and a newline")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	tricky := validAlert()
	tricky.Note = "a < b & c > d \"quoted\" 'single'\r\nline two\ttab é 🚰"
	tricky.Code = []string{"", "IPAWSv1.0"}
	tricky.Info[0].Area[0].Polygon = append(tricky.Info[0].Area[0].Polygon, "")
	tests := []struct {
		name  string
		alert *Alert
	}{
		{"valid", validAlert()},
		{"escapes, CR, empty list items", tricky},
		{"empty", &Alert{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Go through Parse first: Marshal promises a round trip for what
			// Parse returns (it sets XMLName, and values are trimmed).
			out, err := Marshal(tt.alert)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal): %v\n%s", err, out)
			}
			assertRoundTrip(t, a)
		})
	}
}

func TestMarshalNil(t *testing.T) {
	if _, err := Marshal(nil); err == nil || !strings.Contains(err.Error(), "nil alert") {
		t.Errorf("Marshal(nil) error = %v", err)
	}
}

// assertRoundTrip checks that Parse(Marshal(a)) deep-equals a parsed a.
func assertRoundTrip(t *testing.T, a *Alert) {
	t.Helper()
	out, err := Marshal(a)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	b, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(a)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("Parse(Marshal(a)) differs from a:\n a: %#v\n b: %#v", a, b)
	}
}
