package compose

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/channels"
	"github.com/herald-alerts/herald/geo"
	"github.com/herald-alerts/herald/internal/deliveries"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/internal/jobs"
	"github.com/herald-alerts/herald/internal/recipients"
	"github.com/herald-alerts/herald/internal/render"
	"github.com/herald-alerts/herald/internal/residents"
)

// Links builds public URLs of alerts.
type Links struct{ PublicURL string }

// CAP is the URL of an alert's CAP XML.
func (l Links) CAP(alertID string) string { return l.PublicURL + "/v1/alerts/" + alertID + ".cap" }

// Page is the short link to an alert's page for people, in the reader's
// language (lang, a BCP 47 tag; "" for the page's own choice).
func (l Links) Page(alertID, lang string) string {
	u := l.PublicURL + "/a/" + alertID
	if p, _, _ := strings.Cut(lang, "-"); p != "" {
		u += "?lang=" + url.QueryEscape(strings.ToLower(p))
	}
	return u
}

// ResidentLookup reads residents.
type ResidentLookup interface {
	Get(ctx context.Context, id string) (residents.Resident, error)
}

// SMSConfig is what the SMS composer needs.
type SMSConfig struct {
	Alerts    *Alerts
	Residents ResidentLookup
	Links     Links
	// Segments is the length budget per encoding (sms.max_segments).
	Segments struct{ GSM7, UCS2 int }
}

// originalWords are the instructions and descriptions of the alerts a
// Cancel references, which its text must not repeat; nil for other
// messages. An original that cannot be read is left out (the Cancel still
// goes) and complete is false.
func (c *SMS) originalWords(ctx context.Context, a Alert) (words []string, complete bool) {
	if a.CAP.MsgType != cap.MsgCancel {
		return nil, true
	}
	complete = true
	for _, ref := range a.Record.References {
		orig, err := c.Alerts.Get(ctx, ref)
		if err != nil {
			complete = false
			continue
		}
		for _, in := range orig.CAP.Info {
			words = append(words, in.Instruction, in.Description)
		}
	}
	return words, complete
}

// SMS composes text messages to residents. Every reader of one language
// gets the same text of an alert, so it is rendered once per alert and
// language (rendering and counting segments cost more than the rest of a
// send's own work).
type SMS struct {
	SMSConfig

	mu    sync.Mutex
	texts map[textKey]render.SMSText
}

// textKey names a rendered SMS: an alert in a language.
type textKey struct{ alertID, lang string }

// NewSMS builds the SMS composer.
func NewSMS(cfg SMSConfig) *SMS { return &SMS{SMSConfig: cfg} }

// Compose implements dispatch.Composer.
func (c *SMS) Compose(ctx context.Context, j jobs.Delivery) (channels.Message, string, error) {
	r, err := c.Residents.Get(ctx, j.Recipient)
	if errors.Is(err, residents.ErrNotFound) {
		return channels.Message{}, "resident unsubscribed", nil
	}
	if err != nil {
		return channels.Message{}, "", err
	}
	// Opt-out is checked before every send, not only at planning time: a
	// STOP that arrives mid-fan-out takes effect at once.
	if r.OptedOut {
		return channels.Message{}, "opted out", nil
	}
	a, err := c.Alerts.Get(ctx, j.AlertID)
	if err != nil {
		return channels.Message{}, "", err
	}
	if aud := recipients.AudienceOf(a.CAP); aud.Exercise && !r.Exercise {
		return channels.Message{}, "not an exercise participant", nil
	}
	t := c.cachedText(ctx, a, r.Language)
	return channels.Message{To: r.Phone, Text: t.Text, Segments: t.Segments}, "", nil
}

// cachedText is Text's message, rendered once per alert and language. An
// alert's content never changes (a correction is a new alert), so entries
// need no expiry, only a bound.
func (c *SMS) cachedText(ctx context.Context, a Alert, lang string) render.SMSText {
	k := textKey{a.Record.ID, lang}
	c.mu.Lock()
	t, ok := c.texts[k]
	c.mu.Unlock()
	if ok {
		return t
	}
	t, complete := c.render(ctx, a, lang)
	if !complete {
		return t // rendered again next time, when the originals may be read
	}
	c.mu.Lock()
	if c.texts == nil || len(c.texts) >= 4*maxCached {
		c.texts = map[textKey]render.SMSText{}
	}
	c.texts[k] = t
	c.mu.Unlock()
	return t
}

// Text is the SMS a reader of lang receives for a (also what a preview
// shows an officer before sending).
func (c *SMS) Text(ctx context.Context, a Alert, lang string) render.SMSText {
	t, _ := c.render(ctx, a, lang)
	return t
}

