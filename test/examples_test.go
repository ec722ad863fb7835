package test

import (
	"os/exec"
	"strings"
	"testing"
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
