package jsonscan

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
)

var validSeeds = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi \"x\" \u00e9\n"}],"n":-1.5e+3,"t":true,"f":false,"z":null,"a":[],"o":{}}`,
	`[1,0,-0,0.1,1e5,1E-5,"\\/\b\f\n\r\t"]`, ` "x" `, `0`, `-`, `01`, `1.`, `.1`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`,
	`"\x"`, `"\u12"`, `"\u12G4"`, "\"\x01\"", `tru`, `nul`, `[1 2]`, `{} {}`, `{"a":[{"b":[]}]}`, "\"\xff\"", `[`, `]`, ``, ` `,
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001), strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	check := func(s string) {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Fatalf("Valid(%.80q) = %v, json.Valid = %v", s, got, want)
		}
	}
	for _, s := range validSeeds {
		check(s)
	}
	const alphabet = "{}[]\":,.-+eE0123456789 \\/unlltrfasx\n\t"
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 200000; n++ {
		b := []byte(validSeeds[rng.Intn(3)])
		for k := rng.Intn(3) + 1; k > 0; k-- {
			p := rng.Intn(len(b) + 1)
			switch rng.Intn(3) {
			case 0: // insert
				b = append(b[:p], append([]byte{alphabet[rng.Intn(len(alphabet))]}, b[p:]...)...)
			case 1: // delete
				if p < len(b) {
					b = append(b[:p], b[p+1:]...)
				}
			default: // replace
				if p < len(b) {
					b[p] = alphabet[rng.Intn(len(alphabet))]
				}
			}
		}
		check(string(b))
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if Valid(b) != json.Valid(b) {
			t.Fatalf("Valid(%q) = %v", b, Valid(b))
		}
	})
}

func BenchmarkValid(b *testing.B) {
	doc := []byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("some words here ", 60) + `"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`)
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			json.Valid(doc)
		}
	})
	b.Run("llm", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			Valid(doc)
		}
	})
}

// TestPeekStringMatchesEncodingJSON: a string value reads as encoding/json
// decodes it, escapes and invalid UTF-8 included.
func TestPeekStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{`"plain"`, `"\u00e9\n"`, "\"\xf9\"", "\"caf\xc3\xa9\"", "\"\xc3\"", `""`, `"a\"b"`} {
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got, ok := PeekString([]byte(s)); !ok || got != want {
			t.Fatalf("PeekString(%q) = %q, %v; encoding/json %q", s, got, ok, want)
		}
	}
}

// TestTopLevelValuesFolding: a member whose name encoding/json would match
// to a key only by (Unicode) case folding makes TopLevelValues and Members
// report false, so the caller decodes in full; exact names are read.
func TestTopLevelValuesFolding(t *testing.T) {
	keys := []string{"stream", "max_tokens"}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"stream":true,"max_tokens":5}`, true},
		{`{"Stream":true}`, false},
		{`{"ſtream":true}`, false},         // U+017F LATIN SMALL LETTER LONG S folds to s
		{`{"max_to\u212aens":5}`, false},   // an escaped name: the caller decodes
		{"{\"max_to\u212aens\":5}", false}, // the raw Kelvin sign folds to k
		{`{"streams":true,"tokens":1}`, true},
	} {
		vals := make([][]byte, len(keys))
		if got := TopLevelValues([]byte(tc.in), keys, vals); got != tc.ok {
			t.Errorf("TopLevelValues(%s) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}
