package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/pipeline"
	"github.com/vigilsoc/vigil/internal/query"
	"github.com/vigilsoc/vigil/internal/store"
)

// rejectedLine reports one NDJSON line that was not accepted.
type rejectedLine struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

type ingestResponse struct {
	Accepted int            `json:"accepted"`
	Rejected []rejectedLine `json:"rejected"`
	Alerts   int            `json:"alerts"`
}

// maxRejectedReported bounds the rejected list in one answer; the count of
// the rest is in the last entry.
const maxRejectedReported = 1000

// postEvents takes NDJSON (gzip or zstd by Content-Encoding, or gzip by its
// magic bytes), keeps the good lines, reports the bad ones by number, and
// answers only once the good ones are durably stored.
//
// A retried batch is stored once: events carry an "id", or get one derived
// from their content. The event store recognises a stored id within the
// batch's time span, so an event with no timestamp of its own (stamped with
// the receive time) is new on every delivery; senders that retry should send
// a time or an id with each event, as log shippers and `vigil ingest` do.
func (a *API) postEvents(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(strings.ToLower(ct), "multipart/") {
		writeError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia,
			"send the NDJSON as the request body (application/x-ndjson), not as a form upload")
		return
	}
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
	rd, err := decompress(body, r.Header.Get("Content-Encoding"))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	defer rd.Close()
	limited := &io.LimitedReader{R: rd, N: a.cfg.MaxDecodedBytes + 1}
	sc := bufio.NewScanner(limited)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)

	var (
		events   []*event.Event
		rejected = []rejectedLine{}
		nBad     int
		line     int
	)
	reject := func(n int, msg string) {
		nBad++
		a.rejectedLines.Inc()
		if len(rejected) < maxRejectedReported {
			rejected = append(rejected, rejectedLine{Line: n, Error: msg})
		}
	}
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if len(events) >= a.cfg.MaxBatchEvents {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge,
				fmt.Sprintf("more than %d events in one request; split the batch", a.cfg.MaxBatchEvents))
			return
		}
		ev, err := a.cfg.Decoder.DecodeLine(b)
		if err != nil {
			reject(line, err.Error())
			continue
		}
		events = append(events, ev)
	}
	if err := sc.Err(); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("request body over %d bytes", a.cfg.MaxBodyBytes))
		case errors.Is(err, bufio.ErrTooLong):
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("line %d is over 4 MiB", line+1))
		default:
			writeError(w, http.StatusBadRequest, codeBadRequest, "reading body: "+err.Error())
		}
		return
	}
	if limited.N <= 0 {
		writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("decompressed body over %d bytes", a.cfg.MaxDecodedBytes))
		return
	}
	if nBad > len(rejected) {
		rejected = append(rejected, rejectedLine{Line: 0, Error: fmt.Sprintf("%d more lines rejected", nBad-len(rejected))})
	}

	res, err := a.cfg.Ingest.Submit(r.Context(), events)
	switch {
	case errors.Is(err, pipeline.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, codeBusy, "the pipeline is at capacity; retry after a second")
		return
	case errors.Is(err, pipeline.ErrClosed):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down; retry")
		return
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The sender went away or gave up; nothing is acknowledged and its
		// retry is harmless. Not a server fault, so no error log.
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "request cancelled before the events were stored; retry")
		return
	case err != nil:
		a.log.Error("ingest failed; batch not acknowledged", "events", len(events), "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "events could not be stored; retry the batch")
		return
	}
	writeJSON(w, http.StatusOK, ingestResponse{Accepted: res.Accepted, Rejected: rejected, Alerts: res.Alerts})
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// decompress undoes the Content-Encoding; with none, gzip is still
// recognised by its magic bytes (shippers that compress without saying so).
func decompress(body io.Reader, encoding string) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
			return gunzip(br)
		}
		return io.NopCloser(br), nil
	case "gzip", "x-gzip":
		return gunzip(br)
	case "zstd":
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return readCloser{Reader: zr, close: func() error { zr.Close(); return nil }}, nil
	}
	return nil, fmt.Errorf("unsupported Content-Encoding %q (want gzip or zstd)", encoding)
}