// render is Text, and whether every original a Cancel references was read.
func (c *SMS) render(ctx context.Context, a Alert, lang string) (render.SMSText, bool) {
	words, complete := c.originalWords(ctx, a)
	return render.RenderSMS(a.CAP, lang, render.SMSOptions{
		Link: c.Links.Page(a.Record.ID, lang), GSM7Segments: c.Segments.GSM7, UCS2Segments: c.Segments.UCS2,
		Repeat: words,
	}), complete
}

// SubscriptionLookup reads webhook subscriptions.
type SubscriptionLookup interface {
	Get(ctx context.Context, id string) (hospitals.Subscription, error)
}

// WebhookConfig is what the webhook composer needs.
type WebhookConfig struct {
	Alerts        *Alerts
	Subscriptions SubscriptionLookup
	// Acks, when set, says which hospitals an alert asks to acknowledge
	// and makes their links; AckBase is the link's URL prefix
	// (<public url>/v1/acks/).
	Acks interface {
		Asked(ctx context.Context, alertID string) (map[string]bool, error)
		Link(alertID, sub string) string
	}
	AckBase string
}

// Webhook composes the signed JSON posts to hospitals. Every subscription
// of an alert gets the same body, so it is rendered once per alert; a
// subscription is read at most once a second (a disabled or removed one
// stops within that).
type Webhook struct {
	WebhookConfig

	mu     sync.Mutex
	bodies map[string][]byte // alert id -> payload
	subs   map[string]cachedSub
	asked  map[string]cachedAsked // alert id -> hospitals asked to acknowledge
}

// cachedAsked is an alert's hospitals asked to acknowledge, as read at
// fetched. Their records exist before the alert's first job (the planner
// asks before it queues), so one read a second serves every post.
type cachedAsked struct {
	subs    map[string]bool
	fetched time.Time
}

// NewWebhook builds the webhook composer.
func NewWebhook(cfg WebhookConfig) *Webhook { return &Webhook{WebhookConfig: cfg} }

type cachedSub struct {
	sub     hospitals.Subscription
	fetched time.Time
}

// subscriptionTTL bounds how stale a cached subscription may be.
const subscriptionTTL = time.Second

// Compose implements dispatch.Composer.
func (c *Webhook) Compose(ctx context.Context, j jobs.Delivery) (channels.Message, string, error) {
	sub, err := c.subscription(ctx, j.Recipient)
	if errors.Is(err, hospitals.ErrNotFound) {
		return channels.Message{}, "subscription removed", nil
	}
	if err != nil {
		return channels.Message{}, "", err
	}
	if sub.Disabled {
		return channels.Message{}, "subscription disabled: " + sub.DisabledReason, nil
	}
	body, err := c.body(ctx, j.AlertID, sub.ID)
	if err != nil {
		return channels.Message{}, "", err
	}
	m := channels.Message{To: sub.URL, Body: body, Secret: sub.Secret}
	if secrets := sub.Secrets(time.Now()); len(secrets) > 1 {
		m.PreviousSecret = secrets[1]
	}
	return m, "", nil
}

func (c *Webhook) subscription(ctx context.Context, id string) (hospitals.Subscription, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.subs[id]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < subscriptionTTL {
		return e.sub, nil
	}
	sub, err := c.Subscriptions.Get(ctx, id)
	if err != nil {
		return sub, err
	}
	c.mu.Lock()
	if c.subs == nil || len(c.subs) >= 4*maxCached {
		c.subs = map[string]cachedSub{}
	}
	c.subs[id] = cachedSub{sub: sub, fetched: now}
	c.mu.Unlock()
	return sub, nil
}

// body is the alert's payload for subscription sub: the shared one, or,
// when the alert asks sub to acknowledge, one with its own link.
func (c *Webhook) body(ctx context.Context, alertID, sub string) ([]byte, error) {
	if c.Acks != nil {
		asked, err := c.askedOf(ctx, alertID)
		if err != nil {
			return nil, err
		}
		if asked[sub] {
			a, err := c.Alerts.Get(ctx, alertID)
			if err != nil {
				return nil, err
			}
			b, err := render.Webhook(alertID, a.CAP, a.Raw, a.Record.Regions, c.AckBase+c.Acks.Link(alertID, sub))
			if err != nil {
				return nil, fmt.Errorf("render webhook: %w", err)
			}
			return b, nil
		}
	}
	c.mu.Lock()
	b, ok := c.bodies[alertID]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	a, err := c.Alerts.Get(ctx, alertID)
	if err != nil {
		return nil, err
	}
	if b, err = render.Webhook(alertID, a.CAP, a.Raw, a.Record.Regions, ""); err != nil {
		return nil, fmt.Errorf("render webhook: %w", err)
	}
	c.mu.Lock()
	if c.bodies == nil || len(c.bodies) >= maxCached {
		c.bodies = map[string][]byte{}
	}
	c.bodies[alertID] = b
	c.mu.Unlock()
	return b, nil
}

