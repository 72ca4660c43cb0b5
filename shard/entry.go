package shard

// kind is the Redis type of a value.
type kind uint8

const (
	kindString kind = iota + 1
	kindHash
)

// strEnc is the Redis object encoding a string value would have (reported by OBJECT ENCODING).
type strEnc uint8

const (
	encInt strEnc = iota + 1
	encEmbstr
	encRaw
)

// embstrLimit is OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
const embstrLimit = 44

// Fixed per-entry and per-field overheads of the deterministic memory estimate (roughly Redis's
// dictEntry + robj + sds headers + expires entry; per hash field its listpack/dict entry).
const (
	entryOverheadBytes = 64
	fieldOverheadBytes = 24
)

// entry is one key. Invariants: e.key is the map key it is stored under; e.heapIdx ≥ 0 iff
// e.expireMs != 0 (the key is in the expiry heap); e.sizeBytes is the value counted in Store.usedBytes.
type entry struct {
	key      string
	kind     kind
	enc      strEnc   // strings only
	str      []byte   // strings: the value, or its ValueStore handle when ref
	ref      bool     // str is a handle (values.go)
	hash     *hashVal // hashes
	expireMs int64    // absolute Unix ms; 0 = no expiry
	lruMs    int64    // time of the last access (the op's nowMs)
	heapIdx  int32
	slot     uint16
	// slotPrev and slotNext link the entries of one slot (Store.slotHead).
	slotPrev, slotNext *entry
	size               int64
}

// tryEncoding is Redis's tryObjectEncoding for a string argument.
func tryEncoding(v []byte) strEnc {
	if len(v) <= 20 {
		if _, ok := parseInt(v); ok {
			return encInt
		}
	}
	if len(v) <= embstrLimit {
		return encEmbstr
	}
	return encRaw
}

// embstrOrRaw is createStringObject's choice (no integer encoding).
func embstrOrRaw(v []byte) strEnc {
	if len(v) <= embstrLimit {
		return encEmbstr
	}
	return encRaw
}

func (e *entry) computeSize() int64 {
	n := int64(len(e.key)) + entryOverheadBytes
	switch e.kind {
	case kindString:
		if e.ref {
			n += refBytes
		} else {
			n += int64(len(e.str))
		}
	case kindHash:
		n += e.hash.bytes
	}
	return n
}

func (e *entry) encodingName() string {
	switch e.kind {
	case kindString:
		switch e.enc {
		case encInt:
			return "int"
		case encEmbstr:
			return "embstr"
		default:
			return "raw"
		}
	case kindHash:
		if e.hash.listpack {
			return "listpack"
		}
		return "hashtable"
	}
	panic("shard: entry of unknown kind")
}

func (e *entry) typeName() string {
	switch e.kind {
	case kindString:
		return "string"
	case kindHash:
		return "hash"
	}
	panic("shard: entry of unknown kind")
}
