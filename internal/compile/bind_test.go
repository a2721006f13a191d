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

func TestStripConnectionNamedTokens(t *testing.T) {
	tests := []struct {
		conn string
		in   http.Header
		want string
	}{
		{"keep-alive", http.Header{"Keep-Alive": {"timeout=5"}, "X-Kept": {"yes"}}, "map[X-Kept:[yes]]"},
		{"Keep-Alive, close", http.Header{"Keep-Alive": {"timeout=5"}, "Close": {"x"}}, "map[]"},
		{" ,, x-a ,", http.Header{"X-A": {"1"}, "X-B": {"2"}}, "map[X-B:[2]]"},
		{"", http.Header{"X-B": {"2"}}, "map[X-B:[2]]"},
		{"upgrade, keep-alive", http.Header{"Keep-Alive": {"1"}}, "map[Connection:[Upgrade]]"},
	}
	for _, tt := range tests {
		tt.in["Connection"] = []string{tt.conn}
		stripConnectionNamed(tt.in)
		if got := fmt.Sprint(tt.in); got != tt.want {
			t.Errorf("Connection %q: got %s, want %s", tt.conn, got, tt.want)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		stripConnectionNamed(http.Header{"Connection": {"keep-alive"}})
	})
	if allocs > 1 { // the header map literal itself
		t.Errorf("stripConnectionNamed allocates %v times for Connection: keep-alive", allocs)
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
