package config

import (
	"strings"
	"testing"
	"time"
)

func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("config:\n  dns:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("    a" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	start := time.Now()
	_, err := Load([]byte(b.String()), nil)
	if err == nil || !strings.Contains(err.Error(), "document too large") {
		t.Fatalf("want a size error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestDeepNesting(t *testing.T) {
	src := "config:\n  dns: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "\n"
	_, _ = Load([]byte(src), nil) // must not panic or hang
}

func itoa(i int) string { return string(rune('0' + i)) }
