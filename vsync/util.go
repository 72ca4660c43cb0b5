package vsync

import (
	"cmp"
	"slices"
)

// sortedKeys returns the keys of mp in increasing order (deterministic iteration).
func sortedKeys[K cmp.Ordered, V any](mp map[K]V) []K {
	keys := make([]K, 0, len(mp))
	for k := range mp {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
