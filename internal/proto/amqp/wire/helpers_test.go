package wire

import (
	"time"
	"unsafe"
)

func unsafeStringData(s string) *byte { return unsafe.StringData(s) }

// allTypesTable has a value of every field type RabbitMQ knows.
func allTypesTable() Table {
	return Table{
		"bool":    true,
		"false":   false,
		"int8":    int8(-8),
		"uint8":   uint8(200),
		"int16":   int16(-16000),
		"uint16":  uint16(60000),
		"int32":   int32(-2000000000),
		"uint32":  uint32(4000000000),
		"int64":   int64(-9000000000000000000),
		"float32": float32(1.5),
		"float64": float64(-2.25),
		"decimal": Decimal{Scale: 2, Value: -12345},
		"string":  "hello, wörld",
		"empty":   "",
		"bytes":   []byte{0, 1, 2, 0xff},
		"array":   []any{int32(1), "two", nil, []any{}, Table{"in": true}},
		"time":    time.Unix(1700000000, 0).UTC(),
		"table":   Table{"x": int64(1), "nested": Table{"deep": "yes"}},
		"void":    nil,
	}
}
