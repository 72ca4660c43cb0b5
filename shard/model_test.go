package shard

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"testing"
)

// model is a naive reference for strings, INCR, DEL and TTLs: a map and explicit deadlines.
type model struct {
	vals map[string]string
	exp  map[string]int64 // absolute ms; absent = no TTL
}

func (m *model) alive(k string, now int64) bool {
	if _, ok := m.vals[k]; !ok {
		return false
	}
	if e, ok := m.exp[k]; ok && now > e {
		delete(m.vals, k)
		delete(m.exp, k)
		return false
	}
	return true
}

func (m *model) apply(args []string, now int64) string {
	k := ""
	if len(args) > 1 {
		k = args[1]
	}
	switch args[0] {
	case "SET":
		m.vals[k] = args[2]
		delete(m.exp, k)
		if len(args) == 5 {
			n, _ := strconv.ParseInt(args[4], 10, 64)
			if args[3] == "EX" {
				n *= 1000
			}
			m.exp[k] = now + n
		}
		return ok
	case "GET":
		if !m.alive(k, now) {
			return null
		}
		return bulk(m.vals[k])
	case "INCRBY":
		d, _ := strconv.ParseInt(args[2], 10, 64)
		var v int64
		if m.alive(k, now) {
			var err error
			if v, err = strconv.ParseInt(m.vals[k], 10, 64); err != nil {
				return nint
			}
		}
		if (d > 0 && v > math.MaxInt64-d) || (d < 0 && v < math.MinInt64-d) {
			return ierr("ERR increment or decrement would overflow")
		}
		m.vals[k] = strconv.FormatInt(v+d, 10)
		return num(v + d)
	case "DEL":
		if m.alive(k, now) {
			delete(m.vals, k)
			delete(m.exp, k)
			return num(1)
		}
		return num(0)
	case "APPEND":
		if !m.alive(k, now) {
			m.vals[k] = ""
		}
		m.vals[k] += args[2]
		return num(int64(len(m.vals[k])))
	case "PEXPIRE":
		if !m.alive(k, now) {
			return num(0)
		}
		n, _ := strconv.ParseInt(args[2], 10, 64)
		if now+n <= now {
			delete(m.vals, k)
			delete(m.exp, k)
		} else {
			m.exp[k] = now + n
		}
		return num(1)
	case "PERSIST":
		if _, has := m.exp[k]; m.alive(k, now) && has {
			delete(m.exp, k)
			return num(1)
		}
		return num(0)
	case "PTTL", "TTL":
		if !m.alive(k, now) {
			return num(-2)
		}
		e, has := m.exp[k]
		if !has {
			return num(-1)
		}
		ttl := max(e-now, 0)
		if args[0] == "TTL" {
			ttl = (ttl + 500) / 1000
		}
		return num(ttl)
	case "DBSIZE":
		n := 0
		for key := range m.vals {
			if m.alive(key, now) {
				n++
			}
		}
		return num(int64(n))
	}
	panic("model: unknown op " + args[0])
}

func randomOp(r *rand.Rand) []string {
	k := fmt.Sprintf("k%d", r.Intn(8))
	switch r.Intn(10) {
	case 0, 1:
		v := []string{"1", "-5", "abc", "9223372036854775800", "", "0"}[r.Intn(6)]
		switch r.Intn(3) {
		case 0:
			return []string{"SET", k, v, "EX", strconv.Itoa(1 + r.Intn(5))}
		case 1:
			return []string{"SET", k, v, "PX", strconv.Itoa(1 + r.Intn(5000))}
		}
		return []string{"SET", k, v}
	case 2:
		return []string{"GET", k}
	case 3:
		return []string{"INCRBY", k, []string{"1", "-1", "100", "9223372036854775807", "-9223372036854775808"}[r.Intn(5)]}
	case 4:
		return []string{"DEL", k}
	case 5:
		return []string{"APPEND", k, "x"}
	case 6:
		return []string{"PEXPIRE", k, strconv.Itoa(r.Intn(6000) - 1000)}
	case 7:
		return []string{"PERSIST", k}
	case 8:
		return []string{[]string{"TTL", "PTTL"}[r.Intn(2)], k}
	}
	return []string{"DBSIZE"}
}

