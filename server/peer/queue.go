package peer

// frameQueue is a peer's bounded FIFO of payloads waiting to be written: a ring buffer that grows by
// doubling up to maxFrames. Invariants: 0 <= n <= maxFrames; bytes is the sum of the queued payloads'
// lengths and exceeds maxBytes only when a single frame larger than maxBytes sits in the queue alone.
// It is guarded by its peer's mutex.
type frameQueue struct {
	ring      [][]byte
	head, n   int
	bytes     int
	maxFrames int
	maxBytes  int
}

func newFrameQueue(maxFrames, maxBytes int) frameQueue {
	if maxFrames <= 0 || maxBytes <= 0 {
		panic("peer: frameQueue bounds must be positive")
	}
	return frameQueue{maxFrames: maxFrames, maxBytes: maxBytes}
}

// push appends p and reports whether it fit within the bounds.
func (q *frameQueue) push(p []byte) bool {
	if q.n >= q.maxFrames || (q.n > 0 && q.bytes+len(p) > q.maxBytes) {
		return false
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	q.ring[(q.head+q.n)%len(q.ring)] = p
	q.n++
	q.bytes += len(p)
	return true
}

func (q *frameQueue) grow() {
	size := min(max(2*len(q.ring), 16), q.maxFrames)
	ring := make([][]byte, size)
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = ring, 0
}

// popBatch moves frames from the head of the queue to dst while their cost (payload plus costPerFrame)
// stays within maxBytes; it always moves at least one frame if the queue is not empty.
func (q *frameQueue) popBatch(dst [][]byte, maxBytes, costPerFrame int) [][]byte {
	total := 0
	for q.n > 0 {
		p := q.ring[q.head]
		cost := len(p) + costPerFrame
		if total > 0 && total+cost > maxBytes {
			break
		}
		total += cost
		dst = append(dst, p)
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		q.bytes -= len(p)
	}
	if q.n == 0 {
		q.head = 0
	}
	return dst
}

// clear drops every queued frame and returns how many there were.
func (q *frameQueue) clear() int {
	n := q.n
	for i := range q.n {
		q.ring[(q.head+i)%len(q.ring)] = nil
	}
	q.head, q.n, q.bytes = 0, 0, 0
	return n
}

// len returns the number of queued frames.
func (q *frameQueue) len() int { return q.n }
