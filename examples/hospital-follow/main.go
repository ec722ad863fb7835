// Command hospital-follow is how a hospital follows Herald's alerts for its
// region over NATS. The hospital's account has a stream HERALD_FEED with
// every regional copy Herald published (sourced from Herald's log); a
// durable consumer of the hospital's own on it replays what it missed
// while offline, then keeps up. Run:
//
//	go run ./examples/hospital-follow -nats nats://127.0.0.1:4222 \
//	    -user harborview -password '…' -region us-county-53033 -durable harborview
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	url := flag.String("nats", nats.DefaultURL, "Herald's NATS URL")
	user := flag.String("user", "", "NATS user of the hospital's account (nats.users, role hospital)")
	password := flag.String("password", os.Getenv("HERALD_NATS_PASSWORD"), "its password (or HERALD_NATS_PASSWORD)")
	creds := flag.String("creds", "", "a NATS credentials file, instead of user and password")
	seed := flag.String("nkey-seed", "", "a file with the account's nkey seed (SU...), for a user configured by its nkey, instead of user and password")
	region := flag.String("region", "us-county-53033", "region id to follow")
	name := flag.String("durable", "my-hospital", "durable consumer name: remembers what was read")
	max := flag.Int("max", 0, "stop after this many alerts (0: run forever)")
	createFeed := flag.Bool("create-feed", false, "create the HERALD_FEED stream in your account first (external NATS; Herald's embedded server creates it)")
	flag.Parse()

	opts := []nats.Option{nats.Name("hospital-follow")}
	switch {
	case *creds != "":
		opts = append(opts, nats.UserCredentials(*creds))
	case *seed != "":
		opt, err := nats.NkeyOptionFromSeed(*seed)
		if err != nil {
			log.Fatalf("nkey seed: %v", err)
		}
		opts = append(opts, opt)
	case *user != "":
		opts = append(opts, nats.UserInfo(*user, *password))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, _ := jetstream.New(nc)
	if *createFeed {
		// The feed sources the regional copies from Herald's log through
		// what the account imports (examples/nats-accounts/server.conf):
		// Herald's consumer API under herald.api, deliveries under
		// herald.feed.<your user, lowercase>.
		_, err := js.CreateOrUpdateStream(context.Background(), jetstream.StreamConfig{
			Name: "HERALD_FEED",
			Sources: []*jetstream.StreamSource{{
				Name: "HERALD_ALERTS", FilterSubject: "herald.alerts.region.>",
				External: &jetstream.ExternalStream{APIPrefix: "herald.api", DeliverPrefix: "herald.feed." + strings.ToLower(*user)},
			}},
		})
		if err != nil {
			log.Fatalf("create HERALD_FEED: %v", err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(context.Background(), "HERALD_FEED", jetstream.ConsumerConfig{
		Durable: *name, FilterSubject: "herald.alerts.region." + *region, AckPolicy: jetstream.AckExplicitPolicy,
	})
	if err != nil {
		log.Fatal(err)
	}
	for n := 0; *max == 0 || n < *max; n++ {
		msg, err := cons.Next()
		if err != nil {
			n--
			continue // no alert within the wait: keep waiting
		}
		h := msg.Headers()
		fmt.Printf("alert %s %s %s: %d bytes of CAP XML\n", h.Get("Herald-Alert-Id"), h.Get("Cap-Msg-Type"), h.Get("Cap-Severity"), len(msg.Data()))
		_ = msg.Ack()
	}
}
