package app

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/herald-alerts/herald/config"
	"github.com/herald-alerts/herald/internal/alertlog"
	"github.com/herald-alerts/herald/internal/natsapi"
)

// The account model of the embedded server (docs/architecture.md, "NATS
// accounts"; examples/nats-accounts/server.conf is the same for an
// external cluster). Herald and other Herald processes live in account
// HERALD, which holds every stream, bucket and consumer. Each configured
// hospital and originator user gets an account of its own, so nobody sees
// another's inboxes or consumers, and reaches HERALD only through what it
// imports:
//
//   - a hospital imports the live regional feeds (herald.alerts.region.>)
//     and, to replay them, has a stream HERALD_FEED in its own account that
//     sources those subjects from HERALD_ALERTS: the export lets its
//     account create consumers on HERALD_ALERTS only with a region filter,
//     and the hospital's users may not publish to that import at all (the
//     server does, for the stream). The hospital creates, reads and deletes
//     consumers on HERALD_FEED freely: they are its own.
//   - an originator imports the service herald.alerts.submit, nothing else.
const (
	// HeraldAccount holds Herald's streams, buckets and consumers.
	HeraldAccount = "HERALD"
	// FeedStream is the stream of region copies in each hospital account.
	FeedStream = "HERALD_FEED"
	// FeedAPIPrefix is where a hospital account imports the (region-only)
	// consumer-create API of HERALD_ALERTS.
	FeedAPIPrefix = "herald.api"
	// feedDeliverPrefix + the account token is where HERALD delivers the
	// sourced messages to one hospital account.
	feedDeliverPrefix = "herald.feed."
	// inboxPrefix is Herald's own inbox prefix.
	inboxPrefix = "_HERALD_INBOX"
)

// consumerCreateExport is the one JetStream API a hospital account may use
// in HERALD: creating a consumer on HERALD_ALERTS filtered to region
// subjects (the server puts the filter in the subject).
var consumerCreateExport = "$JS.API.CONSUMER.CREATE." + alertlog.StreamName + ".*." + alertlog.SubjectRegion + ">"

// natsAccount is one configured user's account.
type natsAccount struct {
	Name  string // account name
	Token string // lowercase, subject-safe
	User  config.NATSUser
}

var tokenUnsafe = regexp.MustCompile(`[^a-z0-9_-]+`)

// accountOf names the account of a configured user.
func accountOf(u config.NATSUser) natsAccount {
	id := u.User
	if id == "" {
		id = u.Nkey
		if len(id) > 16 {
			id = id[:16]
		}
	}
	tok := strings.Trim(tokenUnsafe.ReplaceAllString(strings.ToLower(id), "_"), "_")
	if tok == "" {
		tok = "user"
	}
	return natsAccount{Name: strings.ToUpper(u.Role) + "_" + strings.ToUpper(tok), Token: tok, User: u}
}

// FeedSource is how a hospital account's HERALD_FEED sources the regional
// feed copies of HERALD_ALERTS.
func FeedSource(account string) *jetstream.StreamSource {
	tok := strings.ToLower(strings.TrimPrefix(account, "HOSPITAL_"))
	return &jetstream.StreamSource{
		Name: alertlog.StreamName, FilterSubject: alertlog.SubjectRegion + ">",
		External: &jetstream.ExternalStream{APIPrefix: FeedAPIPrefix, DeliverPrefix: feedDeliverPrefix + tok},
	}
}

