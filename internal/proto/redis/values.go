package redis

// cloneValue deep-copies a collection value (COPY) and returns it with its
// accounted size.
func cloneValue(v any) (any, int64) {
	type cloner interface {
		Clone() any
		MemSize() int64
	}
	if cl, ok := v.(cloner); ok {
		nv := cl.Clone()
		return nv, nv.(cloner).MemSize()
	}
	panic("redis: value type cannot be copied")
}
