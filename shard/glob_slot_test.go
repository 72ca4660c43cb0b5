package shard

import "testing"

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pat, s string
		nocase bool
		want   bool
	}{
		{"*", "anything", false, true},
		{"*", "", false, false}, // Redis: the loop never runs for an empty string (KEYS special-cases "*")
		{"", "", false, true},
		{"", "a", false, false},
		{"h?llo", "hello", false, true},
		{"h?llo", "hllo", false, false},
		{"h*llo", "heeeello", false, true},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[b-a]llo", "hallo", false, true}, // reversed range
		{"h[a-b]llo", "hcllo", false, false},
		{`h\*llo`, "h*llo", false, true},
		{`h\*llo`, "hello", false, false},
		{`\`, `\`, false, true},
		{"[", "a", false, false},
		{"[a", "a", false, true},
		{"[\\]]", "]", false, true},
		{"HELLO", "hello", true, true},
		{"[A-C]x", "bx", true, true},
		{"a*b*c", "aXbYc", false, true},
		{"a*b*c", "aXbYd", false, false},
		{"**", "x", false, true},
		{"*a", "a", false, true},
		{"a*", "a", false, true},
		{"\x00*", "\x00bin", false, true},
		{"[\x80-\xff]", "\x90", false, true},
		{"[a-\xff]", "b", false, false}, // signed char: 0xff is -1, so the range is [-1, 'a']
		{"[a-\xff]", "\x00", false, true},
	}
	for _, tc := range tests {
		if got := MatchGlob([]byte(tc.pat), []byte(tc.s), tc.nocase); got != tc.want {
			t.Errorf("MatchGlob(%q, %q, %v) = %v, want %v", tc.pat, tc.s, tc.nocase, got, tc.want)
		}
	}
}

func FuzzMatchGlob(f *testing.F) {
	for _, s := range []string{"*", "a?b", "[a-z]*", "[^x]", `\*`, "[", "**a**b"} {
		f.Add(s, "abc")
	}
	f.Fuzz(func(t *testing.T, pat, s string) {
		got := MatchGlob([]byte(pat), []byte(s), false)
		if pat == s && !containsMeta(pat) && len(s) > 0 && !got {
			t.Fatalf("literal %q does not match itself", pat)
		}
		if len(s) > 0 && len(pat) > 0 && pat[0] == '*' && len(pat) == 1 && !got {
			t.Fatalf("* does not match %q", s)
		}
	})
}

func containsMeta(s string) bool {
	for i := range len(s) {
		switch s[i] {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}

func TestKeySlot(t *testing.T) {
	tests := []struct {
		key  string
		want uint16
	}{
		{"123456789", 12739}, // CRC16/XMODEM check value 0x31C3
		{"foo", 12182},
		{"bar", 5061},
		{"", 0},
		{"{user1000}.following", KeySlot([]byte("user1000"))},
		{"{user1000}.followers", KeySlot([]byte("user1000"))},
		{"foo{}{bar}", KeySlot([]byte("foo{}{bar}"))}, // empty tag: hash the whole key
		{"foo{{bar}}zap", KeySlot([]byte("{bar"))},
		{"foo{bar}{zap}", KeySlot([]byte("bar"))},
		{"{", KeySlot([]byte("{"))},
	}
	for _, tc := range tests {
		if got := KeySlot([]byte(tc.key)); got != tc.want {
			t.Errorf("KeySlot(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
}
