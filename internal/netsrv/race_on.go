//go:build race

package netsrv

// raceEnabled: under the race detector loops use the syscall package's
// read and write, whose annotations make socket I/O a synchronisation
// point (as it is for net.Conn), so tests that hand state over through a
// socket are not reported.
const raceEnabled = true
