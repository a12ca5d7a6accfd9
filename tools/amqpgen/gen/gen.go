// Package gen turns the machine-readable AMQP 0-9-1 specification
// (rabbitmq-codegen's JSON, with RabbitMQ's extensions) into the Go source
// of internal/proto/amqp/wire/spec_gen.go: constants, method structs with
// their decoders and encoders, method metadata and the content properties.
// It is a library so that the wire package's test can regenerate the file in
// memory and compare; tools/amqpgen is the command around it. Standard
// library only.
package gen

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"go/format"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

//go:embed spec.go.tmpl
var tmplText string

// Spec is the JSON document as rabbitmq-codegen publishes it.
type Spec struct {
	Name      string      `json:"name"`
	Major     int         `json:"major-version"`
	Minor     int         `json:"minor-version"`
	Revision  int         `json:"revision"`
	Port      int         `json:"port"`
	Domains   [][2]string `json:"domains"`
	Constants []struct {
		Name  string `json:"name"`
		Value int    `json:"value"`
		Class string `json:"class"`
	} `json:"constants"`
	Classes []struct {
		ID         int         `json:"id"`
		Name       string      `json:"name"`
		Methods    []specMethd `json:"methods"`
		Properties []specField `json:"properties"`
	} `json:"classes"`
}

type specMethd struct {
	ID          int         `json:"id"`
	Name        string      `json:"name"`
	Synchronous bool        `json:"synchronous"`
	Content     bool        `json:"content"`
	Arguments   []specField `json:"arguments"`
}

type specField struct {
	Name    string          `json:"name"`
	Type    string          `json:"type"`
	Domain  string          `json:"domain"`
	Default json.RawMessage `json:"default-value"`
}

// Generate returns the formatted Go source generated from the spec JSON;
// specPath only names the source in the header comment (its base name).
func Generate(specJSON []byte, specPath string) ([]byte, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(specJSON))
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("amqpgen: parse spec: %w", err)
	}
	m, err := build(&s)
	if err != nil {
		return nil, err
	}
	m.Source = filepath.Base(specPath)
	t, err := template.New("spec").Funcs(template.FuncMap{
		"join": strings.Join,
	}).Parse(tmplText)
	if err != nil {
		return nil, fmt.Errorf("amqpgen: template: %w", err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, m); err != nil {
		return nil, fmt.Errorf("amqpgen: template: %w", err)
	}
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("amqpgen: generated code does not parse: %w\n%s", err, out.Bytes())
	}
	return src, nil
}

// model is what the template prints.
type model struct {
	Source                   string
	Major, Minor, Revision   int
	Port                     int
	FrameConsts, ReplyConsts []constant
	Classes                  []class
	Methods                  []*method
	Props                    []*props
	NeedTime                 bool
	HardCodes                []string // Go names of the hard-error reply codes
}

type constant struct {
	GoName   string
	Value    int
	WireName string // NOT_FOUND
	Hard     bool
	Soft     bool
}

type class struct {
	GoName string
	Name   string
	ID     int
}

type method struct {
	Struct, Key, Name, Set string
	ClassID, MethodID      int
	Sync, Content, NoWait  bool
	Responses              []string // key constants
	ResponseNames          []string // "basic.get-ok"
	Fields                 []field
	Decode, Encode, Check  []string
}

type field struct {
	GoName, GoType, Doc string
}

type props struct {
	Class      string // Basic
	Name       string // basic
	ClassConst string
	Fields     []propField
	LowMask    string // flag bits below the last property (ignored on decode)
}

type propField struct {
	GoName, Flag, Name, Type     string
	GoType, ViewType             string
	Bit                          int
	Decode, ViewDecode, Encode   string
	NonZero, ViewReset, Validate string
}

// reserved lists the fields 0-9-1 renamed reserved-N: the JSON keeps their
// 0-8 names. They are still on the wire and decoded, but carry nothing.
var reserved = map[string]bool{
	"ticket": true, "capabilities": true, "insist": true, "known-hosts": true,
	"out-of-band": true, "channel-id": true, "cluster-id": true,
}

// extraResponses adds what the JSON cannot say: the spec's XML gives
// basic.get two responses, get-ok and get-empty; every other synchronous
// method is answered by the method of its name with "-ok" appended.
var extraResponses = map[string][]string{"basic.get": {"get-empty"}}

