package authn

import (
	"net/http/httptest"
	"testing"
)

func TestLocations(t *testing.T) {
	r := httptest.NewRequest("GET", "http://gw/p?key=k1&x=1", nil)
	r.Header.Set("Authorization", "bearer  tok ")
	r.Header.Set("Cookie", "a=1; session=s1; b=2")
	if v, err := Bearer.Extract(r); v != "tok" || err != nil {
		t.Errorf("bearer: %q %v", v, err)
	}
	if _, err := Basic.Extract(r); err != ErrMissing {
		t.Errorf("basic on a bearer header: %v", err)
	}
	q := Location{Kind: Query, Name: "key"}
	c := Location{Kind: Cookie, Name: "session"}
	if v, _ := q.Extract(r); v != "k1" {
		t.Errorf("query: %q", v)
	}
	if v, _ := c.Extract(r); v != "s1" {
		t.Errorf("cookie: %q", v)
	}
	q.Remove(r)
	c.Remove(r)
	Bearer.Remove(r)
	if r.URL.RawQuery != "x=1" || r.Header.Get("Cookie") != "a=1; b=2" || r.Header.Get("Authorization") != "" {
		t.Errorf("after remove: %q %q %q", r.URL.RawQuery, r.Header.Get("Cookie"), r.Header.Get("Authorization"))
	}
	c.Set(r, "s2")
	if v, _ := c.Extract(r); v != "s2" {
		t.Errorf("cookie set: %q", v)
	}
	r.Header.Add("X-Key", "a")
	r.Header.Add("X-Key", "b")
	if _, err := (Location{Name: "X-Key"}).Extract(r); err != ErrAmbiguous {
		t.Errorf("two headers: %v", err)
	}
	if m, err := ParseMode("nope"); err == nil {
		t.Errorf("mode %v accepted", m)
	}
}
