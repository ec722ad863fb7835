package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
)

// Marshal emits a as an indented CAP 1.2 document in UTF-8, with the XML
// declaration and the CAP namespace. Parse(Marshal(a)) equals a for any a
// that Parse returned. Marshal does not validate: call Validate first.
func Marshal(a *Alert) ([]byte, error) {
	if a == nil {
		return nil, errors.New("cap: marshal: nil alert")
	}
	body, err := xml.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cap: marshal alert %q: %w", a.Identifier, err)
	}
	// encoding/xml writes every newline in text as "&#xA;", which makes a
	// multi-line description unreadable. A literal newline parses back the
	// same, and the only attribute written is the fixed xmlns, so no
	// attribute value (where a newline would be normalized) is affected.
	body = bytes.ReplaceAll(body, []byte("&#xA;"), []byte("\n"))

	out := make([]byte, 0, len(xml.Header)+len(body)+1)
	out = append(out, xml.Header...) // <?xml version="1.0" encoding="UTF-8"?>
	out = append(out, body...)
	return append(out, '\n'), nil
}
