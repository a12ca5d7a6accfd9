// Package metrics renders what Ferry's engines count in the Prometheus text
// exposition format (version 0.0.4), under the metric names of the
// established exporters (redis_exporter, memcached_exporter, RabbitMQ's
// rabbitmq_prometheus plugin) so that existing dashboards and alerts work.
//
// The engines own their counters (atomics); this package only reads
// snapshots handed to it as plain values (INFO text, memcached stats pairs,
// a Broker struct), so it imports nothing but the standard library and
// can be imported by anything. Every metric name is declared in metrics.go.
//
// Why no client_golang: Ferry exposes a few hundred samples produced on
// demand from snapshots, which needs neither registries, collectors nor
// protobuf; the text format is a page of code, and the strict parser in
// parse.go (also a fuzz target) checks what is written.
package metrics

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Type is a metric family's type, as written on its # TYPE line.
type Type uint8

// The family types Ferry writes.
const (
	Untyped Type = iota
	Counter
	Gauge
)

// String returns the exposition-format spelling of t.
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	}
	return "untyped"
}

// Family describes one metric family: name, help text and type.
type Family struct {
	Name string
	Help string
	Type Type
}

// Writer collects samples and writes them grouped by family, as the
// exposition format requires (one # HELP and # TYPE line per family, then
// all its samples), in the order families were first used. It is not safe
// for concurrent use; build one per scrape.
type Writer struct {
	fams  []*famBuf
	index map[string]*famBuf
}

type famBuf struct {
	f      Family
	buf    []byte
	series map[string]bool // label sets written, to drop duplicates
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer { return &Writer{index: map[string]*famBuf{}} }

// Add writes one sample of family f with the given label pairs (name,
// value, name, value ...). A second sample with the same labels is
// dropped: the exposition format forbids duplicate series.
func (w *Writer) Add(f Family, v float64, labels ...string) {
	if len(labels)%2 != 0 {
		panic("metrics: odd number of label arguments for " + f.Name)
	}
	fb := w.index[f.Name]
	if fb == nil {
		fb = &famBuf{f: f, series: map[string]bool{}}
		w.index[f.Name] = fb
		w.fams = append(w.fams, fb)
	}
	start := len(fb.buf)
	fb.buf = append(fb.buf, f.Name...)
	if len(labels) > 0 {
		fb.buf = append(fb.buf, '{')
		for i := 0; i < len(labels); i += 2 {
			if i > 0 {
				fb.buf = append(fb.buf, ',')
			}
			fb.buf = append(fb.buf, labels[i]...)
			fb.buf = append(fb.buf, '=', '"')
			fb.buf = appendLabelValue(fb.buf, labels[i+1])
			fb.buf = append(fb.buf, '"')
		}
		fb.buf = append(fb.buf, '}')
	}
	key := string(fb.buf[start:])
	if fb.series[key] {
		fb.buf = fb.buf[:start]
		return
	}
	fb.series[key] = true
	fb.buf = append(fb.buf, ' ')
	fb.buf = AppendValue(fb.buf, v)
	fb.buf = append(fb.buf, '\n')
}

// Len returns the number of families written so far.
func (w *Writer) Len() int { return len(w.fams) }

// WriteTo writes every family to out.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	var b []byte
	for _, fb := range w.fams {
		b = append(b, "# HELP "...)
		b = append(b, fb.f.Name...)
		b = append(b, ' ')
		b = appendHelp(b, fb.f.Help)
		b = append(b, "\n# TYPE "...)
		b = append(b, fb.f.Name...)
		b = append(b, ' ')
		b = append(b, fb.f.Type.String()...)
		b = append(b, '\n')
		b = append(b, fb.buf...)
	}
	n, err := out.Write(b)
	return int64(n), err
}

// String returns what WriteTo would write.
func (w *Writer) String() string {
	var sb strings.Builder
	w.WriteTo(&sb)
	return sb.String()
}

// AppendValue appends a sample value: integers without an exponent (the
// common case: counters and byte counts), other numbers in Go's shortest
// form, and NaN, +Inf, -Inf as the format spells them.
func AppendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendLabelValue escapes a label value: backslash, double quote and
// line feed (the only escapes the text format defines).
func appendLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendHelp escapes help text: backslash and line feed.
func appendHelp(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// validName reports whether s is a valid metric name
// ([a-zA-Z_:][a-zA-Z0-9_:]*).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// validLabelName reports whether s is a valid label name
// ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
func validLabelName(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// checkFamily reports a family that breaks the naming rules Ferry keeps:
// a valid name, help text, and counters ending in _total.
func checkFamily(f Family) error {
	switch {
	case !validName(f.Name):
		return fmt.Errorf("metrics: invalid family name %q", f.Name)
	case f.Help == "":
		return fmt.Errorf("metrics: family %s has no help text", f.Name)
	case f.Type == Counter && !strings.HasSuffix(f.Name, "_total"):
		return fmt.Errorf("metrics: counter %s does not end in _total", f.Name)
	}
	return nil
}
