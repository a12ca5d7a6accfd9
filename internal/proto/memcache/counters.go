package memcache

import "sync/atomic"

// counter indexes the front end's request counters, named after the stats
// fields memcached prints.
type counter int

const (
	cmdGet counter = iota
	cmdSet
	cmdFlush
	cmdTouch
	cmdMeta
	getHits
	getMisses
	getExpired
	getFlushed
	deleteMisses
	deleteHits
	incrMisses
	incrHits
	decrMisses
	decrHits
	casMisses
	casHits
	casBadval
	touchHits
	touchMisses
	storeTooLarge
	storeNoMemory
	authCmds
	authErrors
	bytesRead
	bytesWritten
	totalItems
	numCounters
)

// localCounts is one connection's counts since its last fold: plain adds on
// the hot path, merged into the shared atomics once per batch of requests.
type localCounts [numCounters]uint64

// sharedCounts are the server-wide totals.
type sharedCounts [numCounters]atomic.Uint64

func (s *sharedCounts) fold(l *localCounts) {
	for i := range l {
		if l[i] != 0 {
			s[i].Add(l[i])
			l[i] = 0
		}
	}
}

func (s *sharedCounts) get(c counter) uint64 { return s[c].Load() }

func (s *sharedCounts) reset() {
	for i := range s {
		s[i].Store(0)
	}
}
