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
// a hostile pattern cannot exhaust the stack.
const maxNesting = 1000

// match follows Redis 7.0's stringmatchlen (util.c) step by step, so every
// odd pattern ("[a-]", "[]", a trailing backslash, an unterminated set) means
// what it means there. Like Redis, an empty string matches only the empty
// pattern ("*" included: KEYS and SCAN treat a lone "*" themselves).
func match(p, s []byte, fold bool, nesting int) bool {
	skip := false
	return matchImpl(p, s, fold, &skip, nesting)
}

// matchImpl is one level of stringmatchlen. skipLonger is set once the
// rest of the pattern after a '*' has failed at every position: then no
// earlier '*' can succeed by matching more (Redis's fix for
// CVE-2022-36021), which keeps patterns like "*a*a*a*b" linear-ish
// instead of exponential.
func matchImpl(p, s []byte, fold bool, skipLonger *bool, nesting int) bool {
	if nesting > maxNesting {
		return false
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if matchImpl(p[1:], s, fold, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			matched := false
			for {
				if len(p) >= 2 && p[0] == '\\' {
					p = p[1:]
					if eq(p[0], s[0], fold) {
						matched = true
					}
				} else if len(p) > 0 && p[0] == ']' {
					break
				} else if len(p) == 0 {
					// Unterminated set: Redis steps back onto the last
					// byte, which the advance below then consumes.
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end, c := p[0], p[2], s[0]
					if start > end {
						start, end = end, start
					}
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
			if len(p) == 0 {
				// An unterminated set ends the pattern: Redis steps back
				// onto its last byte and the advance below consumes it.
				return len(s) == 0
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if !eq(p[0], s[0], fold) {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}

func eq(a, b byte, fold bool) bool {
	if fold {
		return lower(a) == lower(b)
	}
	return a == b
}
