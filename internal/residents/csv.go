package residents

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-alerts/herald/channels/phone"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Limits on a CSV file; beyond them ParseCSV fails with ErrTooLarge.
const (
	MaxCSVRows  = 1_000_000
	MaxCSVBytes = 100 << 20
)

// Errors ParseCSV fails with, rather than reporting a row.
var (
	ErrTooLarge = fmt.Errorf("residents: CSV larger than %d rows or %d MiB", MaxCSVRows, MaxCSVBytes>>20)
	ErrHeader   = errors.New("residents: bad CSV header")
)

// RowError is a CSV row that was skipped, and why. Message names the
// field and the problem, never the value.
type RowError struct {
	Line    int    `json:"line"` // 1-based line in the file; the header is usually line 1
	Message string `json:"message"`
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// CSV columns: the first three are required.
const (
	colPhone = "phone"
	colLat   = "lat"
	colLon   = "lon"
	colLang  = "language"
	colExer  = "exercise"
)

var columns = []string{colPhone, colLat, colLon, colLang, colExer}

// ParseCSV reads residents from r: a header line naming the columns phone,
// lat and lon and optionally language and exercise, in any order, then one
// resident per line. Numbers without a country code are read in
// defaultRegion (ISO 3166 alpha-2, as phone.Normalize takes it; "" means
// US). A UTF-8 byte-order mark, CRLF line ends, quoted fields and blank
// lines are fine. exercise is true or false (also yes/no, 1/0; empty means
// false); language empty means DefaultLanguage.
//
// Each bad row is skipped and reported in problems; good rows are returned
// normalized (E.164 phone, canonical language) and pass Validate. When the
// same phone number appears more than once, the last row wins and takes the
// place of the first. err is ErrHeader (wrapped) for a missing or bad
// header, ErrTooLarge beyond MaxCSVRows or MaxCSVBytes, or a read error.
func ParseCSV(r io.Reader, defaultRegion string) (rows []Resident, problems []RowError, err error) {
	return parseCSV(r, defaultRegion, MaxCSVRows, MaxCSVBytes)
}

func parseCSV(r io.Reader, defaultRegion string, maxRows int, maxBytes int64) (rows []Resident, problems []RowError, err error) {
	cr := csv.NewReader(&limitReader{r: r, n: maxBytes})
	cr.FieldsPerRecord = -1 // a short row is that row's problem, not the file's
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("%w: the file is empty; want %s", ErrHeader, strings.Join(columns, ","))
	}
	if err != nil {
		return nil, nil, readError(err)
	}
	col, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}
	width := len(header)

	seen := map[string]int{} // phone -> index in rows
	for n := 0; ; {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, problems, nil
		}
		if err == nil && blank(rec) {
			continue
		}
		if n++; n > maxRows {
			return nil, nil, ErrTooLarge
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) && !errors.Is(err, ErrTooLarge) {
			// csv's messages name the problem and position, not the data.
			problems = append(problems, RowError{Line: perr.StartLine, Message: "not valid CSV: " + perr.Err.Error()})
			continue
		}
		if err != nil {
			return nil, nil, readError(err)
		}
		line, _ := cr.FieldPos(0)
		res, msg := parseRow(rec, col, width, defaultRegion)
		if msg != "" {
			problems = append(problems, RowError{Line: line, Message: msg})
			continue
		}
		if i, dup := seen[res.Phone]; dup {
			rows[i] = res
			continue
		}
		seen[res.Phone] = len(rows)
		rows = append(rows, res)
	}
}

func readError(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return ErrTooLarge
	}
	return fmt.Errorf("residents: read CSV: %w", err)
}

// headerName is what a column name may look like to be quoted in an
// error: without digits, so a missing header's phone number is not echoed.
var headerName = regexp.MustCompile(`^[A-Za-z _-]{1,32}$`)

// parseHeader maps each known column to its position (-1: absent).
func parseHeader(header []string) (map[string]int, error) {
	col := map[string]int{}
	for _, c := range columns {
		col[c] = -1
	}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF")
		}
		name = strings.ToLower(strings.TrimSpace(name))
		pos, known := col[name]
		switch {
		case !known:
			what := fmt.Sprintf("column %d", i+1)
			if headerName.MatchString(name) {
				what = fmt.Sprintf("column %d (%q)", i+1, name)
			}
			return nil, fmt.Errorf("%w: %s is not one of %s (is the header line missing?)",
				ErrHeader, what, strings.Join(columns, ", "))
		case pos >= 0:
			return nil, fmt.Errorf("%w: column %q appears twice", ErrHeader, name)
		}
		col[name] = i
	}
	for _, c := range columns[:3] {
		if col[c] < 0 {
			return nil, fmt.Errorf("%w: no %q column; want %s", ErrHeader, c, strings.Join(columns, ","))
		}
	}
	return col, nil
}

