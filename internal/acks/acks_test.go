package acks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-alerts/herald/broadcaster/cap"
	"github.com/herald-alerts/herald/internal/hospitals"
	"github.com/herald-alerts/herald/test/natstest"
)

func TestRequired(t *testing.T) {
	p := Policy{Severities: []cap.Severity{cap.SeverityExtreme}, HANTypes: []cap.HANType{cap.HANAlert}}
	alert := func(msgType cap.MsgType, sev cap.Severity, params ...cap.NamedValue) *cap.Alert {
		return &cap.Alert{MsgType: msgType, Info: []cap.Info{{Severity: sev, Parameter: params}}}
	}
	han := func(t cap.HANType) cap.NamedValue {
		return cap.NamedValue{ValueName: cap.HANParameter, Value: string(t)}
	}
	ack := func(v string) cap.NamedValue { return cap.NamedValue{ValueName: "ackrequired", Value: v} }
	tests := []struct {
		name string
		a    *cap.Alert
		want bool
	}{
		{"extreme by policy", alert(cap.MsgAlert, cap.SeverityExtreme), true},
		{"severe not in policy", alert(cap.MsgAlert, cap.SeveritySevere), false},
		{"HAN Health Alert by policy", alert(cap.MsgAlert, cap.SeverityModerate, han(cap.HANAlert)), true},
		{"HAN Advisory not in policy", alert(cap.MsgAlert, cap.SeverityModerate, han(cap.HANAdvisory)), false},
		{"parameter asks", alert(cap.MsgAlert, cap.SeverityMinor, ack("true")), true},
		{"parameter yes, any case", alert(cap.MsgUpdate, cap.SeverityMinor, ack(" YES ")), true},
		{"parameter declines an extreme alert", alert(cap.MsgAlert, cap.SeverityExtreme, ack("false")), false},
		{"unreadable parameter falls back to the policy", alert(cap.MsgAlert, cap.SeverityExtreme, ack("maybe")), true},
		{"a Cancel never asks", alert(cap.MsgCancel, cap.SeverityExtreme, ack("true")), false},
		{"an Ack never asks", alert(cap.MsgAck, cap.SeverityExtreme), false},
	}
	for _, tt := range tests {
		if got := p.Required(tt.a); got != tt.want {
			t.Errorf("%s: Required = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{JS: natstest.JetStream(t), Replicas: 1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStartAckList(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	subs := []hospitals.Subscription{{ID: "wh_a", Name: "Harborview"}, {ID: "wh_b", URL: "https://er.example/h"}}
	if err := s.Start(ctx, "a1", subs); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Get(ctx, "a1", "wh_a")
	if err := s.Start(ctx, "a1", subs); err != nil { // replanned: nothing changes
		t.Fatal(err)
	}
	again, _ := s.Get(ctx, "a1", "wh_a")
	if first.Code == "" || again.Code != first.Code || again.State != Pending || again.Hospital != "Harborview" {
		t.Fatalf("after a second Start: %+v, first %+v", again, first)
	}
	if byCode, err := s.ByCode(ctx, first.Code); err != nil || byCode.Subscription != "wh_a" {
		t.Fatalf("ByCode = %+v, %v", byCode, err)
	}
	rec, err := s.Ack(ctx, "a1", "wh_a", "wh_a", PathToken)
	if err != nil || rec.State != Acknowledged || rec.Path != PathToken {
		t.Fatalf("Ack = %+v, %v", rec, err)
	}
	later, _ := s.Ack(ctx, "a1", "wh_a", "link", PathLink)
	if later.Path != PathToken || !later.AckedAt.Equal(rec.AckedAt) {
		t.Errorf("a second acknowledgement changed the first: %+v", later)
	}
	if _, err := s.Ack(ctx, "a1", "wh_zzz", "x", PathLink); !errors.Is(err, ErrNotFound) {
		t.Errorf("Ack of a hospital not asked = %v, want ErrNotFound", err)
	}
	list, err := s.List(ctx, "a1")
	if err != nil || len(list) != 2 || list[0].Hospital != "Harborview" || list[1].Hospital != "er.example" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestLinks(t *testing.T) {
	s := openStore(t)
	tok := s.Link("a1", "wh_a")
	if a, sub, err := s.ParseLink(tok); err != nil || a != "a1" || sub != "wh_a" {
		t.Fatalf("ParseLink(Link) = %s %s %v", a, sub, err)
	}
	other := openStore(t) // another Herald's key
	for _, bad := range []string{"", "a1.wh_a", strings.Replace(tok, "wh_a", "wh_b", 1), tok + "x", other.Link("a1", "wh_a")} {
		if _, _, err := s.ParseLink(bad); !errors.Is(err, ErrBadLink) {
			t.Errorf("ParseLink(%q) = %v, want ErrBadLink", bad, err)
		}
	}
}

// FuzzParseLink: a link token is outside input; only tokens Herald made
// are accepted.
func FuzzParseLink(f *testing.F) {
	s := &Store{linkKey: []byte("fuzz-key")}
	good := s.Link("a1", "wh_a")
	f.Add(good)
	f.Add("a.b.c")
	f.Add("...")
	f.Fuzz(func(t *testing.T, token string) {
		a, sub, err := s.ParseLink(token)
		if err == nil && s.Link(a, sub) != token {
			t.Fatalf("accepted %q for %s/%s", token, a, sub)
		}
		if err == nil && token != good && (a == "a1" && sub == "wh_a") {
			t.Fatalf("a second spelling of the link was accepted: %q", token)
		}
	})
}