// AccountsConfig is the nats-server configuration (accounts block) for
// Herald's own connection (heraldNkey), the configured users, and the keys
// with which Herald creates each hospital's HERALD_FEED (feeders: account
// name to public key; nil on an external cluster). The embedded server is
// started from it; examples/nats-accounts/server.conf has the same shape.
func AccountsConfig(heraldNkey string, users []config.NATSUser, feeders map[string]string) string {
	var heraldUsers []string
	if heraldNkey != "" {
		heraldUsers = append(heraldUsers, fmt.Sprintf("{nkey: %s}", strconv.Quote(heraldNkey)))
	}
	var hospitals, originators []natsAccount
	for _, u := range users {
		switch u.Role {
		case "herald":
			heraldUsers = append(heraldUsers, userEntry(u, ""))
		case "hospital":
			hospitals = append(hospitals, accountOf(u))
		case "originator":
			originators = append(originators, accountOf(u))
		}
	}
	names := func(as []natsAccount) string {
		var q []string
		for _, a := range as {
			q = append(q, strconv.Quote(a.Name))
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	var b strings.Builder
	b.WriteString("accounts: {\n")
	fmt.Fprintf(&b, "  %s: {\n    jetstream: enabled\n    users: [%s]\n    exports: [\n", HeraldAccount, strings.Join(heraldUsers, ", "))
	// An export without an accounts list would be public: write none
	// when nobody may import it.
	if len(hospitals) > 0 {
		fmt.Fprintf(&b, "      {stream: %q, accounts: %s}\n", alertlog.SubjectRegion+">", names(hospitals))
		fmt.Fprintf(&b, "      {service: %q, response_type: stream, accounts: %s}\n", consumerCreateExport, names(hospitals))
		fmt.Fprintf(&b, "      {service: \"$JS.FC.>\", accounts: %s}\n", names(hospitals))
		for _, h := range hospitals {
			fmt.Fprintf(&b, "      {stream: %q, accounts: [%q]}\n", feedDeliverPrefix+h.Token+".>", h.Name)
		}
	}
	if len(originators) > 0 {
		fmt.Fprintf(&b, "      {service: %q, accounts: %s}\n", natsapi.SubjectSubmit, names(originators))
	}
	b.WriteString("    ]\n  }\n")
	for _, h := range hospitals {
		perms := `permissions: {
        publish: {allow: ["$JS.API.>", "$JS.ACK.>"], deny: ["herald.>", "$JS.FC.>"]}
        subscribe: {allow: ["` + alertlog.SubjectRegion + `>", "_INBOX.>"]}
      }`
		fmt.Fprintf(&b, "  %s: {\n    jetstream: {max_mem: 16M, max_file: 2G, max_streams: 4, max_consumers: 256}\n", h.Name)
		members := userEntry(h.User, perms)
		if k := feeders[h.Name]; k != "" {
			members += fmt.Sprintf(", {nkey: %s}", strconv.Quote(k))
		}
		fmt.Fprintf(&b, "    users: [%s]\n    imports: [\n", members)
		fmt.Fprintf(&b, "      {stream: {account: %q, subject: %q}}\n", HeraldAccount, alertlog.SubjectRegion+">")
		fmt.Fprintf(&b, "      {service: {account: %q, subject: %q}, to: %q}\n", HeraldAccount, consumerCreateExport,
			strings.Replace(consumerCreateExport, "$JS.API", FeedAPIPrefix, 1))
		fmt.Fprintf(&b, "      {service: {account: %q, subject: \"$JS.FC.>\"}}\n", HeraldAccount)
		fmt.Fprintf(&b, "      {stream: {account: %q, subject: %q}}\n", HeraldAccount, feedDeliverPrefix+h.Token+".>")
		b.WriteString("    ]\n  }\n")
	}
	for _, o := range originators {
		perms := `permissions: {
        publish: {allow: ["` + natsapi.SubjectSubmit + `"]}
        subscribe: {allow: ["_INBOX.>"]}
      }`
		fmt.Fprintf(&b, "  %s: {\n    users: [%s]\n    imports: [\n", o.Name, userEntry(o.User, perms))
		fmt.Fprintf(&b, "      {service: {account: %q, subject: %q}}\n", HeraldAccount, natsapi.SubjectSubmit)
		b.WriteString("    ]\n  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// userEntry is one user of an accounts block, with optional permissions.
func userEntry(u config.NATSUser, perms string) string {
	var fields []string
	if u.Nkey != "" {
		fields = append(fields, "nkey: "+strconv.Quote(u.Nkey))
	} else {
		// Single quotes: the server's parser takes their content as is, so
		// a bcrypt hash ($2a$...) is not read as a variable (config refuses
		// passwords with a single quote).
		fields = append(fields, "user: "+strconv.Quote(u.User), "password: '"+u.Password+"'")
	}
	if perms != "" {
		fields = append(fields, perms)
	}
	return "{" + strings.Join(fields, ", ") + "}"
}

// ensureFeeds creates each hospital account's HERALD_FEED stream on the
// embedded server, connecting as a member of that account with a key made
// for this start (added to the account by AccountsConfig's caller).
func ensureFeeds(ctx context.Context, ns *server.Server, feeders map[string]nkeys.KeyPair) error {
	for account, kp := range feeders {
		if err := ensureFeed(ctx, ns, account, kp); err != nil {
			return err
		}
	}
	return nil
}

func ensureFeed(ctx context.Context, ns *server.Server, account string, kp nkeys.KeyPair) error {
	pub, err := kp.PublicKey()
	if err != nil {
		return err
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.Nkey(pub, kp.Sign), nats.Name("herald-feed-"+account))
	if err != nil {
		return fmt.Errorf("feed of %s: connect: %w", account, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = js.CreateOrUpdateStream(cctx, jetstream.StreamConfig{
		Name:        FeedStream,
		Description: "Herald's regional alert feed (sourced from HERALD_ALERTS); create your consumers here",
		Storage:     jetstream.FileStorage,
		Sources:     []*jetstream.StreamSource{FeedSource(account)},
	})
	if err != nil {
		return fmt.Errorf("feed of %s: create stream %s: %w", account, FeedStream, err)
	}
	return nil
}
