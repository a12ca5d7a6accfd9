package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// strFormat is Lua 5.1's string.format (lstrlib.c str_format), with C's
// printf semantics for each conversion: flags "-+ #0", width and precision
// of at most two digits, %d/%i on a C long, %o/%u/%x/%X on an unsigned
// long, %e/%E/%f/%g/%G on a double, %c, %s (a string of 100 bytes or more
// without precision is copied whole), %q (a quoted Lua string).
func (v *vm) strFormat(L *lua.LState) int {
	const fname = "format"
	fmtS := argString(L, 1, fname)
	top := L.GetTop()
	arg := 1
	var out []byte
	limit := v.e.maxStr.Load()
	for i := 0; i < len(fmtS); {
		c := fmtS[i]
		if c != '%' {
			out = append(out, c)
			i++
			continue
		}
		i++
		if i < len(fmtS) && fmtS[i] == '%' {
			out = append(out, '%')
			i++
			continue
		}
		arg++
		if arg > top {
			argError(L, arg, fname, "no value")
		}
		// scanformat
		start := i
		for i < len(fmtS) && strings.IndexByte("-+ #0", fmtS[i]) >= 0 {
			i++
		}
		if i-start >= len("-+ #0")+1 {
			L.RaiseError("invalid format (repeated flags)")
		}
		flags := fmtS[start:i]
		width, prec := -1, -1
		if i < len(fmtS) && isDigit(fmtS[i]) {
			width = int(fmtS[i] - '0')
			i++
			if i < len(fmtS) && isDigit(fmtS[i]) {
				width = width*10 + int(fmtS[i]-'0')
				i++
			}
		}
		hasPoint := false
		if i < len(fmtS) && fmtS[i] == '.' {
			hasPoint = true
			i++
			prec = 0
			if i < len(fmtS) && isDigit(fmtS[i]) {
				prec = int(fmtS[i] - '0')
				i++
				if i < len(fmtS) && isDigit(fmtS[i]) {
					prec = prec*10 + int(fmtS[i]-'0')
					i++
				}
			}
		}
		if i < len(fmtS) && isDigit(fmtS[i]) {
			L.RaiseError("invalid format (width or precision too long)")
		}
		var conv byte
		if i < len(fmtS) {
			conv = fmtS[i]
			i++
		}
		spec := cspec{flags: flags, width: width, prec: prec}
		switch conv {
		case 'c':
			ch := byte(luaInt(argNumber(L, arg, fname)))
			out = cString(out, spec.pad([]byte{ch}, false))
		case 'd', 'i':
			n := cLong(argNumber(L, arg, fname))
			out = append(out, spec.integer(n < 0, strconv.FormatUint(absU(n), 10), "")...)
		case 'o', 'u', 'x', 'X':
			u := cULong(argNumber(L, arg, fname))
			digits, prefix := "", ""
			switch conv {
			case 'o':
				digits = strconv.FormatUint(u, 8)
				if spec.has('#') && digits[0] != '0' {
					if spec.prec <= len(digits) {
						spec.prec = len(digits) + 1
					}
				}
			case 'u':
				digits = strconv.FormatUint(u, 10)
			case 'x', 'X':
				digits = strconv.FormatUint(u, 16)
				if spec.has('#') && u != 0 {
					prefix = "0x"
				}
				if conv == 'X' {
					digits, prefix = strings.ToUpper(digits), strings.ToUpper(prefix)
				}
			}
			spec.flags = strings.NewReplacer("+", "", " ", "").Replace(spec.flags)
			out = append(out, spec.integer(false, digits, prefix)...)
		case 'e', 'E', 'f', 'g', 'G':
			f := argNumber(L, arg, fname)
			p := spec.prec
			if p < 0 {
				p = 6
			}
			body := appendCFloat(nil, math.Abs(f), conv, p, spec.flags)
			neg := math.Signbit(f)
			finite := !math.IsInf(f, 0) && !math.IsNaN(f)
			out = append(out, spec.number(neg, string(body), "", finite)...)
		case 'q':
			out = addQuoted(out, argString(L, arg, fname))
		case 's':
			s := argString(L, arg, fname)
			if !hasPoint && len(s) >= 100 {
				out = append(out, s...)
				break
			}
			b := []byte(s)
			if k := strings.IndexByte(s, 0); k >= 0 {
				b = b[:k] // sprintf stops at the C string's end
			}
			if spec.prec >= 0 && len(b) > spec.prec {
				b = b[:spec.prec]
			}
			out = append(out, spec.pad(b, false)...)
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
		if int64(len(out)) > limit {
			L.RaiseError("not enough memory")
		}
	}
	L.Push(lua.LString(out))
	return 1
}

// cString keeps what C's strlen would see of a formatted item.
func cString(dst, item []byte) []byte {
	for _, c := range item {
		if c == 0 {
			break
		}
		dst = append(dst, c)
	}
	return dst
}

type cspec struct {
	flags       string
	width, prec int
}

func (s cspec) has(f byte) bool { return strings.IndexByte(s.flags, f) >= 0 }

// pad fills to the width with spaces (or zeros between sign and digits).
func (s cspec) pad(b []byte, zeroOK bool) []byte {
	if s.width <= len(b) {
		return b
	}
	fill := s.width - len(b)
	if s.has('-') {
		return append(b, strings.Repeat(" ", fill)...)
	}
	return append([]byte(strings.Repeat(" ", fill)), b...)
}

// integer lays out an integer conversion: sign, prefix, digits with the
// precision as minimum count (precision 0 prints nothing for zero), width.
func (s cspec) integer(neg bool, digits, prefix string) []byte {
	if s.prec == 0 && digits == "0" {
		digits = ""
	}
	if s.prec > len(digits) {
		digits = strings.Repeat("0", s.prec-len(digits)) + digits
	}
	sign := ""
	switch {
	case neg:
		sign = "-"
	case s.has('+'):
		sign = "+"
	case s.has(' '):
		sign = " "
	}
	body := sign + prefix + digits
	if s.width > len(body) && s.has('0') && !s.has('-') && s.prec < 0 {
		return []byte(sign + prefix + strings.Repeat("0", s.width-len(body)) + digits)
	}
	return s.pad([]byte(body), false)
}

// number lays out a floating conversion whose body has no sign.
func (s cspec) number(neg bool, body, prefix string, finite bool) []byte {
	sign := ""
	switch {
	case neg:
		sign = "-"
	case s.has('+'):
		sign = "+"
	case s.has(' '):
		sign = " "
	}
	all := sign + prefix + body
	if finite && s.width > len(all) && s.has('0') && !s.has('-') {
		return []byte(sign + prefix + strings.Repeat("0", s.width-len(all)) + body)
	}
	return s.pad([]byte(all), false)
}

func absU(n int64) uint64 {
	if n < 0 {
		return uint64(-n)
	}
	return uint64(n)
}

// cLong is a C cast from double to long on x86-64.
func cLong(f float64) int64 { return toInteger(f) }

// cULong is a C cast from double to unsigned long as gcc compiles it on
// x86-64 (negative values wrap; 2^63 and up are offset).
func cULong(f float64) uint64 {
	if f != f {
		return 1 << 63
	}
	if f < 9223372036854775808.0 {
		return uint64(toInteger(f))
	}
	return uint64(toInteger(f-9223372036854775808.0)) ^ (1 << 63)
}

// addQuoted is %q: a string Lua can read back.
func addQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			dst = append(dst, '\\', c)
		case '\r':
			dst = append(dst, '\\', 'r')
		case 0:
			dst = append(dst, '\\', '0', '0', '0')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
