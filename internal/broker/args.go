package broker

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Table is an AMQP field table as the front end decodes it. Values are
// plain Go types: string (longstr), []byte (binary), bool, int8, uint8,
// int16, uint16, int32, uint32, int64 (int is accepted as long), float32,
// float64, time.Time (timestamp), []any (array), Table or map[string]any
// (table) and nil (void).
type Table = map[string]any

// Decimal is the AMQP decimal field type, Value × 10^-Scale. The broker
// uses it for decimals it reads back from definitions.json; a front end's
// own decimal type is recognised too, provided its name ends in Decimal
// and it has the fields Scale and Value in that order (as the wire
// package's does).
type Decimal struct {
	Scale uint8
	Value int32
}

func isDecimal(v any) bool {
	if _, ok := v.(Decimal); ok {
		return true
	}
	return strings.HasSuffix(fmt.Sprintf("%T", v), "Decimal")
}

// typeName returns RabbitMQ's name for the AMQP field type of v, as it
// appears in error texts ("signedint", "longstr" …).
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "longstr"
	case []byte:
		return "binary"
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, int, uint64:
		return "long"
	case float32:
		return "float"
	case float64:
		return "double"
	case time.Time:
		return "timestamp"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case nil:
		return "void"
	}
	if isDecimal(v) {
		return "decimal"
	}
	return fmt.Sprintf("%T", v)
}

// typeClass groups types the way rabbit_misc:type_class does, so 5 as a
// signedint is equivalent to 5 as a long.
func typeClass(v any) string {
	switch v.(type) {
	case int8, uint8, int16, uint16, int32, uint32, int64, int, uint64:
		return "int"
	case float32, float64:
		return "float"
	}
	if isDecimal(v) {
		return "int" // rabbit_misc:type_class(decimal)
	}
	return typeName(v)
}

// toInt returns v as an int64 when it is an AMQP integer type.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(x), true
	}
	return 0, false
}

// toString returns v as a string when it is a longstr (or binary).
func toString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// valuesEqual compares two field values as Erlang's == does on the decoded
// terms: numbers by value across integer and float types, strings and
// binaries by bytes, arrays and tables element by element.
func valuesEqual(a, b any) bool {
	if ai, ok := toInt(a); ok {
		if bi, ok := toInt(b); ok {
			return ai == bi
		}
		if bf, ok := toFloat(b); ok {
			return float64(ai) == bf
		}
		if bt, ok := b.(time.Time); ok {
			return ai == bt.Unix()
		}
		return false
	}
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			return af == bf
		}
		if bi, ok := toInt(b); ok {
			return af == float64(bi)
		}
		return false
	}
	switch x := a.(type) {
	case string, []byte:
		as, _ := toString(x)
		bs, ok := toString(b)
		return ok && as == bs
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Unix() == y.Unix()
		}
		bi, ok := toInt(b)
		return ok && x.Unix() == bi
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valuesEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valuesEqual(v, w) {
				return false
			}
		}
		return true
	}
	if isDecimal(a) && isDecimal(b) {
		return fmt.Sprint(a) == fmt.Sprint(b)
	}
	return false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// erlTerm renders a value roughly as Erlang's ~p shows the decoded term,