// TestAgainstModel runs random string/INCR/DEL/EXPIRE sequences on a Store and on the naive model with
// a clock that jumps forward, comparing every reply, and checks that Tick-style active expiry never
// changes an answer.
func TestAgainstModel(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewSource(seed))
		st := NewStore(Config{})
		m := &model{vals: map[string]string{}, exp: map[string]int64{}}
		now := int64(baseMs)
		for i := range 2000 {
			now += int64(r.Intn(400))
			if r.Intn(10) == 0 {
				st.ActiveExpire(now, 3)
			}
			op := randomOp(r)
			args := make([][]byte, len(op))
			for j, a := range op {
				args[j] = []byte(a)
			}
			got := string(st.Exec(nil, args, now))
			want := m.apply(op, now)
			if got != want {
				t.Fatalf("seed %d op %d %q at %d: got %q, want %q", seed, i, op, now, got, want)
			}
		}
		checkInvariants(t, st)
	}
}

// TestDeterminism: the same ops at the same times give the same Digest; lazy or active expiry
// (which differ between replicas) never changes it; any data change does.
func TestDeterminism(t *testing.T) {
	a, b := NewStore(Config{}), NewStore(Config{})
	r := rand.New(rand.NewSource(42))
	now := int64(baseMs)
	for range 3000 {
		now += int64(r.Intn(50))
		op := randomOp(r)
		args := make([][]byte, len(op))
		for j, x := range op {
			args[j] = []byte(x)
		}
		a.Exec(nil, args, now)
		b.Exec(nil, args, now)
		if r.Intn(5) == 0 {
			b.ActiveExpire(now, 100) // only b reclaims expired keys
		}
	}
	if a.Digest(now) != b.Digest(now) {
		t.Fatal("same ops, different digests")
	}
	later := now + 10_000
	b.ActiveExpire(later, math.MaxInt)
	if a.Digest(later) != b.Digest(later) {
		t.Fatal("active expiry changed the digest of the live data")
	}
	b.Exec(nil, splitCmd(t, "SET zz 1"), later)
	if a.Digest(later) == b.Digest(later) {
		t.Fatal("a write did not change the digest")
	}
}

func TestKeyVersion(t *testing.T) {
	st := NewStore(Config{})
	k := []byte("k")
	v0 := st.KeyVersion(k, baseMs)
	st.Exec(nil, splitCmd(t, "GET k"), baseMs)
	st.Exec(nil, splitCmd(t, "SET k v NX"), baseMs)
	v1 := st.KeyVersion(k, baseMs)
	if v1 == v0 {
		t.Fatal("SET did not change the version")
	}
	st.Exec(nil, splitCmd(t, "GET k"), baseMs)
	st.Exec(nil, splitCmd(t, "SET k v NX"), baseMs) // no change: NX fails
	if st.KeyVersion(k, baseMs) != v1 {
		t.Fatal("a read or a failed SET NX changed the version")
	}
	st.Exec(nil, splitCmd(t, "PEXPIRE k 100"), baseMs)
	v2 := st.KeyVersion(k, baseMs)
	if v2 == v1 {
		t.Fatal("PEXPIRE did not change the version")
	}
	if st.KeyVersion(k, baseMs+101) == v2 {
		t.Fatal("expiry did not change the version")
	}
	st.Exec(nil, splitCmd(t, "SET k v"), baseMs+200)
	v3 := st.KeyVersion(k, baseMs+200)
	st.Exec(nil, splitCmd(t, "DEL k"), baseMs+200)
	st.Exec(nil, splitCmd(t, "SET k v"), baseMs+200)
	if st.KeyVersion(k, baseMs+200) == v3 {
		t.Fatal("DEL + SET of the same value kept the version")
	}
	v4 := st.KeyVersion(k, baseMs+200)
	st.Exec(nil, splitCmd(t, "FLUSHALL"), baseMs+200)
	if st.KeyVersion(k, baseMs+200) == v4 {
		t.Fatal("FLUSHALL kept the version")
	}
	v5 := st.KeyVersion(k, baseMs+200)
	st.Exec(nil, splitCmd(t, "HSET h f v"), baseMs+200)
	st.Exec(nil, splitCmd(t, "RENAME h k"), baseMs+200)
	if st.KeyVersion(k, baseMs+200) == v5 {
		t.Fatal("RENAME onto the key kept the version")
	}
}