func gunzip(r io.Reader) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return zr, nil
}

// eventQuery reads q, from, to, limit and cursor.
func (a *API) eventQuery(w http.ResponseWriter, r *http.Request) (store.EventQuery, bool) {
	v := r.URL.Query()
	var q store.EventQuery
	where, err := query.Parse(v.Get("q"))
	if err != nil {
		var se *query.SyntaxError
		if errors.As(err, &se) {
			writeErrorDetails(w, http.StatusBadRequest, codeInvalidQuery, err.Error(),
				map[string]int{"pos": se.Pos, "line": se.Line, "col": se.Col})
		} else {
			writeError(w, http.StatusBadRequest, codeInvalidQuery, err.Error())
		}
		return q, false
	}
	q.Where = where
	now := a.cfg.Now()
	if q.Range.From, err = parseTimeParam(v.Get("from"), now); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "from: "+err.Error())
		return q, false
	}
	if q.Range.To, err = parseTimeParam(v.Get("to"), now); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "to: "+err.Error())
		return q, false
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, codeBadRequest, "limit: want a positive number")
			return q, false
		}
		q.Limit = n
	}
	q.Cursor = v.Get("cursor")
	q.CountTotal = v.Get("total") == "true"
	return q, true
}

// parseTimeParam reads RFC 3339, Unix seconds, or a duration ago ("24h",
// "7d", "now-24h").
func parseTimeParam(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if s == "now" {
		return now, nil
	}
	rel := strings.TrimPrefix(s, "now-")
	if strings.HasSuffix(rel, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(rel, "d")); err == nil {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(rel); err == nil {
		return now.Add(-d), nil
	}
	return event.ParseTime(s)
}

type eventsResponse struct {
	Events []*event.Event `json:"events"`
	Next   string         `json:"next,omitempty"`
	Total  *int64         `json:"total,omitempty"`
}

func (a *API) getEvents(w http.ResponseWriter, r *http.Request) {
	q, ok := a.eventQuery(w, r)
	if !ok {
		return
	}
	page, err := a.cfg.Events.SearchEvents(r.Context(), q)
	if err != nil {
		a.storeError(w, err)
		return
	}
	resp := eventsResponse{Events: page.Events, Next: page.Next}
	if resp.Events == nil {
		resp.Events = []*event.Event{}
	}
	if q.CountTotal {
		resp.Total = &page.Total
	}
	writeJSON(w, http.StatusOK, resp)
}

type bucketJSON struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}

func (a *API) getHistogram(w http.ResponseWriter, r *http.Request) {
	q, ok := a.eventQuery(w, r)
	if !ok {
		return
	}
	n := 60
	if s := r.URL.Query().Get("buckets"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 1000 {
			writeError(w, http.StatusBadRequest, codeBadRequest, "buckets: want 1 to 1000")
			return
		}
		n = v
	}
	buckets, err := a.cfg.Events.Histogram(r.Context(), q, n)
	if err != nil {
		a.storeError(w, err)
		return
	}
	out := make([]bucketJSON, len(buckets))
	for i, b := range buckets {
		out[i] = bucketJSON{Start: b.Start, Count: b.Count}
	}
	writeJSON(w, http.StatusOK, map[string]any{"buckets": out})
}

func (a *API) getTopValues(w http.ResponseWriter, r *http.Request) {
	q, ok := a.eventQuery(w, r)
	if !ok {
		return
	}
	n := 10
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 1000 {
			writeError(w, http.StatusBadRequest, codeBadRequest, "n: want 1 to 1000")
			return
		}
		n = v
	}
	vals, err := a.cfg.Events.TopValues(r.Context(), q, r.PathValue("field"), n)
	if err != nil {
		a.storeError(w, err)
		return
	}
	type vc struct {
		Value string `json:"value"`
		Count int64  `json:"count"`
	}
	out := make([]vc, len(vals))
	for i, v := range vals {
		out[i] = vc{v.Value, v.Count}
	}
	writeJSON(w, http.StatusOK, map[string]any{"field": r.PathValue("field"), "values": out})
}
