package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/internal/alertlog"
)

// capSchema is the OASIS CAP 1.2 schema, as copied into the CAP package's
// testdata.
const capSchema = "../broadcaster/cap/testdata/schema/CAP-v1.2.xsd"

// emitted collects the CAP of every alert any Herald of the suite stored
// (what it serves as .cap and forwards to NATS feeds and webhooks), to be
// checked against the schema once the suite has run.
var emitted struct {
	sync.Mutex
	dir string
	n   int
}

// collectCAP copies the alerts h stored, before h stops.
func collectCAP(h *herald) {
	if h.Herald == nil || h.Conn() == nil || h.Conn().IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, err := jetstream.New(h.Conn())
	if err != nil {
		return
	}
	s, err := js.Stream(ctx, alertlog.StreamName)
	if err != nil {
		return
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(alertlog.SubjectLog+"*"))
	if err != nil {
		return
	}
	emitted.Lock()
	defer emitted.Unlock()
	for subject := range info.State.Subjects {
		m, err := s.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			continue
		}
		emitted.n++
		_ = os.WriteFile(filepath.Join(emitted.dir, fmt.Sprintf("%06d.xml", emitted.n)), m.Data, 0o600)
	}
}

// TestMain runs the suite, then every alert it stored through the OASIS
// XSD with xmllint (installed by CI; skipped with a note when absent):
// whatever Herald serves or forwards is schema-valid CAP.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-emitted-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	emitted.dir = dir
	code := m.Run()
	if code == 0 {
		code = checkEmitted()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func checkEmitted() int {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		fmt.Printf("schema check of %d stored alerts skipped: xmllint not installed (apt-get install libxml2-utils)\n", emitted.n)
		return 0
	}
	files, _ := filepath.Glob(filepath.Join(emitted.dir, "*.xml"))
	bad := 0
	for start := 0; start < len(files); start += 200 {
		batch := files[start:min(start+200, len(files))]
		out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", capSchema}, batch...)...).CombinedOutput()
		if err != nil {
			for _, line := range strings.Split(string(out), "\n") {
				if line != "" && !strings.HasSuffix(line, " validates") {
					fmt.Println(line)
					bad++
				}
			}
		}
	}
	fmt.Printf("schema check: %d alerts stored by the suite, checked against the OASIS CAP 1.2 XSD with xmllint\n", len(files))
	if bad > 0 {
		fmt.Printf("FAIL: %d lines of schema errors above\n", bad)
		return 1
	}
	return 0
}
