package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/herald-alerts/herald/broadcaster/client"
)

// Reading an alert's state. A stand-in server answers here as Herald does.
func ExampleClient_Alert() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"a1","state":"dispatching","status":"Actual","msg_type":"Alert","severity":"Severe","regions":["us-county-53033"]}`)
	}))
	defer srv.Close()

	c := client.New(client.Config{Server: srv.URL})
	a, _, err := c.Alert(context.Background(), "a1")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.ID, a.State, a.Severity, a.Regions)
	// Output: a1 dispatching Severe [us-county-53033]
}

// A refusal is a *client.Error carrying the server's problem details.
func ExampleError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"type":"about:blank","title":"Alert not found","status":404,"detail":"no alert with id \"nope\""}`)
	}))
	defer srv.Close()

	_, _, err := client.New(client.Config{Server: srv.URL}).Alert(context.Background(), "nope")
	fmt.Println(err)
	// Output: 404 Alert not found: no alert with id "nope"
}