// for error texts: numbers plainly, binaries as <<"...">>, lists and
// tables in Erlang syntax.
func erlTerm(v any) string {
	if i, ok := toInt(v); ok {
		return strconv.FormatInt(i, 10)
	}
	switch x := v.(type) {
	case float32:
		return erlFloat(float64(x))
	case float64:
		return erlFloat(x)
	case string:
		return `<<"` + x + `">>`
	case []byte:
		return `<<"` + string(x) + `">>`
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "undefined"
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = "{" + typeName(e) + "," + erlTerm(e) + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = `{<<"` + k + `">>,` + typeName(x[k]) + "," + erlTerm(x[k]) + "}"
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

// erlFloat formats a float as Erlang's shortest form does: "1.5", "100.0",
// "1.0e10".
func erlFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	mant, exp, hasExp := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	if !hasExp {
		return mant
	}
	exp = strings.TrimPrefix(exp, "+")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(strings.TrimPrefix(exp, "-"), "0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}

// argVal renders one side of an equivalence failure as rabbit_misc:val/1:
// "none", or "the value '5' of type 'signedint'".
func argVal(v any, present bool) string {
	if !present {
		return "none"
	}
	s, isStr := v.(string)
	if !isStr {
		if b, ok := v.([]byte); ok {
			s, isStr = string(b), true
		} else {
			s = erlTerm(v)
		}
	}
	return fmt.Sprintf("the value '%s' of type '%s'", s, typeName(v))
}

// assertArgsEquivalence checks the listed keys of a redeclaration against
// the original, as rabbit_misc:assert_args_equivalence does.
func assertArgsEquivalence(orig, req Table, kind, name, vhost string, keys []string) *Error {
	for _, k := range keys {
		ov, op := orig[k]
		nv, np := req[k]
		if !op && !np {
			continue
		}
		if op && np && typeClass(ov) == typeClass(nv) && valuesEqual(ov, nv) {
			continue
		}
		if k == "x-queue-type" {
			// Classic queues need not carry x-queue-type (rabbitmq-common#341).
			if (!op && isClassic(nv)) || (!np && isClassic(ov)) {
				continue
			}
		}
		return newError(CodePreconditionFailed, "inequivalent arg '%s' for %s: received %s but current is %s",
			k, rs(kind, name, vhost), argVal(nv, np), argVal(ov, op))
	}
	return nil
}

func isClassic(v any) bool {
	s, ok := toString(v)
	return ok && s == "classic"
}

// assertFieldEquivalence checks one declare flag (durable, auto_delete,
// type …) the way rabbit_misc:assert_field_equivalence does.
func assertFieldEquivalence(orig, req, kind, name, vhost, field string) *Error {
	if orig == req {
		return nil
	}
	return newError(CodePreconditionFailed, "inequivalent arg '%s' for %s: received '%s' but current is '%s'",
		field, rs(kind, name, vhost), req, orig)
}

// Queue argument validation (rabbit_amqqueue:declare_args/0 and its check
// functions). The checks run in this order; the first failure wins.
var queueArgChecks = []struct {
	key   string
	check func(v any, args Table) string
}{
	{"x-expires", checkExpires},
	{"x-message-ttl", checkMessageTTL},
	{"x-dead-letter-exchange", checkLongstr},
	{"x-dead-letter-routing-key", checkDLRK},
	{"x-max-length", checkNonNegInt},
	{"x-max-length-bytes", checkNonNegInt},
	{"x-max-in-memory-length", checkNonNegInt},
	{"x-max-in-memory-bytes", checkNonNegInt},
	{"x-max-priority", checkMaxPriority},
	{"x-overflow", checkOverflow},
	{"x-queue-mode", checkQueueMode},
	{"x-single-active-consumer", checkBool},
	{"x-queue-type", checkQueueType},
	{"x-quorum-initial-group-size", checkPositiveInt},
	{"x-max-age", checkMaxAge},
	{"x-max-segment-size", checkNonNegInt},
	{"x-initial-cluster-size", checkPositiveInt},
	{"x-queue-leader-locator", checkLeaderLocator},
}

// queueEquivalenceKeys are the arguments a redeclaration must repeat.
var queueEquivalenceKeys = func() []string {
	k := make([]string, len(queueArgChecks))
	for i, c := range queueArgChecks {
		k[i] = c.key
	}
	return k
}()

// maxExpiry is RabbitMQ's ?MAX_EXPIRY_TIMER (erlang:send_after's limit).
const maxExpiry = 4294967295

func checkInt(v any) string {
	if _, ok := toInt(v); ok {
		return ""
	}
	return fmt.Sprintf(`"expected integer, got %s"`, typeName(v))
}

func checkNonNegInt(v any, _ Table) string {
	if e := checkInt(v); e != "" {
		return e
	}
	if i, _ := toInt(v); i < 0 {
		return fmt.Sprintf("{value_negative,%d}", i)
	}
	return ""
}

func checkPositiveInt(v any, a Table) string {
	if e := checkNonNegInt(v, a); e != "" {
		return e
	}
	if i, _ := toInt(v); i == 0 {
		return "{value_zero,0}"
	}
	return ""
}

func checkExpiry(i int64) string {
	switch {
	case i > maxExpiry:
		return fmt.Sprintf("{value_too_big,%d}", i)
	case i < 0:
		return fmt.Sprintf("{value_negative,%d}", i)
	}
	return ""
}

func checkExpires(v any, _ Table) string {
	if e := checkInt(v); e != "" {
		return e
	}
	i, _ := toInt(v)
	if i == 0 {
		return "{value_zero,0}"
	}
	return checkExpiry(i)
}

func checkMessageTTL(v any, _ Table) string {
	if e := checkInt(v); e != "" {
		return e
	}
	i, _ := toInt(v)
	return checkExpiry(i)
}

func checkLongstr(v any, _ Table) string {
	if _, ok := v.(string); ok {
		return ""
	}
	return "{unacceptable_type," + typeName(v) + "}"
}

func checkDLRK(v any, a Table) string {
	if e := checkLongstr(v, a); e != "" {
		return e
	}
	if _, ok := a["x-dead-letter-exchange"]; !ok {
		return "routing_key_but_no_dlx_defined"
	}
	return ""
}

// maxPriority is RabbitMQ's ?MAX_SUPPORTED_PRIORITY.
const maxPriority = 255

func checkMaxPriority(v any, a Table) string {
	if e := checkNonNegInt(v, a); e != "" {
		return e
	}
	if i, _ := toInt(v); i > maxPriority {
		return fmt.Sprintf("{max_value_exceeded,%d}", i)
	}
	return ""
}

func checkOverflow(v any, _ Table) string {
	s, ok := v.(string)
	if !ok {
		return "{unacceptable_type," + typeName(v) + "}"
	}
	switch s {
	case "drop-head", "reject-publish", "reject-publish-dlx":
		return ""
	}
	return "invalid_overflow"
}

func checkQueueMode(v any, _ Table) string {
	s, ok := v.(string)
	if !ok {
		return "{unacceptable_type," + typeName(v) + "}"
	}
	if s == "default" || s == "lazy" {
		return ""
	}
	return fmt.Sprintf(`"unsupported queue mode '%s'"`, s)
}

func checkBool(v any, _ Table) string {
	if _, ok := v.(bool); ok {
		return ""
	}
	return "{unacceptable_type," + typeName(v) + "}"
}

// checkQueueType accepts only classic queues: Ferry has no quorum or
// stream queues, and silently making one a classic queue would hide that.
func checkQueueType(v any, _ Table) string {
	s, ok := v.(string)
	if !ok {
		return "{unacceptable_type," + typeName(v) + "}"
	}
	if s == "classic" {
		return ""
	}
	return fmt.Sprintf(`"unsupported queue type '%s'"`, s)
}

func checkMaxAge(v any, _ Table) string {
	s, ok := v.(string)
	if !ok {
		return "{unacceptable_type," + typeName(v) + "}"
	}
	digits := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := s[len(digits):]
	n, err := strconv.Atoi(digits)
	if err != nil || n <= 0 || !slices.Contains([]string{"Y", "M", "D", "h", "m", "s"}, unit) {
		return "invalid_max_age"
	}
	return ""
}

func checkLeaderLocator(v any, _ Table) string {
	s, ok := v.(string)
	if !ok {
		return "{unacceptable_type," + typeName(v) + "}"
	}
	switch s {
	case "client-local", "random", "least-leaders":
		return ""
	}
	return "invalid_queue_locator_arg"
}

// checkQueueArgs validates a new queue's arguments, as
// rabbit_amqqueue:check_arguments does.
func checkQueueArgs(args Table, name, vhost string) *Error {
	for _, c := range queueArgChecks {
		v, ok := args[c.key]
		if !ok {
			continue
		}
		if e := c.check(v, args); e != "" {
			return newError(CodePreconditionFailed, "invalid arg '%s' for %s: %s", c.key, rs("queue", name, vhost), e)
		}
	}
	return nil
}

// checkConsumeArgs validates basic.consume arguments (consume_args/0).
func checkConsumeArgs(args Table, name, vhost string) *Error {
	if v, ok := args["x-priority"]; ok {
		if e := checkInt(v); e != "" {
			return newError(CodePreconditionFailed, "invalid arg '%s' for %s: %s", "x-priority", rs("queue", name, vhost), e)
		}
	}
	if v, ok := args["x-cancel-on-ha-failover"]; ok {
		if e := checkBool(v, args); e != "" {
			return newError(CodePreconditionFailed, "invalid arg '%s' for %s: %s", "x-cancel-on-ha-failover", rs("queue", name, vhost), e)
		}
	}
	return nil
}

// canonicalArgs is a deterministic encoding of a table, so bindings that
// differ only in arguments are told apart (a binding's identity includes
// its arguments, as in RabbitMQ).
func canonicalArgs(t Table) string {
	if len(t) == 0 {
		return ""
	}
	var b strings.Builder
	writeCanonical(&b, t)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for _, k := range keys {
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanonical(b, x[k])
			b.WriteByte(',')
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for _, e := range x {
			writeCanonical(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	default:
		b.WriteString(typeName(v))
		b.WriteByte('(')
		switch y := v.(type) {
		case string:
			b.WriteString(strconv.Quote(y))
		case []byte:
			b.WriteString(strconv.Quote(string(y)))
		case time.Time:
			b.WriteString(strconv.FormatInt(y.Unix(), 10))
		default:
			fmt.Fprint(b, y)
		}
		b.WriteByte(')')
	}
}