// parseRow turns one record into a normalized resident, or says what is
// wrong with it ("" when nothing is).
func parseRow(rec []string, col map[string]int, width int, defaultRegion string) (Resident, string) {
	if len(rec) != width {
		return Resident{}, fmt.Sprintf("want %d fields, got %d", width, len(rec))
	}
	field := func(name string) string {
		if i := col[name]; i >= 0 {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	r := Resident{
		Phone:    field(colPhone),
		Lat:      parseFloat(field(colLat)),
		Lon:      parseFloat(field(colLon)),
		Language: field(colLang),
	}
	exercise, ok := parseBool(field(colExer))
	r.Exercise = exercise

	r, errs := check(r, defaultRegion)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	if !ok {
		msgs = append(msgs, colExer+": want true or false")
	}
	return r, strings.Join(msgs, "; ")
}

// parseFloat returns NaN for anything that is not a finite number, so the
// range check reports it.
func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}

func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "", "false", "no", "0":
		return false, true
	case "true", "yes", "1":
		return true, true
	}
	return false, false
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// limitReader reads at most n bytes from r and fails with ErrTooLarge if
// there are more.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	// Read one byte past the limit to tell "exactly n" from "more".
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	return k, err
}

// importWorkers is how many Puts Import keeps in flight for residents
// already stored: each is two round trips, so throughput comes from
// overlapping them.
const importWorkers = 64

// importWindow bounds the new residents' creates awaiting JetStream's ack.
const importWindow = 2048

// Import stores rows (typically from ParseCSV) and returns how many were
// stored. A row for a number not yet stored is written with one pipelined
// create; a row for an existing resident (or a number repeated in rows)
// goes through Put, which keeps its Created and OptedOut. It stops at the
// first failure, whose error names the row's 1-based position in rows;
// rows already stored stay stored, and importing the same rows again is
// safe.
func (s *Store) Import(ctx context.Context, rows []Resident) (int, error) {
	existing, stored, err := s.create(ctx, rows)
	if err != nil {
		return stored, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		updated atomic.Int64
		next    atomic.Int64
		wg      sync.WaitGroup
	)
	for range min(importWorkers, len(existing)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(existing) {
					return
				}
				row := existing[i]
				if _, err := s.Put(ctx, rows[row]); err != nil {
					cancel(fmt.Errorf("residents: import row %d: %w", row+1, err))
					return
				}
				updated.Add(1)
			}
		})
	}
	wg.Wait()
	return stored + int(updated.Load()), context.Cause(ctx)
}

// create writes every row whose key is absent, pipelined (a create is a
// publish that expects the key's last sequence to be 0), and returns the
// rows whose key exists, in order, for Put.
func (s *Store) create(ctx context.Context, rows []Resident) (existing []int, stored int, err error) {
	type pending struct {
		row int
		f   jetstream.PubAckFuture
	}
	window := make([]pending, 0, importWindow)
	drain := func() error {
		defer func() { window = window[:0] }()
		for _, p := range window {
			select {
			case <-p.f.Ok():
				stored++
			case err := <-p.f.Err():
				var apiErr *jetstream.APIError
				if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
					existing = append(existing, p.row)
					continue
				}
				return fmt.Errorf("residents: import row %d: %w", p.row+1, err)
			case <-ctx.Done():
				return fmt.Errorf("residents: import: %w", ctx.Err())
			}
		}
		return nil
	}
	// A failing row stops the import once the rows before it are stored.
	fail := func(i int, err error) ([]int, int, error) {
		if derr := drain(); derr != nil {
			return existing, stored, derr
		}
		return existing, stored, fmt.Errorf("residents: import row %d: %w", i+1, err)
	}
	now := time.Now().UTC()
	for i, r := range rows {
		r, err := normalize(r, phone.DefaultRegion)
		if err != nil {
			return fail(i, err)
		}
		r.ID, r.Created, r.Updated = s.ID(r.Phone), now, now
		b, err := s.encode(r)
		if err != nil {
			return fail(i, err)
		}
		m := nats.NewMsg(keySubject + r.ID)
		m.Data = b
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
		f, err := s.js.PublishMsgAsync(m)
		if err != nil {
			return fail(i, err)
		}
		window = append(window, pending{i, f})
		if len(window) == importWindow {
			if err := drain(); err != nil {
				return existing, stored, err
			}
		}
	}
	return existing, stored, drain()
}
