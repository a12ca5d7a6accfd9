//go:build !race

package netsrv

// raceEnabled is false: see race_on.go.
const raceEnabled = false
