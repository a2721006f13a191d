package config

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Pos is a 1-based line and column in the config file.
type Pos struct {
	Line, Col int
}

// FieldError is one problem in a config file. Path is the field path in the
// document (e.g. `binds[0].listeners[0].routes[1].matches[0].path`); Line and
// Col are 0 when the position is unknown.
type FieldError struct {
	Path string
	Line int
	Col  int
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		if e.Col > 0 {
			fmt.Fprintf(&b, "line %d col %d: ", e.Line, e.Col)
		} else {
			fmt.Fprintf(&b, "line %d: ", e.Line)
		}
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, ordered by position.
// Load and Validate return it as *Errors.
type Errors []*FieldError

// List returns the errors (nil-safe).
func (e *Errors) List() []*FieldError {
	if e == nil {
		return nil
	}
	return *e
}

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders errors by position; errors without a position go last,
// and the original order is kept otherwise.
func sortErrors(errs []*FieldError) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i], errs[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// asError returns nil for no errors, else a sorted *Errors.
func asError(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	out := Errors(errs)
	return &out
}

// suggest returns ` (did you mean "x"?)` for the closest candidate: a
// case-insensitive match first, then the smallest edit distance ≤ 2.
func suggest(key string, candidates []string) string {
	for _, c := range candidates {
		if strings.EqualFold(c, key) {
			return fmt.Sprintf(" (did you mean %q?)", c)
		}
	}
	best, bestD := "", 3
	lk := strings.ToLower(key)
	for _, c := range candidates {
		d := editDistance(lk, strings.ToLower(c), bestD)
		if d < bestD && d < utf8.RuneCountInString(c) {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance, or max when it is at least max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= max {
			return max
		}
		prev, cur = cur, prev
	}
	return min(prev[len(rb)], max)
}
