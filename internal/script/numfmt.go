package script

import (
	"math"
	"strconv"
	"strings"
)

// Number formatting and parsing as Lua 5.1 does them in C: tostring and
// string coercion print numbers with LUAI_NUMFFORMAT ("%.14g"), tonumber
// reads them with strtod (so hexadecimal, "inf" and "nan" are numbers).

// formatNumber formats f as Lua 5.1's tostring does.
func formatNumber(f float64) string { return string(appendCFloat(nil, f, 'g', 14, "")) }

// appendNumber appends f as Lua 5.1's tostring does.
func appendNumber(dst []byte, f float64) []byte { return appendCFloat(dst, f, 'g', 14, "") }

// appendG17 appends f as C's "%.17g" (how Redis turns Lua numbers into
// command arguments).
func appendG17(dst []byte, f float64) []byte { return appendCFloat(dst, f, 'g', 17, "") }

// appendCFloat formats f like C's printf conversion verb (e, E, f, F, g,
// G) with precision prec and the flags in flags ("#" keeps the point and
// trailing zeros of %g). Infinities and NaNs print as glibc prints them:
// "inf", "-inf", "nan", "-nan" (or in upper case for E, F, G).
func appendCFloat(dst []byte, f float64, verb byte, prec int, flags string) []byte {
	upper := verb == 'E' || verb == 'F' || verb == 'G'
	if math.IsInf(f, 0) || math.IsNaN(f) {
		s := "inf"
		if math.IsNaN(f) {
			s = "nan"
		}
		if math.Signbit(f) {
			s = "-" + s
		}
		if upper {
			s = strings.ToUpper(s)
		}
		return append(dst, s...)
	}
	alt := strings.IndexByte(flags, '#') >= 0
	switch verb {
	case 'e', 'E':
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'e', prec, 64)
		if alt && prec == 0 {
			dst = insertPoint(dst, start)
		}
		if upper {
			upperExp(dst[start:])
		}
		return dst
	case 'f', 'F':
		dst = strconv.AppendFloat(dst, f, 'f', prec, 64)
		if alt && prec == 0 {
			dst = append(dst, '.')
		}
		return dst
	}
	// %g: precision 0 means 1; exponent form when exp < -4 or exp >= prec.
	if prec == 0 {
		prec = 1
	}
	if !alt {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'g', prec, 64)
		if upper {
			upperExp(dst[start:])
		}
		return dst
	}
	// '#': like %e/%f with the precision, trailing zeros kept.
	exp := 0
	if f != 0 {
		e := strconv.AppendFloat(nil, f, 'e', prec-1, 64)
		i := strings.LastIndexByte(string(e), 'e')
		exp, _ = strconv.Atoi(string(e[i+1:]))
	}
	start := len(dst)
	if exp < -4 || exp >= prec {
		dst = strconv.AppendFloat(dst, f, 'e', prec-1, 64)
		if prec == 1 {
			dst = insertPoint(dst, start)
		}
	} else {
		dst = strconv.AppendFloat(dst, f, 'f', prec-1-exp, 64)
		if prec-1-exp == 0 {
			dst = append(dst, '.')
		}
	}
	if upper {
		upperExp(dst[start:])
	}
	return dst
}

// insertPoint adds the decimal point a '#' flag keeps after the single
// mantissa digit of an exponent form ("1e+10" → "1.e+10").
func insertPoint(b []byte, start int) []byte {
	i := start
	for i < len(b) && b[i] != 'e' && b[i] != 'E' {
		i++
	}
	b = append(b, 0)
	copy(b[i+1:], b[i:])
	b[i] = '.'
	return b
}

func upperExp(b []byte) {
	for i, c := range b {
		if c == 'e' {
			b[i] = 'E'
		}
	}
}

