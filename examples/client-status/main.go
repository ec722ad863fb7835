// Command client-status prints an alert's state through Herald's HTTP API.
// It is the smallest client program: it links the client and its wire
// types only, none of the server (no NATS, Prometheus or region data).
//
//	go run ./examples/client-status -server http://127.0.0.1:8080 -id <alert id>
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/herald-alerts/herald/broadcaster/client"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "Herald's HTTP API")
	id := flag.String("id", "", "alert id")
	flag.Parse()
	if *id == "" {
		log.Fatal("-id is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _, err := client.New(client.Config{Server: *server}).Alert(ctx, *id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %s (%s %s, severity %s, regions %v)\n", a.ID, a.State, a.Status, a.MsgType, a.Severity, a.Regions)
}
