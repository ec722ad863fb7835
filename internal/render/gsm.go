package render

import (
	"fmt"
	"unicode/utf16"
)

// Encoding is how an SMS travels, which decides how much fits in a segment.
type Encoding int

const (
	GSM7 Encoding = iota // the GSM 03.38 default alphabet and its extension table
	UCS2                 // UTF-16, for any text GSM-7 cannot carry
)

func (e Encoding) String() string {
	switch e {
	case GSM7:
		return "GSM-7"
	case UCS2:
		return "UCS-2"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// Segment capacities. A part of a concatenated message loses room to the
// header that tells the phone how to reassemble it.
const (
	gsmSingle, gsmPart = 160, 153 // septets
	ucsSingle, ucsPart = 70, 67   // UTF-16 code units
)

// The GSM 03.38 default alphabet in table order, without ESC (0x1B), and its
// extension table, whose characters cost an ESC septet more.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅå" +
		"Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
		" !\"#¤%&'()*+,-./" +
		"0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNO" +
		"PQRSTUVWXYZÄÖÑÜ§" +
		"¿abcdefghijklmno" +
		"pqrstuvwxyzäöñüà"
	gsmExtension = "\f^{}\\[~]|€"
)

// gsmSeptets is the cost in septets of each character GSM-7 can carry.
var gsmSeptets = func() map[rune]int {
	m := make(map[rune]int, 137)
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// IsGSM7 reports whether every character of text is in the GSM-7 default
// alphabet or its extension table, so that it can be sent as GSM-7.
func IsGSM7(text string) bool {
	for _, r := range text {
		if gsmSeptets[r] == 0 {
			return false
		}
	}
	return true
}

// Segments returns how many SMS segments text needs and the encoding it
// will be sent in: GSM-7 if IsGSM7, else UCS-2. Empty text needs 0.
//
// A multipart message cannot split an escaped GSM-7 character or a UTF-16
// surrogate pair between parts, so it may need one more part than its
// length divided by the part size suggests.
func Segments(text string) (n int, enc Encoding) {
	if text == "" {
		return 0, GSM7
	}
	width := func(r rune) int { return gsmSeptets[r] }
	single, part := gsmSingle, gsmPart
	if !IsGSM7(text) {
		enc = UCS2
		width = utf16.RuneLen
		single, part = ucsSingle, ucsPart
	}
	total := 0
	for _, r := range text {
		total += width(r)
	}
	if total <= single {
		return 1, enc
	}
	n, used := 1, 0
	for _, r := range text {
		w := width(r)
		if used+w > part {
			n, used = n+1, 0
		}
		used += w
	}
	return n, enc
}
