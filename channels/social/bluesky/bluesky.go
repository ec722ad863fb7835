// Package bluesky posts public alert notices to Bluesky (the AT Protocol):
// each post of a channels.Message's Thread is an app.bsky.feed.post record
// in the configured account's repository on its PDS, with its language in
// langs, rich-text facets for the alert's link and Herald's hashtags only
// (UTF-8 byte offsets), the second and later posts as replies to the first,
// and the first as a reply to Message.ReplyTo (an Update or Cancel under
// the original).
//
// It uses github.com/bluesky-social/indigo, the protocol's maintained Go
// library, for the XRPC calls and the record types, with a plain
// http.Client (indigo's default retries by itself, and retries are the
// dispatcher's). A post is written with putRecord under a record key (TID)
// derived from the message's Key and Created time, so a retry after a lost
// answer writes the same record again, which the PDS takes as a no-op. The
// session (app password) is created on first use and refreshed when the
// access token expires.
//
// It does not build the text or count its length (internal/render), nor
// retry or wait for rate limits (it classifies errors for the dispatcher).
package bluesky

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/syntax"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	"github.com/bluesky-social/indigo/xrpc"
	"github.com/rivo/uniseg"

	"github.com/herald-alerts/herald/channels"
)

// MaxGraphemes is the longest post Bluesky accepts, in graphemes.
const MaxGraphemes = 300

// DefaultTimeout bounds one Send when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Config configures the adapter (social.bluesky.*).
type Config struct {
	// PDS is the account's Personal Data Server ("https://bsky.social").
	PDS string
	// Handle (or DID) and AppPassword sign in; an app password, never the
	// account password.
	Handle      string
	AppPassword string
	// Timeout bounds one Send; zero means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient, when set, replaces the default client (tests).
	HTTPClient *http.Client
}

// Bluesky posts to one account. It is safe for concurrent use.
type Bluesky struct {
	cfg Config

	mu   sync.Mutex
	auth *xrpc.AuthInfo
}

// New checks cfg; it does not contact the PDS.
func New(cfg Config) (*Bluesky, error) {
	if !strings.HasPrefix(cfg.PDS, "https://") && !strings.HasPrefix(cfg.PDS, "http://") {
		return nil, fmt.Errorf("bluesky: PDS %q is not an http(s) URL", cfg.PDS)
	}
	if cfg.Handle == "" || cfg.AppPassword == "" {
		return nil, errors.New("bluesky: handle and app password are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: cfg.Timeout}
	}
	cfg.PDS = strings.TrimRight(cfg.PDS, "/")
	return &Bluesky{cfg: cfg}, nil
}

func (b *Bluesky) client(auth *xrpc.AuthInfo) *xrpc.Client {
	ua := "Herald"
	return &xrpc.Client{Client: b.cfg.HTTPClient, Host: b.cfg.PDS, Auth: auth, UserAgent: &ua}
}

// Send posts m's thread (or m.Text as one post) and returns the first
// post's reference as the ProviderID.
func (b *Bluesky) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	posts := m.Thread
	if len(posts) == 0 {
		posts = []channels.Post{{Text: m.Text}}
	}
	for i, p := range posts {
		if n := uniseg.GraphemeClusterCount(p.Text); n > MaxGraphemes {
			return channels.Receipt{}, channels.Permanent("too long", fmt.Errorf("bluesky: post %d has %d graphemes; the limit is %d", i+1, n, MaxGraphemes))
		}
	}
	var root, parent *atproto.RepoStrongRef
	if m.ReplyTo != "" {
		r, err := parseRef(m.ReplyTo)
		if err != nil {
			return channels.Receipt{}, channels.Permanent("bad reply reference", err)
		}
		root, parent = r.root, r.post
	}
	created := m.Created
	if created.IsZero() {
		created = time.Now()
	}
	var first ref
	for i, p := range posts {
		post := &bsky.FeedPost{
			Text: p.Text,
			// Stable, so a retried put writes the same record.
			CreatedAt: created.UTC().Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000Z"),
			Facets:    Facets(p),
		}
		if p.Lang != "" {
			post.Langs = []string{p.Lang}
		}
		if parent != nil {
			post.Reply = &bsky.FeedPost_ReplyRef{Root: root, Parent: parent}
		}
		out, err := b.put(ctx, recordKey(m.Key, created, i), post)
		if err != nil {
			return channels.Receipt{}, classify(err)
		}
		at := &atproto.RepoStrongRef{Uri: out.Uri, Cid: out.Cid}
		if i == 0 {
			if root == nil {
				root = at
			}
			first = ref{post: at, root: root}
			parent = at // the other languages answer the first post
		}
	}
	return channels.Receipt{ProviderID: first.String()}, nil
}

