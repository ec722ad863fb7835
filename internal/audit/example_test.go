package audit_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-alerts/herald/internal/audit"
)

func Example() {
	// An in-process NATS server with JetStream; Herald runs one like it, or
	// connects to a cluster.
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		panic(err)
	}
	ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(10 * time.Second)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		panic(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	ctx := context.Background()
	log, err := audit.Open(ctx, audit.Config{JS: js, Replicas: 1})
	if err != nil {
		panic(err)
	}
	// Ids, never phone numbers.
	for _, r := range []audit.Record{
		{Kind: audit.KindSubmission, Actor: "wa-doh-1", AlertID: "a7x2k", Outcome: audit.OutcomeAccepted},
		{Kind: audit.KindSubmission, Actor: "wa-doh-2", Outcome: audit.OutcomeRefused, Reason: "area outside jurisdiction"},
		{Kind: audit.KindConfigReload, Actor: audit.ActorSystem, Outcome: audit.OutcomeReloaded},
	} {
		rec, err := log.Append(ctx, r)
		if err != nil {
			panic(err)
		}
		fmt.Println(rec.Seq, rec.Kind, rec.Outcome, rec.Prev != "" || rec.Seq == 1)
	}
	if _, err := log.Append(ctx, audit.Record{Kind: audit.KindSubmission, Actor: "+12065550101", Outcome: audit.OutcomeRefused}); err != nil {
		fmt.Println(err)
	}

	n, err := log.Verify(ctx)
	fmt.Println("verified", n, "records, error:", err)
	// Output:
	// 1 submission accepted true
	// 2 submission refused true
	// 3 config_reload reloaded true
	// audit record contains a phone number: in actor
	// verified 3 records, error: <nil>
}
