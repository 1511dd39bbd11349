package redact

import (
	"strings"
	"testing"
)

// TestSecretsWords: a word that holds a piece of a password found in an input is hidden, in every
// spelling of the input and of the word; the display forms and plain words are not.
func TestSecretsWords(t *testing.T) {
	for _, c := range []struct {
		input, text string
		hidden      bool
	}{
		{"postgres://u:hunter2@h/db", `unknown command "postgres://u:hunter2@h/db"`, true},
		{"postgres://u:hunter2@h/db", `a word "hun…"`, false}, // three letters: not a piece
		{"postgres://u:hunter2@h/db", `clipped "postgres://u:hunt…"`, true},
		{"postgres://u:hun%20ter2@h/db", `decoded "hun ter2"`, true},
		{"postgres://u:hun%20ter2@h/db", `as given hun%20ter2`, true},
		{"//u:hunter2@h/db", "x hunter2 y", true},
		{"root:hunter2@tcp(h:3306)/db", "x [root:hunter2@tcp(h:3306)/db] y", true},
		{"postgres://u@h/db?password=hunter2&x=1", "hunter2", true},
		{"host=h password='hun ter2' dbname=d", `"hun ter2"`, true},
		{"--db=postgres://u:hunter2@h/db,extra", "--db=postgres://u:hunter2@h/db,extra", true},
		{"postgres://u:ab/cd//x@h/db", "x ab/cd//x", true},
		{"postgres://u:p@h/db", "http://host:port u:p@h", true},
		{"postgres://u:p@h/db", "http://host:port and p", false},
		{"postgres://u:hunter2@h/db", "postgres://u:xxxxx@h/db: connection refused", false},
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable", false},
		{"", "postgres://u:own@h/db", true}, // a password of its own
		{"", "ann@example.com user=ann password=xxxxx", false},
		{"", `level=INFO db=postgres://u:xxxxx@h/db store="mysql://r:xxxxx@h:1/t"`, false},
		{"", `db=postgres://u:own@h/db`, true},
	} {
		var s Secrets
		s.Add(c.input)
		got := s.Words(c.text)
		if hid := strings.Contains(got, Hidden); hid != c.hidden {
			t.Errorf("input %q: Words(%q) = %q; want hidden %v", c.input, c.text, got, c.hidden)
		}
	}
}
