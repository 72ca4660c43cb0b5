package shard

// MatchGlob reports whether s matches the glob pattern, exactly as Redis's stringmatchlen: `*` (any
// run), `?` (one byte), `[abc]`, `[a-z]`, `[^x]` (negated class), and `\` escaping the next byte.
// Matching is byte-wise; nocase folds ASCII letters. Bytes ≥ 0x80 compare as C's signed char in ranges,
// as Redis does.
func MatchGlob(pattern, s []byte, nocase bool) bool {
	skip := false
	return globMatch(pattern, s, nocase, &skip)
}

// at returns b[i], or 0 past the end (C strings are NUL-terminated; Redis reads that terminator).
func at(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

func lower(c int) int {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func globMatch(pat, str []byte, nocase bool, skipLonger *bool) bool {
	p, s := 0, 0
	for p < len(pat) && s < len(str) {
		switch pat[p] {
		case '*':
			for p < len(pat) && at(pat, p+1) == '*' {
				p++
			}
			if len(pat)-p == 1 {
				return true
			}
			for s < len(str) {
				if globMatch(pat[p+1:], str[s:], nocase, skipLonger) {
					return true
				}
				if *skipLonger {
					return false
				}
				s++
			}
			*skipLonger = true
			return false
		case '?':
			s++
		case '[':
			p++
			not := at(pat, p) == '^'
			if not {
				p++
			}
			match := false
			for {
				rem := len(pat) - p
				if at(pat, p) == '\\' && rem >= 2 {
					p++
					if pat[p] == str[s] {
						match = true
					}
				} else if at(pat, p) == ']' {
					break
				} else if rem <= 0 {
					p--
					break
				} else if rem >= 3 && pat[p+1] == '-' {
					start, end, c := int(int8(pat[p])), int(int8(pat[p+2])), int(int8(str[s]))
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = lower(start), lower(end), lower(c)
					}
					p += 2
					if c >= start && c <= end {
						match = true
					}
				} else if !nocase {
					if pat[p] == str[s] {
						match = true
					}
				} else if lower(int(pat[p])) == lower(int(str[s])) {
					match = true
				}
				p++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s++
		case '\\':
			if len(pat)-p >= 2 {
				p++
			}
			fallthrough
		default:
			if !nocase {
				if pat[p] != str[s] {
					return false
				}
			} else if lower(int(pat[p])) != lower(int(str[s])) {
				return false
			}
			s++
		}
		p++
		if s == len(str) {
			for p < len(pat) && pat[p] == '*' {
				p++
			}
			break
		}
	}
	return p >= len(pat) && s == len(str)
}
