package compile

import (
	"fmt"
	"net/http"
	"testing"
)

func TestStripConnectionNamed(t *testing.T) {
	h := http.Header{
		"Connection":      {"keep-alive, X-User", "x-forwarded-for ,Upgrade"},
		"X-User":          {"attacker"},
		"X-Forwarded-For": {"1.2.3.4"},
		"Upgrade":         {"websocket"},
		"X-Kept":          {"yes"},
	}
	stripConnectionNamed(h)
	want := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "X-Kept": {"yes"}}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", h, want)
	}
	h = http.Header{"Connection": {"close"}, "X-Kept": {"yes"}}
	stripConnectionNamed(h)
	if len(h) != 1 || h.Get("X-Kept") != "yes" {
		t.Fatalf("got %v", h)
	}
}

func TestTooManyHeaders(t *testing.T) {
	h := http.Header{}
	for i := 0; i < MaxHeaderCount; i++ {
		h.Add("X-Same", "v")
	}
	if tooManyHeaders(h) {
		t.Fatal("100 fields rejected")
	}
	h.Add("X-Other", "v")
	if !tooManyHeaders(h) {
		t.Fatal("101 fields under one name accepted")
	}
}
