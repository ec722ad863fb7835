package cap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/charmap"
)

// MaxSize is the largest document Parse accepts, in bytes. Real alerts are a
// few kilobytes; the bound keeps a hostile submission from costing much.
const MaxSize = 1 << 20

var (
	// ErrTooLarge reports a document longer than MaxSize.
	ErrTooLarge = fmt.Errorf("cap: document exceeds the %d-byte limit (MaxSize)", MaxSize)

	// ErrDTD reports a document with a DOCTYPE or other <!...> declaration.
	// Herald never resolves DTDs or entities (XXE), so it refuses them.
	ErrDTD = errors.New("cap: DOCTYPE and entity declarations are not allowed")

	// ErrCharset reports an encoding declaration other than UTF-8,
	// ISO-8859-1 or US-ASCII.
	ErrCharset = errors.New("cap: unsupported character encoding; Herald reads UTF-8, ISO-8859-1 and US-ASCII")
)

// versions maps the namespaces of earlier CAP versions to their numbers, so
// that an old alert gets a precise error instead of "wrong root element".
var versions = map[string]string{
	"http://www.incident.com/cap/1.0":      "1.0", // the namespace CAP 1.0 was published with
	"urn:oasis:names:tc:emergency:cap:1.0": "1.0",
	"urn:oasis:names:tc:emergency:cap:1.1": "1.1",
}

// VersionError reports an alert in an earlier CAP version.
type VersionError struct {
	Version string // "1.0" or "1.1"
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("CAP %s is not supported; Herald accepts CAP 1.2", e.Version)
}

// RootError reports a well-formed document whose root is not a CAP 1.2
// <alert>, such as an Atom feed or an EDXL-DE wrapper.
type RootError struct {
	Name xml.Name // the root element found
}

func (e *RootError) Error() string {
	if e.Name.Space == "" {
		return fmt.Sprintf("cap: root element is <%s> with no namespace; want <alert> in %s", e.Name.Local, Namespace)
	}
	return fmt.Sprintf("cap: root element is <%s> in namespace %q; want <alert> in %s", e.Name.Local, e.Name.Space, Namespace)
}

// MaxDepth is the deepest element nesting Parse accepts. CAP itself nests
// five deep (alert/info/area/geocode/value) and an XML signature a few
// more; the bound keeps a hostile document from costing much.
const MaxDepth = 32

// DepthError reports elements nested deeper than MaxDepth.
type DepthError struct {
	Path string // the element path where the limit was passed
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("cap: %s: elements nested deeper than %d", e.Path, MaxDepth)
}

// SyntaxError reports a document that is not well-formed XML, or has
// something other than comments and processing instructions outside its
// root element.
type SyntaxError struct {
	Line int // 1-based; 0 when unknown
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return "cap: malformed XML: " + e.Msg
	}
	return fmt.Sprintf("cap: malformed XML at line %d: %s", e.Line, e.Msg)
}

