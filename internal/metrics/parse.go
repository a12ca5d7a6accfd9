package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ParsedFamily is one family read back by ParseText.
type ParsedFamily struct {
	Name    string
	Help    string
	Type    string // "counter", "gauge", "untyped", "summary", "histogram"
	Samples []Sample
}

// Sample is one sample line.
type Sample struct {
	Name   string // the family name, or with _sum/_count/_bucket for summaries and histograms
	Labels map[string]string
	Value  float64
}

// Get returns the value of the sample with exactly the given labels.
func (f *ParsedFamily) Get(labels ...string) (float64, bool) {
	for _, s := range f.Samples {
		if len(s.Labels)*2 != len(labels) {
			continue
		}
		match := true
		for i := 0; i < len(labels); i += 2 {
			if v, ok := s.Labels[labels[i]]; !ok || v != labels[i+1] {
				match = false
				break
			}
		}
		if match {
			return s.Value, true
		}
	}
	return 0, false
}

// ParseText parses the Prometheus text exposition format (0.0.4) strictly,
// as Prometheus's own parser does and a little more: every sample's family
// must be declared with # TYPE before its first sample; # HELP and # TYPE
// appear at most once per family; a family's samples are contiguous; names,
// label names, escapes and values are well-formed; no series repeats.
// Ferry uses it to check its own /metrics output.
func ParseText(r io.Reader) (map[string]*ParsedFamily, error) {
	fams := map[string]*ParsedFamily{}
	done := map[string]bool{} // families whose run of lines has ended
	seen := map[string]bool{} // series (name + sorted labels)
	var cur *ParsedFamily
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d: %s: %q", n, fmt.Sprintf(format, args...), line)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == '#' {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 2 || f[0] != "#" || (f[1] != "HELP" && f[1] != "TYPE") {
				continue // a plain comment
			}
			if len(f) < 3 {
				return nil, fail("%s without a metric name", f[1])
			}
			name := f[2]
			if !validName(name) {
				return nil, fail("invalid metric name")
			}
			fam := fams[name]
			if fam == nil {
				if done[name] {
					return nil, fail("family %s appears twice", name)
				}
				fam = &ParsedFamily{Name: name}
				fams[name] = fam
			}
			if cur != nil && cur != fam {
				done[cur.Name] = true
				if len(fam.Samples) > 0 || done[name] {
					return nil, fail("family %s is not contiguous", name)
				}
			}
			cur = fam
			if f[1] == "HELP" {
				if fam.Help != "" {
					return nil, fail("second HELP for %s", name)
				}
				text := ""
				if len(f) == 4 {
					text = f[3]
				}
				h, err := unescapeHelp(text)
				if err != nil {
					return nil, fail("%v", err)
				}
				if h == "" {
					h = " " // present but empty: still counts as given
				}
				fam.Help = h
				continue
			}
			if len(f) != 4 {
				return nil, fail("TYPE without a type")
			}
			switch f[3] {
			case "counter", "gauge", "untyped", "summary", "histogram":
			default:
				return nil, fail("unknown type %q", f[3])
			}
			if fam.Type != "" {
				return nil, fail("second TYPE for %s", name)
			}
			if len(fam.Samples) > 0 {
				return nil, fail("TYPE for %s after its samples", name)
			}
			fam.Type = f[3]
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fail("%v", err)
		}
		famName := familyOf(s.Name, fams)
		fam := fams[famName]
		if fam == nil || fam.Type == "" {
			return nil, fail("sample of %s before its TYPE line", s.Name)
		}
		if cur != fam {
			return nil, fail("family %s is not contiguous", famName)
		}
		if fam.Type == "counter" && s.Value < 0 {
			return nil, fail("negative counter")
		}
		key := seriesKey(s)
		if seen[key] {
			return nil, fail("duplicate series")
		}
		seen[key] = true
		fam.Samples = append(fam.Samples, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for name, f := range fams {
		if f.Type == "" {
			return nil, fmt.Errorf("family %s has HELP but no TYPE", name)
		}
	}
	return fams, nil
}

// familyOf maps a sample name to its family: itself, or for summaries and
// histograms the name without _sum, _count or _bucket.
func familyOf(name string, fams map[string]*ParsedFamily) string {
	if _, ok := fams[name]; ok {
		return name
	}
	for _, suf := range []string{"_sum", "_count", "_bucket"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if f := fams[base]; f != nil && (f.Type == "summary" || f.Type == "histogram") {
				return base
			}
		}
	}
	return name
}

func seriesKey(s Sample) string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.Name)
	for _, k := range keys {
		b.WriteString("\x00" + k + "\x00" + s.Labels[k])
	}
	return b.String()
}

// parseSample parses `name{l="v",...} value [timestamp]`.
func parseSample(line string) (Sample, error) {
	s := Sample{}
	i := 0
	for i < len(line) && line[i] != '{' && line[i] != ' ' && line[i] != '\t' {
		i++
	}
	s.Name = line[:i]
	if !validName(s.Name) {
		return s, fmt.Errorf("invalid metric name %q", s.Name)
	}
	if i < len(line) && line[i] == '{' {
		s.Labels = map[string]string{}
		i++
		for {
			if i < len(line) && line[i] == '}' {
				i++
				break
			}
			j := i
			for j < len(line) && line[j] != '=' {
				j++
			}
			if j == len(line) {
				return s, fmt.Errorf("unterminated label set")
			}
			ln := line[i:j]
			if !validLabelName(ln) {
				return s, fmt.Errorf("invalid label name %q", ln)
			}
			if _, dup := s.Labels[ln]; dup {
				return s, fmt.Errorf("duplicate label %q", ln)
			}
			j++
			if j >= len(line) || line[j] != '"' {
				return s, fmt.Errorf("label value of %q not quoted", ln)
			}
			j++
			var v strings.Builder
			closed := false
			for j < len(line) {
				c := line[j]
				if c == '"' {
					closed = true
					j++
					break
				}
				if c == '\\' {
					if j+1 >= len(line) {
						return s, fmt.Errorf("dangling escape")
					}
					switch line[j+1] {
					case '\\':
						v.WriteByte('\\')
					case '"':
						v.WriteByte('"')
					case 'n':
						v.WriteByte('\n')
					default:
						return s, fmt.Errorf("invalid escape \\%c", line[j+1])
					}
					j += 2
					continue
				}
				v.WriteByte(c)
				j++
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value")
			}
			s.Labels[ln] = v.String()
			if j < len(line) && line[j] == ',' {
				j++
			} else if j >= len(line) || line[j] != '}' {
				return s, fmt.Errorf("expected ',' or '}' after label %q", ln)
			}
			i = j
		}
	}
	rest := line[i:]
	if rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
		return s, fmt.Errorf("no value")
	}
	f := strings.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return s, fmt.Errorf("expected a value and an optional timestamp")
	}
	v, err := parseValue(f[0])
	if err != nil {
		return s, err
	}
	s.Value = v
	if len(f) == 2 {
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return s, fmt.Errorf("invalid timestamp %q", f[1])
		}
	}
	return s, nil
}

func parseValue(t string) (float64, error) {
	switch t {
	case "NaN":
		return math.NaN(), nil
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	// ParseFloat would also take "inf", "infinity", hex floats and
	// underscores; the format does not.
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, fmt.Errorf("invalid value %q", t)
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid value %q", t)
	}
	return v, nil
}

func unescapeHelp(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("dangling escape in HELP")
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("invalid escape \\%c in HELP", s[i])
		}
	}
	return b.String(), nil
}
