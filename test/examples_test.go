package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-alerts/herald/config"
	"github.com/nats-io/nkeys"
)

// The README's hospital example builds, replays an alert published before
// it started, and exits.
func TestHospitalFollowExample(t *testing.T) {
	h := startHerald(t, setup{})
	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "run", "../examples/hospital-follow",
		"-nats", h.NATSURL(), "-user", hospitalUser, "-password", hospitalPass, "-region", king, "-durable", "test-hospital", "-max", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("example: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "alert "+acc.ID+" Alert Severe") {
		t.Fatalf("example printed %q", out)
	}
}

// On an external server started from the shipped configuration, the
// hospital creates its feed with -create-feed and replays an alert
// published before it came.
func TestHospitalFollowExampleExternal(t *testing.T) {
	ns := startShippedServer(t)
	h := startHerald(t, setup{natsURL: ns.ClientURL(), edit: func(c *config.Config) {
		c.NATS.User, c.NATS.Password = "herald", "change-me-herald"
	}})
	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "run", "../examples/hospital-follow", "-create-feed",
		"-nats", ns.ClientURL(), "-user", hospitalUser, "-password", hospitalPass, "-region", king, "-durable", "test-hospital", "-max", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("example: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "alert "+acc.ID+" Alert Severe") {
		t.Fatalf("example printed %q", out)
	}
}

// A hospital whose account is configured by its nkey (nats.users with
// nkey, role hospital) follows with -nkey-seed.
func TestHospitalFollowExampleNkey(t *testing.T) {
	kp, _ := nkeys.CreateUser()
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	seedFile := filepath.Join(t.TempDir(), "hospital.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHerald(t, setup{edit: func(c *config.Config) {
		c.NATS.Users = append(c.NATS.Users, config.NATSUser{Nkey: pub, Role: "hospital"})
	}})
	acc, _, err := h.Client.Publish(ctxT(t), h.King.Key, newAlert(t, alertSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "run", "../examples/hospital-follow",
		"-nats", h.NATSURL(), "-nkey-seed", seedFile, "-region", king, "-durable", "nkey-hospital", "-max", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("example: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "alert "+acc.ID+" Alert Severe") {
		t.Fatalf("example printed %q", out)
	}
}