// Parse reads a CAP 1.2 alert. It refuses documents larger than MaxSize,
// DTDs (ErrDTD), other CAP versions (*VersionError), other root elements
// (*RootError) and malformed XML (*SyntaxError), and trims the whitespace
// around every text value. Elements in other namespaces, such as an XML
// signature, are skipped. Parse does not check CAP's rules: call Validate.
func Parse(data []byte) (*Alert, error) {
	if len(data) > MaxSize {
		return nil, ErrTooLarge
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark

	inner := xml.NewDecoder(bytes.NewReader(data))
	inner.CharsetReader = charsetReader
	f := &filter{d: inner}
	d := xml.NewTokenDecoder(f)

	root, err := d.Token()
	if err != nil {
		return nil, wrapError(err)
	}
	start := root.(xml.StartElement) // the filter returns nothing else before the root
	if start.Name.Local == "alert" && versions[start.Name.Space] != "" {
		return nil, &VersionError{Version: versions[start.Name.Space]}
	}
	if start.Name != (xml.Name{Space: Namespace, Local: "alert"}) {
		return nil, &RootError{Name: start.Name}
	}

	var a Alert
	if err := d.DecodeElement(&a, &start); err != nil {
		return nil, wrapError(err)
	}
	// Reading on to the end catches trailing elements or text.
	if _, err := d.Token(); err != io.EOF {
		return nil, wrapError(err)
	}
	return &a, nil
}

// filter sits between the XML tokenizer and encoding/xml's struct decoder.
// It enforces what the decoder is lenient about (one root, no DTD, the XML
// declaration first), drops elements outside the CAP namespace with their
// content, and hands on each run of text trimmed, so that text split by a
// comment or CDATA section is trimmed once, as a whole.
type filter struct {
	d        *xml.Decoder
	depth    int // open CAP elements, the root included
	foreign  int // open elements of a skipped foreign subtree
	rootDone bool
	path     []string  // local names of the open elements, foreign ones included
	text     []byte    // the current run of text
	next     xml.Token // an element token held back while its text goes first
}

func (f *filter) Token() (xml.Token, error) {
	if f.next != nil {
		t := f.next
		f.next = nil
		return t, nil
	}
	for {
		offset := f.d.InputOffset()
		tok, err := f.d.Token()
		if err == io.EOF && !f.rootDone {
			return nil, f.syntaxError("no root element")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, ErrDTD
		case xml.ProcInst:
			if t.Target == "xml" && offset != 0 {
				return nil, f.syntaxError("XML declaration not at the start of the document")
			}
		case xml.CharData:
			switch {
			case f.foreign > 0: // dropped with its element
			case f.depth == 0:
				if len(bytes.TrimLeft(t, xmlSpace)) > 0 {
					return nil, f.syntaxError("text outside the root element")
				}
			default:
				f.text = append(f.text, t...)
			}
		case xml.StartElement:
			f.path = append(f.path, t.Name.Local)
			if len(f.path) > MaxDepth {
				shown := append(f.path[:4:4], "…", t.Name.Local)
				return nil, &DepthError{Path: strings.Join(shown, "/")}
			}
			switch {
			case f.foreign > 0 || f.depth > 0 && t.Name.Space != Namespace:
				f.foreign++
			case f.rootDone:
				return nil, f.syntaxError("content after the root element")
			default:
				f.depth++
				// Names arrive resolved; without the xmlns attributes the
				// struct decoder has nothing to re-resolve them against.
				return f.emit(xml.StartElement{Name: t.Name})
			}
		case xml.EndElement:
			if len(f.path) > 0 {
				f.path = f.path[:len(f.path)-1]
			}
			if f.foreign > 0 {
				f.foreign--
				continue
			}
			f.depth--
			f.rootDone = f.depth == 0
			return f.emit(t)
		}
	}
}

// xmlSpace is XML's whitespace (the S production), narrower than Unicode's.
const xmlSpace = " \t\r\n"

// emit returns the pending text run, trimmed, and holds t back for the next
// call; or t itself when there is no text.
func (f *filter) emit(t xml.Token) (xml.Token, error) {
	text := bytes.Trim(f.text, xmlSpace)
	f.text = nil
	if len(text) == 0 {
		return t, nil
	}
	f.next = t
	return xml.CharData(text), nil
}

func (f *filter) syntaxError(msg string) error {
	line, _ := f.d.InputPos()
	return &SyntaxError{Line: line, Msg: msg}
}

// wrapError turns encoding/xml's errors into this package's.
func wrapError(err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return &SyntaxError{Line: se.Line, Msg: se.Msg}
	case errors.Is(err, ErrDTD), errors.Is(err, ErrCharset), errors.As(err, new(*SyntaxError)), errors.As(err, new(*DepthError)):
		return err
	}
	return fmt.Errorf("cap: reading XML: %w", err)
}

// declaredEncoding finds the encoding attribute of an XML declaration.
var declaredEncoding = regexp.MustCompile(`^(\s*<\?xml[^>]*?\bencoding\s*=\s*["'])([^"']*)(["'])`)

// ToUTF8 returns data, a document Parse accepts, as UTF-8 with a matching
// declaration: Herald stores and forwards UTF-8 whatever the publisher
// declared, so that nobody downstream reads Latin-1 bytes as UTF-8.
func ToUTF8(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	m := declaredEncoding.FindSubmatchIndex(data)
	if m == nil {
		return data, nil // no declaration: XML's default, UTF-8
	}
	label := strings.ToLower(string(data[m[4]:m[5]]))
	if label == "utf-8" {
		return data, nil
	}
	r, err := charsetReader(label, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	utf8, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cap: convert %s to UTF-8: %w", label, err)
	}
	// The declaration is ASCII, so its offsets are the same after decoding.
	out := make([]byte, 0, len(utf8))
	out = append(out, utf8[:m[4]]...)
	out = append(out, "UTF-8"...)
	return append(out, utf8[m[5]:]...), nil
}

// charsetReader decodes the encodings CAP publishers actually declare.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1":
		return charmap.ISO8859_1.NewDecoder().Reader(r), nil
	case "us-ascii", "ascii", "utf8":
		// ASCII is a subset of UTF-8, which the tokenizer reads natively.
		return r, nil
	}
	return nil, ErrCharset
}
