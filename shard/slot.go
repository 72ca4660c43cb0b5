package shard

// SlotCount is the number of hash slots, as in Redis Cluster.
const SlotCount = 16384

// crc16Table is the CRC16-CCITT (XMODEM) table: polynomial 0x1021, initial value 0, no reflection.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

// KeySlot is CRC16(key) mod 16384 with {hash tags}, exactly as Redis Cluster: if the key contains a '{'
// followed later by a '}' with at least one byte between them, only the bytes between the first '{' and
// the first '}' after it are hashed.
func KeySlot(key []byte) uint16 {
	for i, c := range key {
		if c != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j == i+1 {
					return crc16(key) & (SlotCount - 1)
				}
				return crc16(key[i+1:j]) & (SlotCount - 1)
			}
		}
		break
	}
	return crc16(key) & (SlotCount - 1)
}
