package protocol

// argSpan locates one argument in the Reader's buffer, relative to the start of the current command.
type argSpan struct{ start, end int }

// splitInline splits one inline request line exactly as Redis's sdssplitargs (sds.c) does, decoding
// in place: arguments are written back into line (an argument is never longer than its source text,
// so the write position never passes the read position). It appends one span per argument, offset by
// base, and reports false on unbalanced quotes.
//
// Rules (sdssplitargs): blanks (C isspace: space \t \n \v \f \r) separate arguments; an unquoted
// argument ends at space, \n, \r, \t or the end (not at \v or \f); a '"' or '\” anywhere opens a
// quoted part that continues the current argument. Inside "double quotes": \xHH (two hex digits),
// \n \r \t \b \a, and \<any> for <any>. Inside 'single quotes' only \' is an escape. A closing quote
// must be followed by a blank or the end of the line, else the request is unbalanced. The line never
// holds a NUL byte (the Reader's line search stops at NUL, as strchr does), so the end of the slice
// plays the role of C's terminating NUL.
func splitInline(line []byte, spans []argSpan, base int) ([]argSpan, bool) {
	n := len(line)
	at := func(i int) byte {
		if i < n {
			return line[i]
		}
		return 0
	}
	p, w := 0, 0
	for {
		for p < n && isCSpace(line[p]) {
			p++
		}
		if p >= n {
			return spans, true
		}
		start := w
		inq, insq := false, false
		for done := false; !done; {
			c := at(p)
			switch {
			case inq:
				switch {
				case c == '\\' && at(p+1) == 'x' && isHexDigit(at(p+2)) && isHexDigit(at(p+3)):
					line[w] = hexValue(at(p+2))<<4 | hexValue(at(p+3))
					w++
					p += 3
				case c == '\\' && at(p+1) != 0:
					p++
					line[w] = unescape(line[p])
					w++
				case c == '"':
					if next := at(p + 1); next != 0 && !isCSpace(next) {
						return spans, false
					}
					done = true
				case c == 0:
					return spans, false
				default:
					line[w] = c
					w++
				}
			case insq:
				switch {
				case c == '\\' && at(p+1) == '\'':
					p++
					line[w] = '\''
					w++
				case c == '\'':
					if next := at(p + 1); next != 0 && !isCSpace(next) {
						return spans, false
					}
					done = true
				case c == 0:
					return spans, false
				default:
					line[w] = c
					w++
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					line[w] = c
					w++
				}
			}
			if p < n {
				p++
			}
		}
		spans = append(spans, argSpan{base + start, base + w})
	}
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexValue(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// unescape maps the character after a backslash inside double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}
