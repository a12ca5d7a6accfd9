// Package topic matches AMQP topic routing keys against binding patterns with
// a trie, as RabbitMQ's topic exchange does (rabbit_exchange_type_topic):
// words are separated by '.', a '*' word matches exactly one word and a '#'
// word matches zero or more words.
//
// Keys are split the way RabbitMQ splits them: the empty key has no words,
// and "a." has the two words "a" and "". Consecutive '#' words are folded into
// one when a pattern is added ("#.#" matches exactly what "#" matches), which
// keeps matching from exploding on pathological patterns; a matcher never
// explores the same (node, position) after a second '#' twice, so one match
// costs at most O(nodes × words) even for patterns like "#.*.#.*.#".
//
// A Trie is not safe for concurrent mutation; concurrent Match calls with no
// writer are safe (the broker guards each exchange with its vhost's RWMutex).
//
// It imports only the standard library.
package topic

// maxStackWords is how many words a key may have before Match allocates to
// split it; AMQP routing keys are at most 255 bytes, so most fit easily.
const maxStackWords = 32

// Trie holds (pattern, destination) pairs. The zero value is an empty trie.
// D is the destination type (the broker uses a small comparable struct).
type Trie[D comparable] struct {
	root node[D]
	n    int
}

type node[D comparable] struct {
	words map[string]*node[D]
	star  *node[D]
	hash  *node[D]
	dests []D
	// hashes is the number of '#' words on the path from the root to this
	// node, including this node's own. Only nodes with hashes >= 2 can be
	// reached at the same key position along two different paths, so only
	// they need the matcher's visited set.
	hashes int
}

// Len returns the number of (pattern, destination) pairs in the trie.
func (t *Trie[D]) Len() int { return t.n }

// Add inserts d under pattern and reports whether it was not already there.
func (t *Trie[D]) Add(pattern string, d D) bool {
	n := &t.root
	prevHash := false
	forEachWord(pattern, func(w string) {
		if w == "#" {
			if prevHash {
				return // "#.#" ≡ "#"
			}
			prevHash = true
			if n.hash == nil {
				n.hash = &node[D]{hashes: n.hashes + 1}
			}
			n = n.hash
			return
		}
		prevHash = false
		if w == "*" {
			if n.star == nil {
				n.star = &node[D]{hashes: n.hashes}
			}
			n = n.star
			return
		}
		c := n.words[w]
		if c == nil {
			if n.words == nil {
				n.words = make(map[string]*node[D])
			}
			c = &node[D]{hashes: n.hashes}
			n.words[w] = c
		}
		n = c
	})
	for _, x := range n.dests {
		if x == d {
			return false
		}
	}
	n.dests = append(n.dests, d)
	t.n++
	return true
}

// Remove deletes d from under pattern and reports whether it was there.
// Nodes left empty are pruned so a trie that churns bindings does not grow.
func (t *Trie[D]) Remove(pattern string, d D) bool {
	// Walk down recording the path so empty nodes can be pruned upwards.
	type step struct {
		parent *node[D]
		kind   byte // 'w', '*', '#'
		word   string
	}
	var pathBuf [maxStackWords]step
	path := pathBuf[:0]
	n := &t.root
	prevHash := false
	ok := true
	forEachWord(pattern, func(w string) {
		if !ok {
			return
		}
		switch {
		case w == "#":
			if prevHash {
				return
			}
			prevHash = true
			path = append(path, step{n, '#', ""})
			n = n.hash
		case w == "*":
			prevHash = false
			path = append(path, step{n, '*', ""})
			n = n.star
		default:
			prevHash = false
			path = append(path, step{n, 'w', w})
			n = n.words[w]
		}
		if n == nil {
			ok = false
		}
	})
	if !ok {
		return false
	}
	found := -1
	for i, x := range n.dests {
		if x == d {
			found = i
			break
		}
	}
	if found < 0 {
		return false
	}
	last := len(n.dests) - 1
	n.dests[found] = n.dests[last]
	var zero D
	n.dests[last] = zero
	n.dests = n.dests[:last]
	if len(n.dests) == 0 {
		n.dests = nil
	}
	t.n--
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		s := path[i]
		switch s.kind {
		case '#':
			s.parent.hash = nil
		case '*':
			s.parent.star = nil
		default:
			delete(s.parent.words, s.word)
			if len(s.parent.words) == 0 {
				s.parent.words = nil
			}
		}
		n = s.parent
	}
	return true
}

func (n *node[D]) empty() bool {
	return len(n.dests) == 0 && len(n.words) == 0 && n.star == nil && n.hash == nil
}

// Match appends to dst every destination whose pattern matches key and
// returns the extended slice. A destination bound with several matching
// patterns (or matching one pattern in several ways) may appear more than
// once; callers that need a set deduplicate. Match does not allocate when
// key has at most 32 words and no visited set is needed.
func (t *Trie[D]) Match(dst []D, key string) []D {
	var buf [maxStackWords]string
	words := splitKey(buf[:0], key)
	m := matcher[D]{words: words}
	return m.match(&t.root, 0, dst)
}

type visit[D comparable] struct {
	n *node[D]
	i int
}

type matcher[D comparable] struct {
	words []string
	seen  map[visit[D]]struct{}
}

func (m *matcher[D]) match(n *node[D], i int, dst []D) []D {
	if h := n.hash; h != nil {
		// '#' swallows words[i:j] for every j from i to the end.
		for j := i; j <= len(m.words); j++ {
			if h.hashes >= 2 {
				k := visit[D]{h, j}
				if _, dup := m.seen[k]; dup {
					continue
				}
				if m.seen == nil {
					m.seen = make(map[visit[D]]struct{})
				}
				m.seen[k] = struct{}{}
			}
			dst = m.matchHere(h, j, dst)
		}
	}
	return m.matchHere(n, i, dst)
}

// matchHere matches words[i:] against n's literal and '*' children, or emits
// n's destinations at the end of the key. n's own '#' child is handled by
// match, so matchHere on a '#' node does not recurse into a second '#'
// (there is none: consecutive '#' words are folded on insert).
func (m *matcher[D]) matchHere(n *node[D], i int, dst []D) []D {
	if i == len(m.words) {
		return append(dst, n.dests...)
	}
	if c := n.words[m.words[i]]; c != nil {
		dst = m.match(c, i+1, dst)
	}
	if c := n.star; c != nil {
		dst = m.match(c, i+1, dst)
	}
	return dst
}

// splitKey splits a routing key into words as rabbit_exchange_type_topic's
// split_topic_key does: "" has no words, "a." is ["a", ""].
func splitKey(dst []string, key string) []string {
	if key == "" {
		return dst
	}
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '.' {
			dst = append(dst, key[start:i])
			start = i + 1
		}
	}
	return append(dst, key[start:])
}

func forEachWord(pattern string, f func(string)) {
	if pattern == "" {
		return
	}
	start := 0
	for i := 0; i < len(pattern); i++ {
		if pattern[i] == '.' {
			f(pattern[start:i])
			start = i + 1
		}
	}
	f(pattern[start:])
}

// Matches reports whether a single pattern matches key, with the same rules
// as a Trie. It exists for tests and for callers with one pattern in hand.
func Matches(pattern, key string) bool {
	var t Trie[struct{}]
	t.Add(pattern, struct{}{})
	var buf [1]struct{}
	return len(t.Match(buf[:0], key)) > 0
}
