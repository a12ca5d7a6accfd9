package broker

// deque is a growable ring buffer. Queues keep their ready messages in one
// (sorted by sequence number, so a requeued message goes back to its
// original position) and channels keep unacked deliveries in one (sorted by
// delivery tag). It is not safe for concurrent use.
type deque[T any] struct {
	buf  []T // len(buf) is a power of two or zero
	head int
	n    int
}

func (d *deque[T]) len() int { return d.n }

func (d *deque[T]) mask() int { return len(d.buf) - 1 }

// at returns a pointer to the i-th element from the front.
func (d *deque[T]) at(i int) *T { return &d.buf[(d.head+i)&d.mask()] }

func (d *deque[T]) grow() {
	nb := make([]T, max(8, 2*len(d.buf)))
	for i := 0; i < d.n; i++ {
		nb[i] = *d.at(i)
	}
	d.buf, d.head = nb, 0
}

func (d *deque[T]) pushBack(v T) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.buf[(d.head+d.n)&d.mask()] = v
	d.n++
}

func (d *deque[T]) pushFront(v T) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.head = (d.head - 1) & d.mask()
	d.buf[d.head] = v
	d.n++
}

func (d *deque[T]) popFront() T {
	var zero T
	v := d.buf[d.head]
	d.buf[d.head] = zero
	d.head = (d.head + 1) & d.mask()
	d.n--
	d.maybeShrink()
	return v
}

func (d *deque[T]) popBack() T {
	var zero T
	i := (d.head + d.n - 1) & d.mask()
	v := d.buf[i]
	d.buf[i] = zero
	d.n--
	d.maybeShrink()
	return v
}

// maybeShrink gives memory back after a burst: a queue that once held a
// million messages should not pin a million-slot array forever.
func (d *deque[T]) maybeShrink() {
	if len(d.buf) > 1024 && d.n < len(d.buf)/8 {
		nb := make([]T, len(d.buf)/4)
		for i := 0; i < d.n; i++ {
			nb[i] = *d.at(i)
		}
		d.buf, d.head = nb, 0
	}
}

// insertAt inserts v before the i-th element (i == len appends), moving
// whichever side is shorter.
func (d *deque[T]) insertAt(i int, v T) {
	if i == d.n {
		d.pushBack(v)
		return
	}
	if i == 0 {
		d.pushFront(v)
		return
	}
	if d.n == len(d.buf) {
		d.grow()
	}
	if i < d.n/2 {
		d.head = (d.head - 1) & d.mask()
		for k := 0; k < i; k++ {
			*d.at(k) = *d.at(k + 1)
		}
	} else {
		for k := d.n; k > i; k-- {
			d.buf[(d.head+k)&d.mask()] = *d.at(k - 1)
		}
	}
	*d.at(i) = v
	d.n++
}

// clear empties the deque, keeping its buffer when small.
func (d *deque[T]) clear() {
	if len(d.buf) > 1024 {
		*d = deque[T]{}
		return
	}
	clear(d.buf)
	d.head, d.n = 0, 0
}

// search returns the smallest i in [0, len) for which less(i) is false
// (len when none), for a deque sorted so that less is true then false.
func (d *deque[T]) search(less func(*T) bool) int {
	lo, hi := 0, d.n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if less(d.at(m)) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