// put writes one post, signing in first and once more if the session
// expired.
func (b *Bluesky) put(ctx context.Context, rkey string, post *bsky.FeedPost) (*atproto.RepoPutRecord_Output, error) {
	for attempt := 0; ; attempt++ {
		auth, err := b.session(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		out, err := atproto.RepoPutRecord(ctx, b.client(auth), &atproto.RepoPutRecord_Input{
			Collection: "app.bsky.feed.post", Repo: auth.Did, Rkey: rkey,
			Record: &lexutil.LexiconTypeDecoder{Val: post},
		})
		if err == nil || attempt > 0 || !expired(err) {
			return out, err
		}
	}
}

// session returns a signed-in session; renew refreshes it (or signs in
// again when the refresh token is no longer good).
func (b *Bluesky) session(ctx context.Context, renew bool) (*xrpc.AuthInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.auth != nil && !renew {
		return b.auth, nil
	}
	if b.auth != nil {
		// refreshSession takes the refresh token as the bearer.
		out, err := atproto.ServerRefreshSession(ctx, b.client(&xrpc.AuthInfo{AccessJwt: b.auth.RefreshJwt}))
		if err == nil {
			b.auth = &xrpc.AuthInfo{AccessJwt: out.AccessJwt, RefreshJwt: out.RefreshJwt, Handle: out.Handle, Did: out.Did}
			return b.auth, nil
		}
		b.auth = nil
	}
	out, err := atproto.ServerCreateSession(ctx, b.client(nil), &atproto.ServerCreateSession_Input{Identifier: b.cfg.Handle, Password: b.cfg.AppPassword})
	if err != nil {
		return nil, fmt.Errorf("bluesky: sign in as %s: %w", b.cfg.Handle, err)
	}
	b.auth = &xrpc.AuthInfo{AccessJwt: out.AccessJwt, RefreshJwt: out.RefreshJwt, Handle: out.Handle, Did: out.Did}
	return b.auth, nil
}

// expired reports an access token the PDS no longer takes.
func expired(err error) bool {
	var xe *xrpc.Error
	if !errors.As(err, &xe) {
		return false
	}
	var body *xrpc.XRPCError
	name := ""
	if errors.As(xe.Wrapped, &body) {
		name = body.ErrStr
	}
	return xe.StatusCode == http.StatusUnauthorized || name == "ExpiredToken" || name == "InvalidToken"
}

// classify turns an XRPC failure into the dispatcher's terms: throttled
// and server errors are retried (after the rate limit's reset when the PDS
// gives one); a refused post or sign-in is not.
func classify(err error) error {
	var xe *xrpc.Error
	if !errors.As(err, &xe) {
		return channels.Retryable("network", 0, err) // no answer: try again
	}
	code := fmt.Sprintf("http %d", xe.StatusCode)
	var body *xrpc.XRPCError
	if errors.As(xe.Wrapped, &body) && body.ErrStr != "" {
		code += " " + body.ErrStr
	}
	switch {
	case xe.StatusCode == http.StatusTooManyRequests:
		var after time.Duration
		if xe.Ratelimit != nil && !xe.Ratelimit.Reset.IsZero() {
			after = max(time.Until(xe.Ratelimit.Reset), 0)
		}
		return channels.Retryable(code, after, err)
	case xe.StatusCode >= 500 || xe.StatusCode == http.StatusRequestTimeout:
		return channels.Retryable(code, 0, err)
	}
	return channels.Permanent(code, err)
}

// recordKey is a TID derived from the message: its time from created (plus
// the post's place in the thread), its clock id from the key, so the same
// message always gets the same record keys.
func recordKey(key string, created time.Time, i int) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return syntax.NewTID(created.UnixMicro()+int64(i), uint(h.Sum32()%1024)).String()
}

// Facets marks the post's link and hashtags, and nothing else: the alert's
// own text cannot make a link, a mention or a tag. Offsets are UTF-8 bytes;
// a link or tag is taken at its last appearance (Herald writes them at the
// end), as a whole word.
func Facets(p channels.Post) []*bsky.RichtextFacet {
	var out []*bsky.RichtextFacet
	add := func(start int, word string, f *bsky.RichtextFacet_Features_Elem) {
		out = append(out, &bsky.RichtextFacet{
			Index:    &bsky.RichtextFacet_ByteSlice{ByteStart: int64(start), ByteEnd: int64(start + len(word))},
			Features: []*bsky.RichtextFacet_Features_Elem{f},
		})
	}
	if i := lastWord(p.Text, p.Link); i >= 0 {
		add(i, p.Link, &bsky.RichtextFacet_Features_Elem{RichtextFacet_Link: &bsky.RichtextFacet_Link{Uri: p.Link}})
	}
	for _, t := range p.Tags {
		if !strings.HasPrefix(t, "#") || len(t) < 2 {
			continue
		}
		if i := lastWord(p.Text, t); i >= 0 {
			add(i, t, &bsky.RichtextFacet_Features_Elem{RichtextFacet_Tag: &bsky.RichtextFacet_Tag{Tag: t[1:]}})
		}
	}
	return out
}

// lastWord is the byte offset of the last appearance of w in s as a whole
// word (between whitespace or the ends), or -1.
func lastWord(s, w string) int {
	if w == "" {
		return -1
	}
	for end := len(s); ; {
		i := strings.LastIndex(s[:end], w)
		if i < 0 {
			return -1
		}
		before := i == 0 || strings.ContainsAny(s[i-1:i], " \n\t")
		after := i+len(w) == len(s) || strings.ContainsAny(s[i+len(w):i+len(w)+1], " \n\t")
		if before && after {
			return i
		}
		end = i
	}
}

// ref is a post and the root of its thread, as the ProviderID keeps them:
// "<post uri> <post cid> <root uri> <root cid>".
type ref struct{ post, root *atproto.RepoStrongRef }

func (r ref) String() string {
	return strings.Join([]string{r.post.Uri, r.post.Cid, r.root.Uri, r.root.Cid}, " ")
}

func parseRef(s string) (ref, error) {
	f := strings.Fields(s)
	if len(f) != 4 || !strings.HasPrefix(f[0], "at://") || !strings.HasPrefix(f[2], "at://") {
		return ref{}, fmt.Errorf("bluesky: %q is not a post reference", s)
	}
	return ref{post: &atproto.RepoStrongRef{Uri: f[0], Cid: f[1]}, root: &atproto.RepoStrongRef{Uri: f[2], Cid: f[3]}}, nil
}
