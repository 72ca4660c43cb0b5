package query

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"go.uber.org/goleak"

	"github.com/vsdb/vsdb/aggregate"
)

// fakeRunner answers every query with fixed groups, or blocks until the context ends.
type fakeRunner struct {
	block   bool
	started chan struct{}
	err     error
}

func (f *fakeRunner) RunQuery(ctx context.Context, q *aggregate.Query) (*Result, error) {
	if f.started != nil {
		f.started <- struct{}{}
	}
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	gs := aggregate.NewGroups(q.Aggregates)
	gs.Add("eu", "a", 2, 0)
	gs.Add("eu", "b", 5, 0)
	gs.Add("us", "c", 7, 0)
	return &Result{Groups: gs, ViewID: 4, Cut: "n1#1/9", Shards: []int{0, 1}, Consistency: "cut"}, nil
}

const goodQuery = `{"value":{"field":"balance"},"group_by":{"field":"region"},"aggregates":[{"kind":"count"},{"kind":"sum"},{"kind":"min"},{"kind":"topk","k":1}]}`

func post(t *testing.T, h http.Handler, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/v1/query", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestBadInputs covers the HTTP rows of the hostile-input table that the query endpoint owns.
func TestBadInputs(t *testing.T) {
	h := NewHandler(Config{MaxBodyBytes: 4096}, &fakeRunner{})
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"empty body", "", 400, "empty body"},
		{"deep nesting", strings.Repeat("[", 4000), 400, "nested deeper"},
		{"1e309", `{"aggregates":[{"kind":"sum"}],"where":{"min":1e309}}`, 400, "invalid JSON"},
		{"int above int64", `{"aggregates":[{"kind":"topk","k":9223372036854775808}]}`, 400, "invalid JSON"},
		{"duplicate key", `{"aggregates":[{"kind":"sum"}],"aggregates":[{"kind":"count"}]}`, 400, "duplicate key"},
		{"duplicate nested key", `{"aggregates":[{"kind":"sum","kind":"count"}]}`, 400, "duplicate key"},
		{"unknown field", `{"aggregates":[{"kind":"sum"}],"limit":-1}`, 400, "unknown field"},
		{"invalid UTF-8", "{\"match\":\"\xff\",\"aggregates\":[{\"kind\":\"sum\"}]}", 400, "UTF-8"},
		{"trailing garbage", `{"aggregates":[{"kind":"sum"}]} }`, 400, "invalid JSON"},
		{"second value", `{"aggregates":[{"kind":"sum"}]}{"x":1}`, 400, "after the query"},
		{"no aggregates", `{}`, 400, "aggregates"},
		{"negative max_groups", `{"aggregates":[{"kind":"sum"}],"max_groups":-1}`, 400, "max_groups"},
		{"huge max_groups", `{"aggregates":[{"kind":"sum"}],"max_groups":9223372036854775807}`, 400, "max_groups"},
		{"reversed slot range", `{"aggregates":[{"kind":"sum"}],"slots":[[100,5]]}`, 400, "slot range"},
		{"topk without k", `{"aggregates":[{"kind":"topk"}]}`, 400, "k = 0"},
		{"two selections", `{"keys":["a"],"match":"*","aggregates":[{"kind":"sum"}]}`, 400, "one selection"},
		{"body too large", `{"keys":["` + strings.Repeat("k", 5000) + `"],"aggregates":[{"kind":"sum"}]}`, 413, "over 4096"},
		{"bad consistency", `{"aggregates":[{"kind":"sum"}],"consistency":"eventual"}`, 400, "consistency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, h, tc.body, nil)
			var e map[string]string
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != tc.status || !strings.Contains(e["error"], tc.want) {
				t.Fatalf("status %d %q, want %d containing %q", w.Code, w.Body.String(), tc.status, tc.want)
			}
		})
	}
	if w := post(t, NewHandler(Config{}, &fakeRunner{}), strings.Repeat("[", 100000), nil); w.Code != 400 {
		t.Fatalf("100k nested [: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/query", strings.NewReader(goodQuery))
	r.Header.Set("Content-Type", "text/plain")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %d", w.Code)
	}
	if w := post(t, NewHandler(Config{}, &fakeRunner{err: ErrUnavailable}), goodQuery, nil); w.Code != 503 {
		t.Fatalf("unavailable: %d %s", w.Code, w.Body)
	}
	if w := post(t, NewHandler(Config{DefaultTimeout: 1}, &fakeRunner{block: true}), goodQuery, nil); w.Code != 504 {
		t.Fatalf("deadline: %d %s", w.Code, w.Body)
	}
}

func TestJSONAnswer(t *testing.T) {
	w := post(t, NewHandler(Config{}, &fakeRunner{}), goodQuery, nil)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := `{"columns":["count","sum","min","topk(1)"],"groups":[{"group":"eu","values":[2,7,2,[{"key":"b","value":5}]]},{"group":"us","values":[1,7,7,[{"key":"c","value":7}]]}],"view":4,"cut":"n1#1/9","shards":[0,1],"truncated":false,"consistency":"cut"}`
	if got := strings.TrimSpace(w.Body.String()); got != want {
		t.Fatalf("answer\n%s\nwant\n%s", got, want)
	}
}

