// Command hospital-follow is how a hospital follows Herald's alerts for its
// region over NATS: a durable JetStream consumer replays what it missed
// while offline, then keeps up. Run: go run ./examples/hospital-follow
// -nats nats://127.0.0.1:4222 -region us-county-53033
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	url := flag.String("nats", nats.DefaultURL, "Herald's NATS URL")
	region := flag.String("region", "us-county-53033", "region id to follow")
	name := flag.String("durable", "my-hospital", "durable consumer name: remembers what was read")
	max := flag.Int("max", 0, "stop after this many alerts (0: run forever)")
	flag.Parse()

	nc, err := nats.Connect(*url)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	js, _ := jetstream.New(nc)
	cons, err := js.CreateOrUpdateConsumer(context.Background(), "HERALD_ALERTS", jetstream.ConsumerConfig{
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