// str2number converts s as Lua 5.1's luaO_str2d does: strtod (leading
// spaces, sign, decimal or hexadecimal, inf, nan), then hexadecimal
// integers via strtoul, then only trailing spaces allowed.
func str2number(s string) (float64, bool) {
	f, n := strtod(s)
	if n == 0 {
		return 0, false
	}
	if n < len(s) && (s[n] == 'x' || s[n] == 'X') {
		u, m := strtoul(s, 16)
		f, n = float64(u), m
	}
	for n < len(s) && isSpace(s[n]) {
		n++
	}
	if n != len(s) {
		return 0, false
	}
	return f, true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtod parses the longest prefix of s glibc's strtod accepts and
// returns its value and length (0 when there is no number).
func strtod(s string) (float64, int) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	rest := s[i:]
	lower := strings.ToLower(rest[:min(len(rest), 8)])
	switch {
	case strings.HasPrefix(lower, "infinity"):
		return signed(math.Inf(1), neg), i + 8
	case strings.HasPrefix(lower, "inf"):
		return signed(math.Inf(1), neg), i + 3
	case strings.HasPrefix(lower, "nan"):
		j := i + 3
		if j < len(s) && s[j] == '(' {
			k := j + 1
			for k < len(s) && (isAlnum(s[k]) || s[k] == '_') {
				k++
			}
			if k < len(s) && s[k] == ')' {
				j = k + 1
			}
		}
		return signed(math.NaN(), neg), j
	}
	if len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X') {
		if v, n := hexFloat(rest[2:]); n > 0 {
			return signed(v, neg), i + 2 + n
		}
		// "0x" with no hex digits: the "0" alone is the number.
		return signed(0, neg), i + 1
	}
	j := i
	digits := 0
	for j < len(s) && isDigit(s[j]) {
		j++
		digits++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			j = k
		}
	}
	v, err := strconv.ParseFloat(s[start:j], 64)
	if err != nil {
		// Out of range: strtod gives ±HUGE_VAL or 0, as ParseFloat does.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, 0
		}
	}
	return v, j
}

func signed(v float64, neg bool) float64 {
	if neg {
		return -v
	}
	return v
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'z'
}

func hexVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// hexFloat parses the part of a C99 hexadecimal float after "0x":
// digits, an optional fraction and an optional binary exponent.
func hexFloat(s string) (float64, int) {
	i := 0
	var mant float64
	exp := 0
	digits := 0
	for i < len(s) && hexVal(s[i]) >= 0 {
		mant = mant*16 + float64(hexVal(s[i]))
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		fd := 0
		for j < len(s) && hexVal(s[j]) >= 0 {
			mant = mant*16 + float64(hexVal(s[j]))
			exp -= 4
			j++
			fd++
		}
		if digits+fd > 0 {
			i = j
			digits += fd
		}
	}
	if digits == 0 {
		return 0, 0
	}
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		k := i + 1
		eneg := false
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			eneg = s[k] == '-'
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			e := 0
			for k < len(s) && isDigit(s[k]) {
				if e < 100000 {
					e = e*10 + int(s[k]-'0')
				}
				k++
			}
			if eneg {
				e = -e
			}
			exp += e
			i = k
		}
	}
	return math.Ldexp(mant, exp), i
}

// strtoul parses like C's strtoul(s, &end, base) on a 64-bit system:
// leading spaces, a sign (a minus negates modulo 2^64), "0x" for base 16,
// saturating at the maximum. It returns the value and the length consumed
// (0 when there are no digits).
func strtoul(s string, base int) (uint64, int) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && i+2 < len(s)+1 && i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') {
		if i+2 < len(s) && digitVal(s[i+2]) < 16 {
			i += 2
		}
	}
	start := i
	var v uint64
	overflow := false
	for i < len(s) {
		d := digitVal(s[i])
		if d >= base {
			break
		}
		nv := v*uint64(base) + uint64(d)
		if nv/uint64(base) != v || nv < uint64(d) {
			overflow = true
		}
		v = nv
		i++
	}
	if i == start {
		return 0, 0
	}
	if overflow {
		return math.MaxUint64, i
	}
	if neg {
		v = -v
	}
	return v, i
}

func digitVal(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
