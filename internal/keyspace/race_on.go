//go:build race

package keyspace

// raceEnabled turns Prefetch off under the race detector (see Prefetch).
const raceEnabled = true
