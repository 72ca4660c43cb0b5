package query

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Stream limits.
const (
	MinStreamPeriod = 100 * time.Millisecond
	MaxStreamPeriod = time.Hour
	// DefaultMaxStreams bounds the streams open at once (more get 429).
	DefaultMaxStreams = 16
	// streamWriteSlack is how long one event may take to write beyond the period.
	streamWriteSlack = 30 * time.Second
)

// StreamHandler serves GET /v1/query/stream?q=<query JSON>&period=<duration>[&count=N]: continuous
// aggregation (the manual's L5376–5471). The query runs every period and each answer is one
// server-sent event ("event: result", data the JSON answer; "event: error" with {"error": …} for a
// round that failed, after which the stream goes on). It ends after count events (0: until the client
// goes away). Evaluations share the query endpoint's concurrency limit.
type StreamHandler struct {
	h       *Handler
	streams chan struct{}
}

// NewStreamHandler returns the streaming endpoint over h (its limits and runner).
func NewStreamHandler(h *Handler, maxStreams int) *StreamHandler {
	if maxStreams <= 0 {
		maxStreams = DefaultMaxStreams
	}
	return &StreamHandler{h: h, streams: make(chan struct{}, maxStreams)}
}

func (s *StreamHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	raw := v.Get("q")
	if int64(len(raw)) > s.h.cfg.MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "query over the size limit")
		return
	}
	q, err := Parse([]byte(raw))
	if err != nil {
		writeError(w, http.StatusBadRequest, "q: "+err.Error())
		return
	}
	period, err := time.ParseDuration(v.Get("period"))
	if err != nil || period < MinStreamPeriod || period > MaxStreamPeriod {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("period: a duration from %v to %v", MinStreamPeriod, MaxStreamPeriod))
		return
	}
	count := 0
	if c := v.Get("count"); c != "" {
		if count, err = strconv.Atoi(c); err != nil || count < 0 {
			writeError(w, http.StatusBadRequest, "count: a non-negative integer")
			return
		}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	select {
	case s.streams <- struct{}{}:
		defer func() { <-s.streams }()
	default:
		writeError(w, http.StatusTooManyRequests, "too many streams open; retry later")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	tick := time.NewTicker(period)
	defer tick.Stop()
	ctx := r.Context()
	for sent := 0; count == 0 || sent < count; sent++ {
		if sent > 0 {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		var b []byte
		event := "result"
		select {
		case s.h.sem <- struct{}{}:
			res, _, err := s.h.Run(ctx, q)
			<-s.h.sem
			if err != nil {
				event = "error"
				b, _ = json.Marshal(map[string]string{"error": err.Error()})
			} else {
				b, _ = json.Marshal(JSON(q, res))
			}
		default:
			event = "error"
			b, _ = json.Marshal(map[string]string{"error": "too many queries running"})
		}
		if ctx.Err() != nil {
			return
		}
		// The server's WriteTimeout covers a whole response; a stream extends it event by event.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(period + streamWriteSlack))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return
		}
		flusher.Flush()
	}
}
