package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vsdb/vsdb/aggregate"
)

// Errors a Runner returns.
var (
	// ErrUnavailable: the query could not get every shard's answer (a view change, a shard without a
	// ready replica) after its retries; HTTP 503.
	ErrUnavailable = errors.New("query: unavailable")
)

// Result is a query's answer.
type Result struct {
	Groups      *aggregate.Groups
	ViewID      uint64 // the view the query ran in
	Cut         string // the query's place in the total order (cut mode): "<originator>/<id>"
	Shards      []int  // the shards that contributed
	Truncated   bool   // some shard dropped groups beyond max_groups
	Consistency string // "cut" or "local"
}

// Runner runs a validated query (the server: one node, or a cluster).
type Runner interface {
	RunQuery(ctx context.Context, q *aggregate.Query) (*Result, error)
}

// Config bounds the HTTP endpoint. Zero fields take the defaults.
type Config struct {
	MaxBodyBytes   int64         // largest request body; default 1 MiB
	MaxConcurrent  int           // queries running at once; more get 429; default 64
	DefaultTimeout time.Duration // a query's deadline when it gives none; default 5 s
	MaxTimeout     time.Duration // the largest deadline a query may ask; default 60 s
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 64
	}
	if c.DefaultTimeout == 0 {
		c.DefaultTimeout = 5 * time.Second
	}
	if c.MaxTimeout == 0 {
		c.MaxTimeout = 60 * time.Second
	}
	return c
}

// ArrowMediaType is the Accept value that asks for an Arrow IPC stream.
const ArrowMediaType = "application/vnd.apache.arrow.stream"

// Handler serves POST /v1/query.
type Handler struct {
	cfg Config
	run Runner
	sem chan struct{}
}

// NewHandler returns the endpoint over run.
func NewHandler(cfg Config, run Runner) *Handler {
	cfg = cfg.withDefaults()
	return &Handler{cfg: cfg, run: run, sem: make(chan struct{}, cfg.MaxConcurrent)}
}

// Parse decodes and validates a query from JSON. Refused: an empty body, invalid UTF-8, a duplicate
// key in any object, an unknown field, a number that does not fit its field (1e309, an int above
// int64), nesting deeper than Go's decoder allows, anything after the query object, and every limit
// of aggregate.Query.
func Parse(body []byte) (*aggregate.Query, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("invalid JSON: empty body")
	}
	if !utf8.Valid(body) {
		return nil, errors.New("invalid JSON: not valid UTF-8")
	}
	if err := noDuplicateKeys(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var q aggregate.Query
	if err := dec.Decode(&q); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return nil, errors.New("invalid JSON: data after the query object")
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return &q, nil
}

// maxJSONDepth bounds the nesting noDuplicateKeys walks (a query needs 4).
const maxJSONDepth = 64

// noDuplicateKeys walks the JSON tokens and refuses an object with a repeated key (encoding/json
// would keep the last one silently).
func noDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // object: the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("invalid JSON: %w", err)
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxJSONDepth {
					return fmt.Errorf("invalid JSON: nested deeper than %d", maxJSONDepth)
				}
				if top != nil && top.object {
					top.expect = true
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]bool{}, expect: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].expect = true
				}
			}
		case string:
			if top != nil && top.object && top.expect {
				if top.keys[t] {
					return fmt.Errorf("invalid JSON: duplicate key %q", t)
				}
				top.keys[t] = true
				top.expect = false
				continue
			}
			if top != nil && top.object {
				top.expect = true
			}
		default:
			if top != nil && top.object {
				top.expect = true
			}
		}
	}
}

// ServeHTTP answers one query: JSON, or Arrow IPC when asked. Errors are JSON {"error": …} with 400
// (bad query), 413 (body too large), 415 (not JSON), 429 (too many queries at once), 503 (shards
// unavailable after retries), 504 (deadline).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	default:
		writeError(w, http.StatusTooManyRequests, "too many queries running; retry later")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("query body over %d bytes", h.cfg.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	q, err := Parse(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, status, err := h.Run(r.Context(), q)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	if strings.Contains(r.Header.Get("Accept"), ArrowMediaType) {
		w.Header().Set("Content-Type", ArrowMediaType)
		if err := WriteArrow(w, q, res); err != nil {
			// headers are sent: the stream is cut short, which the reader reports
			return
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(JSON(q, res))
}

// Run runs q with its deadline (bounded by the config) and maps errors to HTTP statuses.
func (h *Handler) Run(ctx context.Context, q *aggregate.Query) (*Result, int, error) {
	timeout := h.cfg.DefaultTimeout
	if q.TimeoutMs > 0 {
		timeout = min(time.Duration(q.TimeoutMs)*time.Millisecond, h.cfg.MaxTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := h.run.RunQuery(ctx, q)
	switch {
	case err == nil:
		return res, http.StatusOK, nil
	case errors.Is(err, context.DeadlineExceeded):
		return nil, http.StatusGatewayTimeout, fmt.Errorf("query deadline of %v exceeded", timeout)
	case errors.Is(err, context.Canceled):
		return nil, 499, errors.New("client closed the request")
	case errors.Is(err, ErrUnavailable):
		return nil, http.StatusServiceUnavailable, err
	}
	return nil, http.StatusInternalServerError, err
}

// Answer is the JSON form of a result.
type Answer struct {
	Columns     []string      `json:"columns"` // one per aggregate, e.g. "sum" or "topk(5)"
	Groups      []GroupAnswer `json:"groups"`  // sorted by group
	View        uint64        `json:"view"`
	Cut         string        `json:"cut,omitempty"`
	Shards      []int         `json:"shards"`
	Truncated   bool          `json:"truncated"`
	Consistency string        `json:"consistency"`
}

// GroupAnswer is one group's values, in column order.
type GroupAnswer struct {
	Group  string `json:"group"`
	Values []any  `json:"values"`
}

// Columns names the aggregates of q.
func Columns(q *aggregate.Query) []string {
	out := make([]string, len(q.Aggregates))
	for i, s := range q.Aggregates {
		out[i] = string(s.Kind)
		if s.K > 0 {
			out[i] = fmt.Sprintf("%s(%d)", s.Kind, s.K)
		}
		if s.Kind == aggregate.Quantile {
			out[i] = fmt.Sprintf("quantile(%g)", s.Q)
		}
		if s.Kind == aggregate.CustomKind {
			out[i] = s.Name
		}
	}
	return out
}

// JSON builds the JSON answer.
func JSON(q *aggregate.Query, res *Result) Answer {
	a := Answer{Columns: Columns(q), Groups: []GroupAnswer{}, View: res.ViewID, Cut: res.Cut, Shards: res.Shards,
		Truncated: res.Truncated, Consistency: res.Consistency}
	if a.Shards == nil {
		a.Shards = []int{}
	}
	for _, g := range res.Groups.Names() {
		sts := res.Groups.By[g]
		ga := GroupAnswer{Group: g, Values: make([]any, len(q.Aggregates))}
		for i, s := range q.Aggregates {
			ga.Values[i] = sts[i].Result(s)
		}
		a.Groups = append(a.Groups, ga)
	}
	return a
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
