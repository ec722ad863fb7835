package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/herald-alerts/herald/broadcaster/api"
)

// importOptions shape `herald subscriber import`.
type importOptions struct {
	chunk    int // rows per request
	fromLine int // file line to start at (resume)
}

// importCSV streams a residents file to the server in chunks of rows (each
// its own request, well inside the server's limit and the client's
// timeout), reports rejected rows by their line in the file, shows
// progress on a terminal, and on a failure says from which line to run
// again: rows before it are stored, and importing a row twice is safe.
func importCSV(ctx context.Context, cmd *cobra.Command, f *clientFlags, path string, o importOptions) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	size := int64(0)
	if fi, err := file.Stat(); err == nil {
		size = fi.Size()
	}
	counted := &countingReader{r: file}
	r := csv.NewReader(counted)
	r.FieldsPerRecord = -1 // the server reports short rows, by line
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: read the header: %w", path, err)
	}
	progress := newProgress(cmd.ErrOrStderr(), size)
	if f.json {
		progress.on = false
	}
	var (
		imported, rejected int
		all                api.Imported // for --json, lines in the file
		body               bytes.Buffer
		lines              []int // file line of each row of the chunk
		start              = time.Now()
	)
	send := func() error {
		if len(lines) == 0 {
			return nil
		}
		raw, err := f.client().Upload(ctx, "/v1/subscribers/import", "text/csv", body.Bytes())
		if err != nil {
			progress.done()
			if errors.Is(err, context.Canceled) {
				err = errors.New("interrupted")
			}
			return fmt.Errorf("%w\nrows before line %d are imported; run again with --from-line %d to go on (importing a row twice is safe)", refused(cmd, f, err), lines[0], lines[0])
		}
		var res api.Imported
		if err := json.Unmarshal(raw, &res); err != nil {
			return fmt.Errorf("server answer: %w", err)
		}
		imported += res.Imported
		rejected += len(res.Rejected)
		for _, rj := range res.Rejected {
			line := rj.Line
			if i := rj.Line - 2; i >= 0 && i < len(lines) { // the chunk's row i is on its line i+2
				line = lines[i]
			}
			rj.Line = line
			all.Rejected = append(all.Rejected, rj)
			if f.json {
				continue
			}
			progress.clear()
			fmt.Fprintf(cmd.ErrOrStderr(), "%s:%d: %s\n", path, line, rj.Message)
		}
		progress.show(counted.n, imported, time.Since(start))
		body.Reset()
		lines = lines[:0]
		return nil
	}
	w := csv.NewWriter(&body)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			msg := "not valid CSV: " + perr.Err.Error()
			all.Rejected = append(all.Rejected, api.RowError{Line: perr.StartLine, Message: msg})
			if !f.json {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s:%d: %s\n", path, perr.StartLine, msg)
			}
			rejected++
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if line < o.fromLine {
			continue
		}
		if len(lines) == 0 {
			_ = w.Write(header)
		}
		// A field with a line break would shift the server's line numbers
		// within the chunk; such a row is refused by the server anyway.
		for i := range rec {
			rec[i] = strings.ReplaceAll(strings.ReplaceAll(rec[i], "\r", " "), "\n", " ")
		}
		_ = w.Write(rec)
		w.Flush()
		lines = append(lines, line)
		if len(lines) == o.chunk {
			if err := send(); err != nil {
				return err
			}
		}
	}
	w.Flush()
	if err := send(); err != nil {
		return err
	}
	progress.done()
	if f.json {
		all.Imported = imported
		if all.Rejected == nil {
			all.Rejected = []api.RowError{}
		}
		b, _ := json.Marshal(all)
		return printJSON(cmd.OutOrStdout(), b)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %d residents, skipped %d rows (%s)\n", imported, rejected, time.Since(start).Round(time.Millisecond))
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progress draws one updating line on a terminal; elsewhere it is silent.
type progress struct {
	w    io.Writer
	size int64
	on   bool
	last int
}

func newProgress(w io.Writer, size int64) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			on = true
		}
	}
	return &progress{w: w, size: size, on: on}
}

func (p *progress) show(read int64, imported int, took time.Duration) {
	if !p.on {
		return
	}
	pct := 100.0
	if p.size > 0 {
		pct = float64(read) * 100 / float64(p.size)
	}
	const width = 30
	bar := strings.Repeat("#", int(pct/100*width)) + strings.Repeat(".", width-int(pct/100*width))
	line := fmt.Sprintf("\r[%s] %5.1f%%  %d residents imported, %.0f rows/s", bar, pct, imported, float64(imported)/max(took.Seconds(), 0.001))
	p.last = len(line)
	fmt.Fprint(p.w, line)
}

func (p *progress) clear() {
	if p.on && p.last > 0 {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.last)+"\r")
		p.last = 0
	}
}

func (p *progress) done() {
	if p.on && p.last > 0 {
		fmt.Fprintln(p.w)
		p.last = 0
	}
}
