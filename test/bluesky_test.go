package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/xrpc"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/config"
)

// startPDS runs a real Bluesky PDS (npm's @atproto/pds on Node 22, with an
// in-memory PLC directory) on loopback for the test, installing it first
// when needed (test/pds/setup.sh, into BLUESKY_TEST_PDS_DIR or the user
// cache). It skips only when Node is absent.
func startPDS(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("Node is absent: this test runs a real Bluesky PDS (npm @atproto/pds), which needs Node and npm")
	}
	dir := os.Getenv("BLUESKY_TEST_PDS_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "herald-test-pds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	setup := exec.CommandContext(ctx, "bash", "pds/setup.sh", dir)
	setup.Stderr = &stderr
	out, err := setup.Output()
	if err != nil {
		t.Fatalf("install the PDS (test/pds/setup.sh %s): %v\n%s", dir, err, stderr.String())
	}
	node := strings.TrimSpace(string(out))

	ports := make([]string, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	cmd := exec.Command(node, "run.mjs", ports[0], ports[1], t.TempDir())
	cmd.Dir = filepath.Join(dir, "pds")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if url, ok := strings.CutPrefix(s.Text(), "ready "); ok {
				ready <- url
			}
		}
	}()
	select {
	case url := <-ready:
		return url
	case <-time.After(90 * time.Second):
		t.Fatalf("the PDS did not start within 90 s:\n%s", logs.String())
	}
	return ""
}

// record is an app.bsky.feed.post as listRecords returns it.
type record struct {
	URI   string `json:"uri"`
	Value struct {
		Text   string   `json:"text"`
		Langs  []string `json:"langs"`
		Facets []struct {
			Index    struct{ ByteStart, ByteEnd int }
			Features []map[string]any
		} `json:"facets"`
		Reply *struct {
			Root, Parent struct{ URI string }
		} `json:"reply"`
	} `json:"value"`
}

// TestBlueskyRealPDS: Herald posts an alert in English and Spanish to an
// account on a real PDS as a thread (the Spanish post a reply to the
// English one, each with its langs and with facets for the alert's link
// and the hashtags only), then its Cancel as a reply; read back through
// the PDS's own API.
func TestBlueskyRealPDS(t *testing.T) {
	url := startPDS(t)
	ctx := ctxT(t)
	anon := &xrpc.Client{Host: url}
	email, password := "health@example.org", "account-password-1"
	acct, err := atproto.ServerCreateAccount(ctx, anon, &atproto.ServerCreateAccount_Input{Handle: "health.test", Email: &email, Password: &password})
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	owner := &xrpc.Client{Host: url, Auth: &xrpc.AuthInfo{AccessJwt: acct.AccessJwt, Did: acct.Did}}
	app, err := atproto.ServerCreateAppPassword(ctx, owner, &atproto.ServerCreateAppPassword_Input{Name: "herald"})
	if err != nil {
		t.Fatalf("create app password: %v", err)
	}

	f := startDelivering(t, func(c *config.Config) {
		c.Social.Bluesky = config.Bluesky{Server: url, Handle: "health.test", AppPassword: app.Password}
	})
	a := baseAlert(t)
	a.Info[0].Description = "Questions: @mayor.bsky.social or https://evil.example #fake"
	es := a.Info[0]
	es.Language, es.Headline, es.Event = "es-US", "Hierva el agua antes de beberla", "Aviso de hervir el agua"
	es.Instruction = "Hierva el agua del grifo durante un minuto. ¿Preguntas? Llame al 206-555-0100."
	a.Info = append(a.Info, es)
	acc := publishCAP(t, f, a)
	f.waitDone(t, acc.ID)

	posts := listPosts(t, url, acct.Did)
	if len(posts) != 2 {
		t.Fatalf("%d posts on the PDS, want 2", len(posts))
	}
	en, sp := posts[0], posts[1]
	if !slices.Equal(en.Value.Langs, []string{"en-US"}) || !slices.Equal(sp.Value.Langs, []string{"es-US"}) {
		t.Errorf("langs %v and %v", en.Value.Langs, sp.Value.Langs)
	}
	if !strings.Contains(en.Value.Text, "Boil water") || !strings.Contains(sp.Value.Text, "Hierva el agua") {
		t.Errorf("texts:\n%s\n---\n%s", en.Value.Text, sp.Value.Text)
	}
	if en.Value.Reply != nil || sp.Value.Reply == nil || sp.Value.Reply.Root.URI != en.URI || sp.Value.Reply.Parent.URI != en.URI {
		t.Errorf("thread: en reply %+v, es reply %+v (en %s)", en.Value.Reply, sp.Value.Reply, en.URI)
	}
	for lang, p := range map[string]record{"en": en, "es": sp} {
		var active []string
		for _, fc := range p.Value.Facets {
			active = append(active, p.Value.Text[fc.Index.ByteStart:fc.Index.ByteEnd])
			feat := fc.Features[0]
			switch feat["$type"] {
			case "app.bsky.richtext.facet#link":
				if feat["uri"] != f.PublicURL()+"/a/"+acc.ID+"?lang="+lang {
					t.Errorf("%s link facet %v", lang, feat["uri"])
				}
			case "app.bsky.richtext.facet#tag":
				if "#"+feat["tag"].(string) != p.Value.Text[fc.Index.ByteStart:fc.Index.ByteEnd] {
					t.Errorf("%s tag facet %v over %q", lang, feat, p.Value.Text[fc.Index.ByteStart:fc.Index.ByteEnd])
				}
			default:
				t.Errorf("%s: unexpected facet %v", lang, feat)
			}
		}
		joined := strings.Join(active, " ")
		if !strings.Contains(joined, "/a/"+acc.ID) || !strings.Contains(joined, "#HealthAlert") || !strings.Contains(joined, "#KingCountyWA") {
			t.Errorf("%s facets cover %q", lang, joined)
		}
		for _, never := range []string{"mayor", "evil.example", "#fake"} {
			if strings.Contains(joined, never) {
				t.Errorf("%s: the alert's own text became active: %q", lang, joined)
			}
		}
	}

	cancel := cap.CancelOf(a, time.Now().Add(time.Second))
	cancel.Info = cancel.Info[:1]
	cacc := publishCAP(t, f, cancel)
	f.waitDone(t, cacc.ID)
	posts = listPosts(t, url, acct.Did)
	if len(posts) != 3 {
		t.Fatalf("%d posts after the Cancel, want 3", len(posts))
	}
	c := posts[2]
	if c.Value.Reply == nil || c.Value.Reply.Root.URI != en.URI || c.Value.Reply.Parent.URI != en.URI {
		t.Errorf("the Cancel is not a reply in the alert's thread: %+v", c.Value.Reply)
	}
	if !strings.Contains(c.Value.Text, "CANCELLED") {
		t.Errorf("cancel text %q", c.Value.Text)
	}
}

// listPosts reads the account's posts, oldest first, through the PDS's
// com.atproto.repo.listRecords.
func listPosts(t *testing.T, url, did string) []record {
	t.Helper()
	out, err := atproto.RepoListRecords(ctxT(t), &xrpc.Client{Host: url}, "app.bsky.feed.post", "", 100, did, true)
	if err != nil {
		t.Fatal(err)
	}
	var posts []record
	for _, r := range out.Records {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var p record
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		posts = append(posts, p)
	}
	return posts
}
