package render

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGSMAlphabetSize(t *testing.T) {
	// 128 code points less ESC; 10 extension characters.
	if n := utf8.RuneCountInString(gsmBasic); n != 127 {
		t.Errorf("basic alphabet has %d characters, want 127", n)
	}
	if n := len(gsmSeptets); n != 137 {
		t.Errorf("GSM-7 has %d characters, want 137 (a duplicate?)", n)
	}
}

func TestSegments(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		name string
		text string
		n    int
		enc  Encoding
	}{
		{"empty", "", 0, GSM7},
		{"160 GSM chars", r("a", 160), 1, GSM7},
		{"161 GSM chars", r("a", 161), 2, GSM7},
		{"306 GSM chars", r("a", 306), 2, GSM7},
		{"307 GSM chars", r("a", 307), 3, GSM7},
		{"80 extension chars count 2", r("€", 80), 1, GSM7},
		{"81 extension chars count 2", r("€", 81), 2, GSM7},
		{"every extension char", "^{}\\[~]|€\f", 1, GSM7},
		{"escape pair not split across parts", r("a", 152) + "€" + r("a", 152), 3, GSM7},
		{"GSM accents", "éèùìòÇØøÅåÄÖÑÜ§ñäöüàÉÆæß¿¡", 1, GSM7},
		{"Greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", 1, GSM7},
		{"70 UCS-2 chars", r("á", 70), 1, UCS2},
		{"71 UCS-2 chars", r("á", 71), 2, UCS2},
		{"134 UCS-2 chars", r("á", 134), 2, UCS2},
		{"135 UCS-2 chars", r("á", 135), 3, UCS2},
		{"emoji is a surrogate pair", "🚨", 1, UCS2},
		{"35 emoji are 70 units", r("🚨", 35), 1, UCS2},
		{"36 emoji are 72 units", r("🚨", 36), 2, UCS2},
		{"surrogate pair not split across parts", r("á", 66) + "🚨" + r("á", 66), 3, UCS2},
		{"unicode ellipsis flips to UCS-2", "Boil water…", 1, UCS2},
		{"á", "á", 1, UCS2},
		{"í", "í", 1, UCS2},
		{"ó", "ó", 1, UCS2},
		{"ú", "ú", 1, UCS2},
		{"Á", "Á", 1, UCS2},
		{"Í", "Í", 1, UCS2},
		{"Ó", "Ó", 1, UCS2},
		{"Ú", "Ú", 1, UCS2},
		{"one non-GSM char flips 100 GSM chars", r("a", 100) + "ó", 2, UCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, enc := Segments(tt.text)
			if n != tt.n || enc != tt.enc {
				t.Errorf("Segments = %d, %v; want %d, %v", n, enc, tt.n, tt.enc)
			}
			if got := IsGSM7(tt.text); got != (tt.enc == GSM7) {
				t.Errorf("IsGSM7 = %v", got)
			}
		})
	}
}
