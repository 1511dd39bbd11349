package server

import (
	"mime"
	"strings"
)

// acceptsJSON reports whether an /ids answer should be an api.Batch (application/json) rather than
// lines of text (text/plain), by the request's Accept header lines (RFC 9110, section 12.5.1).
//
// Each offered type gets the quality of the most specific media range that matches it
// (type/subtype, then type/*, then */*; parameters other than q are ignored); among equally
// specific ranges the highest quality counts. JSON is chosen when its quality is above zero and
// above text's, or equal to it and application/json was named itself; else text, which is also
// the answer when no range matches either type. A range that does not parse, or whose q is not a
// qvalue ("0" to "1" with at most three decimals), is ignored. The order of the ranges does not
// matter.
func acceptsJSON(accept []string) bool {
	var js, txt match
	for _, line := range accept {
		for _, r := range splitRanges(line) {
			mt, params, err := mime.ParseMediaType(r)
			if err != nil {
				continue
			}
			q := 1000
			if v, ok := params["q"]; ok {
				if q, ok = parseQ(v); !ok {
					continue
				}
			}
			typ, sub, _ := strings.Cut(mt, "/")
			js.offer(typ, sub, "application", "json", q)
			txt.offer(typ, sub, "text", "plain", q)
		}
	}
	return js.q > 0 && (js.q > txt.q || js.q == txt.q && js.spec == exact)
}

// Specificities of a media range that matches a type, from least to most specific.
const (
	noMatch = iota // no range matched
	anyType        // */*
	anySub         // type/*
	exact          // type/subtype
)

// match is the best range found for one offered type: its specificity and quality (thousandths).
type match struct {
	spec int
	q    int
}

// offer takes the range typ/sub with quality q into account for the offered type want/wantSub.
func (m *match) offer(typ, sub, want, wantSub string, q int) {
	spec := noMatch
	switch {
	case typ == want && sub == wantSub:
		spec = exact
	case typ == want && sub == "*":
		spec = anySub
	case typ == "*" && sub == "*":
		spec = anyType
	}
	if spec > m.spec || spec == m.spec && spec != noMatch && q > m.q {
		m.spec, m.q = spec, q
	}
}

// parseQ parses a qvalue ("0", "0.5", "1.000") into thousandths.
func parseQ(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range s[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			q += int(c-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// splitRanges splits an Accept header line at the commas that are not inside a quoted string,
// dropping empty elements and the white space around each.
func splitRanges(line string) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	add := func(end int) {
		if r := strings.TrimSpace(line[start:end]); r != "" {
			out = append(out, r)
		}
		start = end + 1
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			add(i)
		}
	}
	add(len(line))
	return out
}