func build(s *Spec) (*model, error) {
	m := &model{Major: s.Major, Minor: s.Minor, Revision: s.Revision, Port: s.Port}
	domains := map[string]string{}
	for _, d := range s.Domains {
		domains[d[0]] = d[1]
	}
	for _, c := range s.Constants {
		k := constant{GoName: goName(strings.ToLower(c.Name)), Value: c.Value,
			WireName: strings.ReplaceAll(c.Name, "-", "_"),
			Hard:     c.Class == "hard-error", Soft: c.Class == "soft-error"}
		if strings.HasPrefix(c.Name, "FRAME-") && c.Class == "" {
			m.FrameConsts = append(m.FrameConsts, k)
		} else {
			if c.Value < 0 || c.Value > 0xffff {
				return nil, fmt.Errorf("amqpgen: reply code %s = %d does not fit a short", c.Name, c.Value)
			}
			m.ReplyConsts = append(m.ReplyConsts, k)
			if k.Hard {
				m.HardCodes = append(m.HardCodes, k.GoName)
			}
		}
	}
	resolve := func(f specField, where string) (string, error) {
		t := f.Type
		if t == "" {
			d, ok := domains[f.Domain]
			if !ok {
				return "", fmt.Errorf("amqpgen: %s: unknown domain %q", where, f.Domain)
			}
			t = d
		}
		if _, ok := goTypes[t]; !ok {
			return "", fmt.Errorf("amqpgen: %s: unsupported type %q", where, t)
		}
		return t, nil
	}
	classIDs := map[int]bool{}
	for _, c := range s.Classes {
		if classIDs[c.ID] {
			return nil, fmt.Errorf("amqpgen: class id %d twice", c.ID)
		}
		classIDs[c.ID] = true
		cg := goName(c.Name)
		m.Classes = append(m.Classes, class{GoName: cg, Name: c.Name, ID: c.ID})
		byName := map[string]specMethd{}
		methodIDs := map[int]bool{}
		for _, sm := range c.Methods {
			if methodIDs[sm.ID] {
				return nil, fmt.Errorf("amqpgen: %s: method id %d twice", c.Name, sm.ID)
			}
			methodIDs[sm.ID] = true
			byName[sm.Name] = sm
		}
		for _, sm := range c.Methods {
			name := c.Name + "." + sm.Name
			mt := &method{Struct: cg + goName(sm.Name), Name: name, ClassID: c.ID, MethodID: sm.ID,
				Sync: sm.Synchronous, Content: sm.Content}
			mt.Key = "Key" + mt.Struct
			mt.Set = strings.ToLower(mt.Struct[:1]) + mt.Struct[1:]
			if mt.Sync {
				resp := append([]string{sm.Name + "-ok"}, extraResponses[name]...)
				for _, r := range resp {
					if _, ok := byName[r]; !ok {
						return nil, fmt.Errorf("amqpgen: synchronous %s has no response %s.%s", name, c.Name, r)
					}
					mt.Responses = append(mt.Responses, "Key"+cg+goName(r))
					mt.ResponseNames = append(mt.ResponseNames, c.Name+"."+r)
				}
			}
			if err := mt.fields(sm.Arguments, resolve); err != nil {
				return nil, err
			}
			m.Methods = append(m.Methods, mt)
		}
		if len(c.Properties) > 0 {
			p, err := buildProps(c.Name, cg, c.Properties, resolve)
			if err != nil {
				return nil, err
			}
			for _, f := range p.Fields {
				if f.Type == "timestamp" {
					m.NeedTime = true
				}
			}
			m.Props = append(m.Props, p)
		}
	}
	sort.SliceStable(m.Classes, func(i, j int) bool { return m.Classes[i].ID < m.Classes[j].ID })
	sort.SliceStable(m.Methods, func(i, j int) bool {
		a, b := m.Methods[i], m.Methods[j]
		if a.ClassID != b.ClassID {
			return a.ClassID < b.ClassID
		}
		return a.MethodID < b.MethodID
	})
	return m, nil
}

