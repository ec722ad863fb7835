package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// heraldBinary builds cmd/herald once per test run.
func heraldBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herald-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "herald")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/herald").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a `herald serve` running as its own process.
type process struct {
	cmd  *exec.Cmd
	URL  string
	logs *logTail
}

type logTail struct {
	mu   sync.Mutex
	text []byte
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text = append(l.text, p...)
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.text)
}

var startedRE = regexp.MustCompile(`msg="herald started" http=(http://[0-9.:]+)`)

// startServe runs `herald serve` with env on top of a clean environment and
// waits until it is ready.
func startServe(t *testing.T, env ...string) *process {
	t.Helper()
	cmd := exec.Command(heraldBinary(t), "serve")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &logTail{}}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, p.logs))
		for sc.Scan() {
			if m := startedRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case p.URL = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatalf("herald serve did not start:\n%s", p.logs)
	}
	within(t, 10*time.Second, "readyz", func() bool {
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func TestServeDrainsAndExitsZeroOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			p := startServe(t, "HERALD_DATA_DIR="+dir, "HERALD_HTTP_ADDR=127.0.0.1:0", "HERALD_NATS_LISTEN=127.0.0.1:0")
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- p.cmd.Wait() }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after %s: %v\n%s", sig, err, p.logs)
				}
			case <-ctx.Done():
				t.Fatalf("still running 30s after %s", sig)
			}
		})
	}
}

func TestServeRefusesBadConfigNamingTheKey(t *testing.T) {
	cmd := exec.Command(heraldBinary(t), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HERALD_DATA_DIR=" + t.TempDir(), "HERALD_SMS_PROVIDER=pigeon"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started with sms.provider=pigeon")
	}
	if !regexp.MustCompile(`sms\.provider`).Match(out) {
		t.Fatalf("error does not name the key: %s", out)
	}
}
