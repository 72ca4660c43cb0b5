package protocol

import "github.com/tidwall/redcon"

// AppendNullArray appends a RESP2 null array ("*-1\r\n"), which redcon lacks.
func AppendNullArray(dst []byte) []byte { return append(dst, '*', '-', '1', '\r', '\n') }

// AppendCommand appends args as a RESP multibulk request ("*N\r\n$L\r\n…"), as clients send it.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = redcon.AppendArray(dst, len(args))
	for _, a := range args {
		dst = redcon.AppendBulk(dst, a)
	}
	return dst
}

// AppendValue encodes v back to RESP2 with redcon's encoders. A Value of unknown Kind is a broken
// invariant and panics.
func AppendValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case SimpleString:
		return redcon.AppendString(dst, string(v.Str))
	case Error:
		return redcon.AppendError(dst, string(v.Str))
	case Integer:
		return redcon.AppendInt(dst, v.Int)
	case Bulk:
		return redcon.AppendBulk(dst, v.Str)
	case Null:
		return redcon.AppendNull(dst)
	case NullArray:
		return AppendNullArray(dst)
	case Array:
		dst = redcon.AppendArray(dst, len(v.Array))
		for _, e := range v.Array {
			dst = AppendValue(dst, e)
		}
		return dst
	}
	panic("protocol: AppendValue of a Value with kind " + v.Kind.String())
}
