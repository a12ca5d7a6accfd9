//go:build !race

package keyspace

// raceEnabled is false: see race_on.go.
const raceEnabled = false
