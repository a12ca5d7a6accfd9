package script

import "unsafe"

// unsafeBytes views a string's bytes without copying; the caller must not
// modify them.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
