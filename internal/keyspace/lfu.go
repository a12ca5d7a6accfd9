package keyspace

import "math/rand/v2"

// Redis's LFU: an 8-bit logarithmic access counter that new keys start at
// 5, grows with probability 1/((counter-5)*lfu-log-factor+1) per access,
// and decays by one per lfu-decay-time minutes without access.

const lfuInitVal = 5

// SetLFUParams sets lfu-log-factor and lfu-decay-time (minutes).
func (ks *Keyspace) SetLFUParams(logFactor, decayMinutes int) {
	ks.lfuLogFactor.Store(int32(logFactor))
	ks.lfuDecayTime.Store(int32(decayMinutes))
}

// LFUParams returns lfu-log-factor and lfu-decay-time.
func (ks *Keyspace) LFUParams() (logFactor, decayMinutes int) {
	return int(ks.lfuLogFactor.Load()), int(ks.lfuDecayTime.Load())
}

// lfuDecayed is e's counter after decay for the time since its last access.
func (ks *Keyspace) lfuDecayed(e *Entry, mono int64) uint8 {
	decay := int64(ks.lfuDecayTime.Load())
	if decay <= 0 {
		return e.lfu
	}
	periods := (mono - e.atime) / (60e9 * decay)
	if periods >= int64(e.lfu) {
		return 0
	}
	return e.lfu - uint8(periods)
}

func (ks *Keyspace) lfuIncr(counter uint8) uint8 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	if rand.Float64() < 1/(base*float64(ks.lfuLogFactor.Load())+1) {
		counter++
	}
	return counter
}

// Freq returns e's decayed LFU counter (OBJECT FREQ).
func (t *Txn) Freq(e *Entry) int { return int(t.ks.lfuDecayed(e, t.mono)) }
