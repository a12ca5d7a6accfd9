// Package glob matches strings against Redis's glob-style patterns (KEYS,
// SCAN MATCH, PSUBSCRIBE, CONFIG GET): '*' any run, '?' any one byte,
// '[abc]' a set, '[^a]' a negated set, '[a-z]' a range, and '\'
// escaping the next byte. Matching is byte-wise and case-sensitive unless
// asked otherwise. It imports nothing.
package glob

// Match reports whether s matches pattern.
func Match(pattern, s []byte) bool { return match(pattern, s, false, 0) }

// MatchFold is Match ignoring ASCII case.
func MatchFold(pattern, s []byte) bool { return match(pattern, s, true, 0) }

// MatchString is Match for strings.
func MatchString(pattern, s string) bool { return Match([]byte(pattern), []byte(s)) }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// maxNesting bounds recursion on patterns with many '*', as Redis does, so
// a hostile pattern cannot take exponential time.
const maxNesting = 1000

func match(p, s []byte, fold bool, nesting int) bool {
	if nesting > maxNesting {
		return false
	}
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if match(p[1:], s[i:], fold, nesting+1) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
			p = p[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			p = p[1:]
			not := len(p) > 0 && (p[0] == '^')
			if not {
				p = p[1:]
			}
			matched := false
			for {
				if len(p) == 0 {
					break // unterminated set: Redis treats the end as ']'
				}
				if p[0] == '\\' && len(p) >= 2 {
					p = p[1:]
					if eq(p[0], s[0], fold) {
						matched = true
					}
				} else if p[0] == ']' {
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end := p[0], p[2]
					if start > end {
						start, end = end, start
					}
					c := s[0]
					if fold {
						start, end, c = lower(start), lower(end), lower(c)
					}
					p = p[2:]
					if c >= start && c <= end {
						matched = true
					}
				} else if eq(p[0], s[0], fold) {
					matched = true
				}
				p = p[1:]
			}
			if not {
				matched = !matched
			}
			if !matched {
				return false
			}
			s = s[1:]
			if len(p) > 0 {
				p = p[1:] // the ']'
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || !eq(p[0], s[0], fold) {
				return false
			}
			s = s[1:]
			p = p[1:]
		}
	}
	return len(s) == 0
}

func eq(a, b byte, fold bool) bool {
	if fold {
		return lower(a) == lower(b)
	}
	return a == b
}
