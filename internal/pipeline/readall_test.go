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
