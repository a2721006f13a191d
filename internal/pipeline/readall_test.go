package pipeline

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAllSized(t *testing.T) {
	body := strings.Repeat("x", 100)
	boom := errors.New("boom")
	cases := []struct {
		name    string
		r       io.Reader
		n       int64
		want    string
		wantErr error
	}{
		{"exact length", strings.NewReader(body), 100, body, nil},
		{"unknown length", strings.NewReader(body), -1, body, nil},
		{"length above the limit", strings.NewReader(body), 1 << 30, body, nil},
		{"longer than declared", strings.NewReader(body), 10, body, nil},
		{"shorter than declared", strings.NewReader(body[:40]), 100, body[:40], nil},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(body)), 100, body, nil},
		{"data with EOF", iotest.DataErrReader(strings.NewReader(body)), 100, body, nil},
		{"error midway", io.MultiReader(strings.NewReader(body[:30]), iotest.ErrReader(boom)), 100, body[:30], boom},
		{"empty", strings.NewReader(""), 0, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadAllSized(tc.r, tc.n, 1<<20)
			if !errors.Is(err, tc.wantErr) || !bytes.Equal(got, []byte(tc.want)) {
				t.Fatalf("got %d bytes, %v; want %d bytes, %v", len(got), err, len(tc.want), tc.wantErr)
			}
		})
	}
}

// A body longer than 64 KiB grows to its declared length as it arrives.
func TestReadAllSizedLarge(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 40000) // 640,000 bytes
	for _, n := range []int64{int64(len(body)), int64(len(body)) - 1000, int64(len(body)) + 1000} {
		got, err := ReadAllSized(iotest.HalfReader(bytes.NewReader(body)), n, 1<<30)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("declared %d: got %d bytes, %v", n, len(got), err)
		}
	}
}

// ReadAllSizedInto reads into the given buffer when it is large enough
// for what ReadAllSized would allocate up front, and allocates otherwise.
func TestReadAllSizedInto(t *testing.T) {
	body := strings.Repeat("y", 100)
	cases := []struct {
		name      string
		dst       []byte
		n         int64
		wantAlias bool
	}{
		{"room for the body and the EOF probe", make([]byte, 7, 101), 100, true},
		{"one byte short of the probe", make([]byte, 0, 100), 100, false},
		{"nil", nil, 100, false},
		{"unknown length", make([]byte, 0, 4096), -1, false},
		{"above the up-front bound, room for all", make([]byte, 0, maxUpfront*2+1), maxUpfront * 2, true},
		{"above the up-front bound, grown past the buffer", make([]byte, 0, maxUpfront), maxUpfront * 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := body
			if tc.n > int64(len(body)) && tc.n > 100 {
				want = strings.Repeat("y", int(tc.n))
			}
			got, err := ReadAllSizedInto(tc.dst, strings.NewReader(want), tc.n, 1<<30)
			if err != nil || string(got) != want {
				t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(want))
			}
			aliased := cap(tc.dst) > 0 && cap(got) > 0 && &tc.dst[:1][0] == &got[:1][0]
			if aliased != tc.wantAlias {
				t.Fatalf("result aliases dst: %v, want %v", aliased, tc.wantAlias)
			}
		})
	}
}
