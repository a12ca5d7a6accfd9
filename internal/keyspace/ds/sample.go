package ds

import "math/rand/v2"

// sampleDistinct calls fn for min(k, n) distinct indices in [0, n) chosen
// uniformly at random (every k-subset equally likely), for the positive
// count forms of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER.
func sampleDistinct(n, k int, fn func(i int)) {
	if k <= 0 || n <= 0 {
		return
	}
	if k >= n {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	if k*3 > n {
		// Dense pick, as Redis's "count close to size" case: a partial
		// Fisher-Yates shuffle of all indices.
		perm := make([]int32, n)
		for i := range perm {
			perm[i] = int32(i)
		}
		for i := 0; i < k; i++ {
			j := i + rand.IntN(n-i)
			perm[i], perm[j] = perm[j], perm[i]
			fn(int(perm[i]))
		}
		return
	}
	// Sparse pick: Floyd's algorithm, O(k) time and space.
	seen := make(map[int]struct{}, k)
	for j := n - k; j < n; j++ {
		t := rand.IntN(j + 1)
		if _, dup := seen[t]; dup {
			t = j
		}
		seen[t] = struct{}{}
		fn(t)
	}
}

// randomCount implements the count argument shared by SRANDMEMBER,
// HRANDFIELD and ZRANDMEMBER over n elements: a positive count picks
// min(count, n) distinct elements, a negative count picks |count| elements
// that may repeat, zero picks none.
func randomCount(n, count int, fn func(i int)) {
	if n == 0 || count == 0 {
		return
	}
	if count > 0 {
		sampleDistinct(n, count, fn)
		return
	}
	for ; count < 0; count++ {
		fn(rand.IntN(n))
	}
}
