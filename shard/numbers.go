package shard

import (
	"math/big"
	"strconv"
)

// parseInt is Redis's string2ll: an optional '-', then "0" or a digit 1-9 followed by digits, fitting in
// int64, at most 20 bytes. No spaces, no '+', no leading zeros, no "-0".
func parseInt(b []byte) (int64, bool) {
	n := len(b)
	if n == 0 || n > 20 {
		return 0, false
	}
	if n == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i++
		if i == n {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		if v > 1<<64-1-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// parseCursor is C's strtoul as SCAN uses it: no leading space, optional sign, decimal digits, the whole
// string consumed, no overflow. An empty string is cursor 0 (as in Redis). A '-' negates modulo 2^64.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 || v*10 > 1<<64-1-uint64(c-'0') {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

/*
Long doubles. Redis computes INCRBYFLOAT and HINCRBYFLOAT in x87 80-bit long double: strtold, one
addition, then "%.17Lf" with trailing zeros (and a trailing point) removed. The emulation below uses
math/big.Float with a 64-bit mantissa, rounding to nearest even (the x87 default), and the long double
exponent range: a parsed value or a sum of magnitude ≥ 2^16384 is infinite (strtold's ERANGE/HUGE_VAL
is rejected on input; a sum that overflows is "would produce NaN or Infinity"), a parsed non-zero value
below the smallest subnormal (2^-16445) is an underflow (rejected, as Redis rejects ERANGE zero).
Subnormal precision loss is not modelled.
*/

const (
	ldPrec       = 64
	ldMaxExp     = 16384  // |x| < 2^16384 (big.Float's MantExp exponent ≤ 16384)
	ldMinExp     = -16444 // smallest subnormal 2^-16445 has MantExp exponent -16444
	maxLDChars   = 5 * 1024
	ldFormatDigs = 17
)

func newLD() *big.Float { return new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven) }

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f' }

func hexVal(c byte) int64 {
	if isDigit(c) {
		return int64(c - '0')
	}
	return int64(c|0x20-'a') + 10
}

func eqFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != s[i]|0x20 {
			return false
		}
	}
	return true
}

// parseLongDouble is Redis's string2ld (strtold with the whole string consumed, no leading space, no
// NaN, no overflow, no underflow to zero). The returned value may be infinite ("inf", "infinity").
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxLDChars {
		return nil, false
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	rest := b[i:]
	if eqFoldASCII(rest, "inf") || eqFoldASCII(rest, "infinity") {
		return newLD().SetInf(neg), true
	}
	if len(rest) > 2 && rest[0] == '0' && rest[1]|0x20 == 'x' && (isHexDigit(rest[2]) || rest[2] == '.' && len(rest) > 3 && isHexDigit(rest[3])) {
		return parseHexLD(rest[2:], neg)
	}
	// Decimal: digits [. digits] (at least one digit), then optionally e[sign]digits.
	j, digits := 0, 0
	for j < len(rest) && isDigit(rest[j]) {
		j++
		digits++
	}
	if j < len(rest) && rest[j] == '.' {
		j++
		for j < len(rest) && isDigit(rest[j]) {
			j++
			digits++
		}
	}
	if digits == 0 {
		return nil, false
	}
	mantEnd := j
	var exp int64
	if j < len(rest) && rest[j]|0x20 == 'e' {
		k := j + 1
		eneg := false
		if k < len(rest) && (rest[k] == '+' || rest[k] == '-') {
			eneg = rest[k] == '-'
			k++
		}
		if k == len(rest) || !isDigit(rest[k]) {
			return nil, false // strtold stops before the 'e': trailing garbage
		}
		for ; k < len(rest) && isDigit(rest[k]); k++ {
			if exp < 1e9 {
				exp = exp*10 + int64(rest[k]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
		j = k
	}
	if j != len(rest) {
		return nil, false
	}
	mant := rest[:mantEnd]
	allZero := true
	for _, c := range mant {
		if c != '0' && c != '.' {
			allZero = false
			break
		}
	}
	if allZero {
		z := newLD()
		if neg {
			z.Neg(z)
		}
		return z, true
	}
	if exp > 100000 {
		return nil, false
	}
	if exp < -100000 {
		return nil, false
	}
	s := string(mant) + "e" + strconv.FormatInt(exp, 10)
	z, _, err := newLD().Parse(s, 10)
	if err != nil {
		return nil, false
	}
	if neg {
		z.Neg(z)
	}
	return ldCheckRange(z)
}

func parseHexLD(b []byte, neg bool) (*big.Float, bool) {
	mant := new(big.Int)
	var exp2 int64
	j := 0
	seenDot := false
	for j < len(b) {
		c := b[j]
		if c == '.' && !seenDot {
			seenDot = true
			j++
			continue
		}
		if !isHexDigit(c) {
			break
		}
		mant.Lsh(mant, 4)
		mant.Or(mant, big.NewInt(hexVal(c)))
		if seenDot {
			exp2 -= 4
		}
		j++
	}
	if j < len(b) && b[j]|0x20 == 'p' {
		k := j + 1
		eneg := false
		if k < len(b) && (b[k] == '+' || b[k] == '-') {
			eneg = b[k] == '-'
			k++
		}
		if k == len(b) || !isDigit(b[k]) {
			return nil, false
		}
		var e int64
		for ; k < len(b) && isDigit(b[k]); k++ {
			if e < 1e9 {
				e = e*10 + int64(b[k]-'0')
			}
		}
		if eneg {
			e = -e
		}
		exp2 += e
		j = k
	}
	if j != len(b) {
		return nil, false
	}
	z := newLD()
	if mant.Sign() == 0 {
		if neg {
			z.Neg(z)
		}
		return z, true
	}
	if exp2 > 1<<20 || exp2 < -(1<<20) {
		return nil, false
	}
	z.SetInt(mant)
	z.SetMantExp(z, int(exp2))
	if neg {
		z.Neg(z)
	}
	return ldCheckRange(z)
}

func ldCheckRange(z *big.Float) (*big.Float, bool) {
	if z.Sign() == 0 {
		return z, true
	}
	e := z.MantExp(nil)
	if e > ldMaxExp || e < ldMinExp {
		return nil, false
	}
	return z, true
}

// ldAdd adds two long doubles; ok is false if the result is NaN or infinite.
func ldAdd(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	z := newLD().Add(a, b)
	if z.Sign() != 0 && z.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	return z, true
}

// appendLongDouble formats like Redis's ld2string(LD_STR_HUMAN): "%.17Lf", trailing zeros and a
// trailing point removed, "-0" printed as "0".
func appendLongDouble(dst []byte, v *big.Float) []byte {
	start := len(dst)
	dst = v.Append(dst, 'f', ldFormatDigs)
	num := dst[start:]
	hasDot := false
	for _, c := range num {
		if c == '.' {
			hasDot = true
			break
		}
	}
	if hasDot {
		for len(dst) > start && dst[len(dst)-1] == '0' {
			dst = dst[:len(dst)-1]
		}
		if len(dst) > start && dst[len(dst)-1] == '.' {
			dst = dst[:len(dst)-1]
		}
	}
	if len(dst)-start == 2 && dst[start] == '-' && dst[start+1] == '0' {
		dst = append(dst[:start], '0')
	}
	return dst
}