// goTypes maps AMQP argument types to Go field types.
var goTypes = map[string]string{
	"bit": "bool", "octet": "uint8", "short": "uint16", "long": "uint32", "longlong": "uint64",
	"shortstr": "string", "longstr": "string", "table": "Table", "timestamp": "uint64",
}

func (mt *method) fields(args []specField, resolve func(specField, string) (string, error)) error {
	seen := map[string]bool{}
	bitIndex := -1 // position in the current bit octet; -1: none open
	closeBits := func() {
		if bitIndex >= 0 {
			mt.Encode = append(mt.Encode, "dst = append(dst, bits)")
			bitIndex = -1
		}
	}
	for _, a := range args {
		where := mt.Name + " " + a.Name
		t, err := resolve(a, where)
		if err != nil {
			return err
		}
		gn := goName(a.Name)
		if seen[gn] {
			return fmt.Errorf("amqpgen: %s: field name %s twice", mt.Name, gn)
		}
		seen[gn] = true
		if a.Name == "nowait" && t == "bit" {
			mt.NoWait = true
		}
		doc := a.Name + ": " + t
		if d := defaultDoc(a.Default); d != "" {
			doc += ", default " + d
		}
		if reserved[a.Name] {
			doc += " (reserved in 0-9-1: carries nothing)"
		}
		mt.Fields = append(mt.Fields, field{GoName: gn, GoType: goTypes[t], Doc: doc})
		f := "m." + gn
		if t != "bit" {
			closeBits()
		}
		switch t {
		case "bit":
			if bitIndex < 0 || bitIndex == 8 {
				closeBits()
				bitIndex = 0
				mt.Decode = append(mt.Decode, "bits = r.octet()")
				mt.Encode = append(mt.Encode, "bits = 0")
			}
			mt.Decode = append(mt.Decode, fmt.Sprintf("%s = bits&(1<<%d) != 0", f, bitIndex))
			mt.Encode = append(mt.Encode, fmt.Sprintf("if %s {\nbits |= 1 << %d\n}", f, bitIndex))
			bitIndex++
		case "octet":
			mt.Decode = append(mt.Decode, f+" = r.octet()")
			mt.Encode = append(mt.Encode, "dst = append(dst, "+f+")")
		case "short":
			mt.Decode = append(mt.Decode, f+" = r.short()")
			mt.Encode = append(mt.Encode, "dst = binary.BigEndian.AppendUint16(dst, "+f+")")
		case "long":
			mt.Decode = append(mt.Decode, f+" = r.long()")
			mt.Encode = append(mt.Encode, "dst = binary.BigEndian.AppendUint32(dst, "+f+")")
		case "longlong", "timestamp":
			mt.Decode = append(mt.Decode, f+" = r.longlong()")
			mt.Encode = append(mt.Encode, "dst = binary.BigEndian.AppendUint64(dst, "+f+")")
		case "shortstr":
			// RabbitMQ checks shortstrs for UTF-8 except in content-bearing
			// methods, which it keeps fast.
			mt.Decode = append(mt.Decode, fmt.Sprintf("%s = r.shortstr(st, %v)", f, !mt.Content))
			mt.Encode = append(mt.Encode, "dst = appendShortstr(dst, "+f+")")
			mt.Check = append(mt.Check, fmt.Sprintf("checkShortstr(%q, %s)", where, f))
		case "longstr":
			mt.Decode = append(mt.Decode, f+" = r.longstr()")
			mt.Encode = append(mt.Encode, "dst = appendLongstr(dst, "+f+")")
			mt.Check = append(mt.Check, fmt.Sprintf("checkLongstr(%q, %s)", where, f))
		case "table":
			mt.Decode = append(mt.Decode, f+" = r.table()")
			mt.Encode = append(mt.Encode, "dst = appendTableField(dst, "+f+")")
			mt.Check = append(mt.Check, fmt.Sprintf("checkTable(%q, %s)", where, f))
		}
	}
	closeBits()
	return nil
}

// HasBits reports whether the method has bit fields (the template declares
// the bits variable only then).
func (mt *method) HasBits() bool {
	for _, f := range mt.Fields {
		if f.GoType == "bool" {
			return true
		}
	}
	return false
}