// TestArrowAnswer reads an Arrow answer back with Arrow's own IPC reader and checks the schema and
// every value.
func TestArrowAnswer(t *testing.T) {
	w := post(t, NewHandler(Config{}, &fakeRunner{}), goodQuery, map[string]string{"Accept": ArrowMediaType})
	if w.Code != 200 || w.Header().Get("Content-Type") != ArrowMediaType {
		t.Fatalf("%d %s", w.Code, w.Header())
	}
	rd, err := ipc.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	sc := rd.Schema()
	wantFields := []struct {
		name string
		typ  arrow.DataType
	}{{"group", arrow.BinaryTypes.String}, {"count", arrow.PrimitiveTypes.Int64}, {"sum", arrow.PrimitiveTypes.Float64},
		{"min", arrow.PrimitiveTypes.Float64}, {"topk(1)", arrow.BinaryTypes.String}}
	if len(sc.Fields()) != len(wantFields) {
		t.Fatalf("schema %v", sc)
	}
	for i, f := range wantFields {
		if sc.Field(i).Name != f.name || !arrow.TypeEqual(sc.Field(i).Type, f.typ) {
			t.Fatalf("field %d = %v, want %s %v", i, sc.Field(i), f.name, f.typ)
		}
	}
	if !rd.Next() {
		t.Fatal("no record")
	}
	rec := rd.Record()
	if rec.NumRows() != 2 {
		t.Fatalf("%d rows", rec.NumRows())
	}
	groups := rec.Column(0).(*array.String)
	counts := rec.Column(1).(*array.Int64)
	sums := rec.Column(2).(*array.Float64)
	mins := rec.Column(3).(*array.Float64)
	tops := rec.Column(4).(*array.String)
	if groups.Value(0) != "eu" || counts.Value(0) != 2 || sums.Value(0) != 7 || mins.Value(0) != 2 ||
		tops.Value(0) != `[{"key":"b","value":5}]` {
		t.Fatalf("row 0: %s %d %g %g %s", groups.Value(0), counts.Value(0), sums.Value(0), mins.Value(0), tops.Value(0))
	}
	if groups.Value(1) != "us" || counts.Value(1) != 1 || sums.Value(1) != 7 || mins.Value(1) != 7 {
		t.Fatalf("row 1 wrong")
	}
	if rd.Next() {
		t.Fatal("a second record")
	}
}

// TestConcurrencyLimitAndDisconnect: queries beyond MaxConcurrent get 429; a client that disconnects
// mid-query cancels it, and no goroutine is left behind.
func TestConcurrencyLimitAndDisconnect(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	run := &fakeRunner{block: true, started: make(chan struct{}, 4)}
	srv := httptest.NewServer(NewHandler(Config{MaxConcurrent: 1, DefaultTimeout: 60e9}, run))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(goodQuery))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-run.started // the first query runs (and blocks)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(goodQuery))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second query: %d, want 429", resp.StatusCode)
	}
	cancel() // the client goes away: the server's query context ends
	wg.Wait()
	srv.CloseClientConnections()
	http.DefaultClient.CloseIdleConnections()
}

func TestParseAcceptsAGoodQuery(t *testing.T) {
	q, err := Parse([]byte(" " + goodQuery + "\n"))
	if err != nil || q.GroupBy.Field != "region" || len(q.Aggregates) != 4 {
		t.Fatalf("%+v %v", q, err)
	}
}

// TestStream reads three server-sent events of a continuous query, checks each answer, and checks that
// a client disconnect ends the stream without leaving a goroutine.
func TestStream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := NewHandler(Config{}, &fakeRunner{})
	srv := httptest.NewServer(NewStreamHandler(h, 1))
	defer srv.Close()
	u := srv.URL + "?period=100ms&count=3&q=" + url.QueryEscape(goodQuery)
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header)
	}
	events := strings.Split(strings.TrimSpace(string(body)), "\n\n")
	if len(events) != 3 {
		t.Fatalf("%d events: %q", len(events), body)
	}
	for _, e := range events {
		lines := strings.SplitN(e, "\n", 2)
		if lines[0] != "event: result" || !strings.HasPrefix(lines[1], `data: {"columns":["count","sum","min","topk(1)"]`) {
			t.Fatalf("event %q", e)
		}
	}
	for _, bad := range []string{"?period=1ms&q=" + url.QueryEscape(goodQuery), "?period=1s&q=%7B%7D", "?period=1s&count=-1&q=" + url.QueryEscape(goodQuery)} {
		resp, err := http.Get(srv.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("%s: %d", bad, resp.StatusCode)
		}
	}
	// An endless stream, then the client goes away.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?period=100ms&q="+url.QueryEscape(goodQuery), nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	// The one stream slot is taken: a second stream is refused.
	if r2, err := http.Get(srv.URL + "?period=1s&q=" + url.QueryEscape(goodQuery)); err != nil || r2.StatusCode != 429 {
		t.Fatalf("second stream: %v %v", r2, err)
	} else {
		r2.Body.Close()
	}
	cancel()
	resp.Body.Close()
	srv.CloseClientConnections()
	http.DefaultClient.CloseIdleConnections()
}
