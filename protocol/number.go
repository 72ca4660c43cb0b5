package protocol

// parseInt is Redis's string2ll (util.c) over a byte slice: an optional '-', then digits with no
// leading zero (except "0" itself), no sign '+', no spaces, at most 20 bytes, and no overflow of
// int64. It reports false for anything else. It never allocates.
func parseInt(s []byte) (int64, bool) {
	const longStrSize = 21
	if len(s) == 0 || len(s) >= longStrSize {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
		if len(s) == 0 {
			return 0, false
		}
	}
	if s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > ^uint64(0)/10 {
			return 0, false
		}
		v *= 10
		d := uint64(c - '0')
		if v > ^uint64(0)-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true // -(1<<63) wraps to MinInt64, as intended
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}
