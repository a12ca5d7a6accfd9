package ds

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
)

// Errors of the sorted-set helpers. The command layer maps them to wire
// replies; their texts are Redis's.
var (
	// ErrMinMaxNotFloat: a score range bound does not parse.
	ErrMinMaxNotFloat = errors.New("min or max is not a float")
	// ErrMinMaxNotString: a lex range bound does not start with [ ( - or +.
	ErrMinMaxNotString = errors.New("min or max not valid string range item")
	// ErrScoreNaN: an increment produced NaN (ZADD INCR, ZINCRBY of +inf
	// and -inf).
	ErrScoreNaN = errors.New("resulting score is not a number (NaN)")
)

// ScoreRange is a ZRANGEBYSCORE interval: Min and Max, each inclusive
// unless its Ex flag is set.
type ScoreRange struct {
	Min, Max     float64
	MinEx, MaxEx bool
}

// ParseScoreRange parses min and max as zslParseRange does: an optional
// '(' for an exclusive bound, then a number as C's strtod reads it
// ("1.5", "-inf", "+inf", "inf", "1e3"), NaN rejected.
func ParseScoreRange(min, max []byte) (ScoreRange, error) {
	var r ScoreRange
	var ok bool
	if r.Min, r.MinEx, ok = parseScoreBound(min); !ok {
		return r, ErrMinMaxNotFloat
	}
	if r.Max, r.MaxEx, ok = parseScoreBound(max); !ok {
		return r, ErrMinMaxNotFloat
	}
	return r, nil
}

func parseScoreBound(b []byte) (float64, bool, bool) {
	ex := len(b) > 0 && b[0] == '('
	if ex {
		b = b[1:]
	}
	v, ok := ParseStrtod(b)
	return v, ex, ok && !math.IsNaN(v)
}

// ParseStrtod parses b as C's strtod must consume it entirely: leading
// white space is skipped, "inf"/"infinity" in any case are accepted, an
// out-of-range value becomes ±Inf (or 0), and an empty string is 0 (strtod
// converts nothing and stops at the terminator, which Redis accepts).
// Hexadecimal floats ("0x10", "0x1.8p3") are accepted, as strtod does.
func ParseStrtod(b []byte) (float64, bool) {
	for len(b) > 0 && (b[0] == ' ' || (b[0] >= '\t' && b[0] <= '\r')) {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, true
	}
	if bytes.IndexByte(b, '_') >= 0 {
		return 0, false // Go accepts digit separators; strtod does not
	}
	str := string(b)
	if d := strings.TrimLeft(str, "+-"); len(str)-len(d) <= 1 && len(d) > 2 &&
		d[0] == '0' && (d[1] == 'x' || d[1] == 'X') && !strings.ContainsAny(d, "pP") {
		str += "p0" // strtod's hex floats may omit the exponent; Go's may not
	}
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// Empty reports whether no score can be in r (zslIsInRange's first test).
func (r ScoreRange) Empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinEx || r.MaxEx))
}

func (r ScoreRange) gteMin(v float64) bool {
	if r.MinEx {
		return v > r.Min
	}
	return v >= r.Min
}

func (r ScoreRange) lteMax(v float64) bool {
	if r.MaxEx {
		return v < r.Max
	}
	return v <= r.Max
}

// LexKind is the kind of a LexBound.
type LexKind uint8

// Lex bound kinds: an inclusive "[x" or exclusive "(x" value, or "-" (below
// every string) or "+" (above every string).
const (
	LexInclusive LexKind = iota
	LexExclusive
	LexMinusInf
	LexPlusInf
)

// LexBound is one end of a ZRANGEBYLEX interval.
type LexBound struct {
	Kind  LexKind
	Value []byte
}

// LexRange is a ZRANGEBYLEX interval.
type LexRange struct {
	Min, Max LexBound
}

// ParseLexRange parses min and max as zslParseLexRangeItem does: "[x"
// inclusive, "(x" exclusive, "-" and "+" alone for the infinities. The
// returned values alias min and max.
func ParseLexRange(min, max []byte) (LexRange, error) {
	var r LexRange
	var ok bool
	if r.Min, ok = parseLexBound(min); !ok {
		return r, ErrMinMaxNotString
	}
	if r.Max, ok = parseLexBound(max); !ok {
		return r, ErrMinMaxNotString
	}
	return r, nil
}

func parseLexBound(b []byte) (LexBound, bool) {
	if len(b) == 0 {
		return LexBound{}, false
	}
	switch b[0] {
	case '+':
		return LexBound{Kind: LexPlusInf}, len(b) == 1
	case '-':
		return LexBound{Kind: LexMinusInf}, len(b) == 1
	case '(':
		return LexBound{Kind: LexExclusive, Value: b[1:]}, true
	case '[':
		return LexBound{Kind: LexInclusive, Value: b[1:]}, true
	}
	return LexBound{}, false
}

// Empty reports whether no string can be in r (zslIsInLexRange's first
// test: "-" and "+" count as exclusive).
func (r LexRange) Empty() bool {
	var c int
	a, b := r.Min, r.Max
	switch {
	case a.Kind == b.Kind && (a.Kind == LexMinusInf || a.Kind == LexPlusInf):
		c = 0
	case a.Kind == LexMinusInf || b.Kind == LexPlusInf:
		c = -1
	case a.Kind == LexPlusInf || b.Kind == LexMinusInf:
		c = 1
	default:
		c = bytes.Compare(a.Value, b.Value)
	}
	return c > 0 || (c == 0 && (a.Kind != LexInclusive || b.Kind != LexInclusive))
}

func (r LexRange) gteMin(m []byte) bool {
	switch r.Min.Kind {
	case LexMinusInf:
		return true
	case LexPlusInf:
		return false
	case LexExclusive:
		return bytes.Compare(m, r.Min.Value) > 0
	}
	return bytes.Compare(m, r.Min.Value) >= 0
}

func (r LexRange) lteMax(m []byte) bool {
	switch r.Max.Kind {
	case LexPlusInf:
		return true
	case LexMinusInf:
		return false
	case LexExclusive:
		return bytes.Compare(m, r.Max.Value) < 0
	}
	return bytes.Compare(m, r.Max.Value) <= 0
}