// askedOf is the alert's hospitals asked to acknowledge, read at most once
// a second.
func (c *Webhook) askedOf(ctx context.Context, alertID string) (map[string]bool, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.asked[alertID]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < subscriptionTTL {
		return e.subs, nil
	}
	subs, err := c.Acks.Asked(ctx, alertID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.asked == nil || len(c.asked) >= maxCached {
		c.asked = map[string]cachedAsked{}
	}
	c.asked[alertID] = cachedAsked{subs: subs, fetched: now}
	c.mu.Unlock()
	return subs, nil
}

// Social accounts: the recipient id of each, which also names its network.
const (
	Mastodon = "mastodon"
	Bluesky  = "bluesky"
)

// SocialConfig is what the social composer needs.
type SocialConfig struct {
	Alerts   *Alerts
	Regions  *geo.Registry
	Hashtags []string // from config social.hashtags
	Links    Links
	// Languages are the alert languages posted; empty posts every one.
	Languages []string
	// Posts finds the post of an earlier alert, so an Update or Cancel is
	// a reply to it and followers see the thread.
	Posts interface {
		Get(ctx context.Context, d jobs.Delivery) (deliveries.Record, error)
	}
}

// Social composes the public posts: one per language of the alert, each
// within its network's limit as that network counts.
type Social struct {
	SocialConfig
}

// NewSocial builds the social composer.
func NewSocial(cfg SocialConfig) *Social { return &Social{SocialConfig: cfg} }

// Limit is how long a post on account may be and how its network counts.
func Limit(account string) (max int, length func(string) int) {
	if account == Bluesky {
		return render.BlueskyLimit, render.Graphemes
	}
	return render.SocialLimit, render.SocialLength
}

// Languages are the languages of a posted to social accounts: each info's,
// once, in order, as far as social.languages allows (the first info's
// when it allows none of them, so that something is posted).
func (c *Social) Languages(a *cap.Alert) []string {
	var all, out []string
	for _, in := range a.Info {
		if l := in.Lang(); !slices.Contains(all, l) {
			all = append(all, l)
		}
	}
	for _, l := range all {
		base, _, _ := strings.Cut(l, "-")
		if len(c.SocialConfig.Languages) == 0 || slices.ContainsFunc(c.SocialConfig.Languages, func(want string) bool {
			return strings.EqualFold(want, l) || strings.EqualFold(want, base)
		}) {
			out = append(out, l)
		}
	}
	if len(out) == 0 && len(all) > 0 {
		out = all[:1]
	}
	return out
}

// Thread is a's posts on account, one per language; only each post's
// link and hashtags are active (render.Inert keeps the alert's own words
// plain, and Bluesky's facets cover these alone).
func (c *Social) Thread(a Alert, account string) []channels.Post {
	var names []string
	for _, id := range a.Record.Regions {
		if r, ok := c.Regions.Region(id); ok {
			names = append(names, r.Name)
		}
	}
	limit, length := Limit(account)
	var out []channels.Post
	for _, lang := range c.Languages(a.CAP) {
		event := ""
		if in := a.CAP.InfoFor(lang); in != nil {
			event = in.Event
		}
		tags := render.Hashtags(event, names, c.Hashtags)
		link := c.Links.Page(a.Record.ID, lang)
		text := render.Social(a.CAP, render.SocialOptions{Link: link, Hashtags: tags, MaxChars: limit, Lang: lang, Length: length})
		p := channels.Post{Text: text, Lang: lang, Link: link}
		for _, t := range tags {
			p.Tags = append(p.Tags, "#"+strings.TrimPrefix(t, "#"))
		}
		out = append(out, p)
	}
	return out
}

// Compose implements dispatch.Composer: the delivery's recipient is the
// account.
func (c *Social) Compose(ctx context.Context, d jobs.Delivery) (channels.Message, string, error) {
	a, err := c.Alerts.Get(ctx, d.AlertID)
	if err != nil {
		return channels.Message{}, "", err
	}
	m := channels.Message{To: d.Recipient, Thread: c.Thread(a, d.Recipient)}
	if len(m.Thread) == 0 {
		return channels.Message{}, "alert has no text to post", nil
	}
	m.Text = m.Thread[0].Text
	if sent, err := a.CAP.SentTime(); err == nil {
		m.Created = sent
	}
	for _, ref := range a.Record.References {
		if r, err := c.Posts.Get(ctx, jobs.Delivery{AlertID: ref, Channel: channels.Social, Recipient: d.Recipient}); err == nil && r.ProviderID != "" {
			m.ReplyTo = r.ProviderID
			break
		}
	}
	return m, "", nil
}