func buildProps(name, cg string, fields []specField, resolve func(specField, string) (string, error)) (*props, error) {
	if len(fields) > 15 {
		// Properties beyond 15 need continuation flag words; no class of
		// 0-9-1 has them, so neither does the generator.
		return nil, fmt.Errorf("amqpgen: %s has %d properties; more than 15 are not supported", name, len(fields))
	}
	p := &props{Class: cg, Name: name, ClassConst: "Class" + cg}
	p.LowMask = fmt.Sprintf("1<<%d - 1", 16-len(fields))
	for i, f := range fields {
		t, err := resolve(f, name+" property "+f.Name)
		if err != nil {
			return nil, err
		}
		gn := goName(f.Name)
		pf := propField{GoName: gn, Name: f.Name, Type: t, Bit: 15 - i, Flag: cg + "Flag" + gn}
		fv := "p." + gn
		where := name + " property " + f.Name
		switch t {
		case "shortstr":
			pf.GoType, pf.ViewType = "string", "[]byte"
			pf.Decode, pf.ViewDecode = "r.shortstr(nil, false)", "r.shortstrBytes()"
			pf.Encode = "dst = appendShortstr(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+` != ""`, "nil"
			pf.Validate = fmt.Sprintf("checkShortstr(%q, %s)", where, fv)
		case "longstr":
			pf.GoType, pf.ViewType = "string", "[]byte"
			pf.Decode, pf.ViewDecode = "r.longstr()", "r.longstrBytes()"
			pf.Encode = "dst = appendLongstr(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+` != ""`, "nil"
			pf.Validate = fmt.Sprintf("checkLongstr(%q, %s)", where, fv)
		case "table":
			pf.GoType, pf.ViewType = "Table", "[]byte"
			pf.Decode, pf.ViewDecode = "r.table()", "r.tableBytes()"
			pf.Encode = "dst = appendTableField(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+" != nil", "nil"
			pf.Validate = fmt.Sprintf("checkTable(%q, %s)", where, fv)
		case "octet":
			pf.GoType, pf.ViewType = "uint8", "uint8"
			pf.Decode, pf.ViewDecode = "r.octet()", "r.octet()"
			pf.Encode = "dst = append(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+" != 0", "0"
		case "short":
			pf.GoType, pf.ViewType = "uint16", "uint16"
			pf.Decode, pf.ViewDecode = "r.short()", "r.short()"
			pf.Encode = "dst = binary.BigEndian.AppendUint16(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+" != 0", "0"
		case "long":
			pf.GoType, pf.ViewType = "uint32", "uint32"
			pf.Decode, pf.ViewDecode = "r.long()", "r.long()"
			pf.Encode = "dst = binary.BigEndian.AppendUint32(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+" != 0", "0"
		case "longlong":
			pf.GoType, pf.ViewType = "uint64", "uint64"
			pf.Decode, pf.ViewDecode = "r.longlong()", "r.longlong()"
			pf.Encode = "dst = binary.BigEndian.AppendUint64(dst, " + fv + ")"
			pf.NonZero, pf.ViewReset = fv+" != 0", "0"
		case "timestamp":
			pf.GoType, pf.ViewType = "time.Time", "uint64"
			pf.Decode, pf.ViewDecode = "time.Unix(int64(r.longlong()), 0).UTC()", "r.longlong()"
			pf.Encode = "dst = binary.BigEndian.AppendUint64(dst, uint64(" + fv + ".Unix()))"
			pf.NonZero, pf.ViewReset = "!"+fv+".IsZero()", "0"
		default:
			return nil, fmt.Errorf("amqpgen: %s: property type %q not supported", where, t)
		}
		p.Fields = append(p.Fields, pf)
	}
	return p, nil
}

// goName turns "routing-key" into RoutingKey, with Go's initialisms.
func goName(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' || r == ' ' }) {
		switch part {
		case "id":
			b.WriteString("ID")
		case "nowait":
			b.WriteString("NoWait")
		default:
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// defaultDoc renders a non-zero default value for a field's comment.
func defaultDoc(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return ""
	}
	switch v := v.(type) {
	case bool:
		if v {
			return "true"
		}
	case float64:
		if v != 0 {
			return fmt.Sprint(v)
		}
	case string:
		if v != "" {
			return fmt.Sprintf("%q", v)
		}
	}
	return ""
}
