// Package client is a Go client for Vigil's REST API: it sends events
// (gzip NDJSON, retried until the server acknowledges them) and reads alerts
// and events back. `vigil ingest`, agents and the end-to-end tests use it.
//
// Retrying an ingest batch is safe because every event carries an id before
// it is sent (its content id when the caller gave none), and the server
// stores an id once. So PostEvents retries on backpressure (429), shutdown
// (503), server errors and network errors until the batch is acknowledged or
// the context ends; other 4xx answers are the caller's mistake and are never
// retried.
//
// It depends on the event model and the API's wire types, not on the server.
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/pipeline"
	"github.com/vigilsoc/vigil/internal/pki"
	"github.com/vigilsoc/vigil/internal/store"
)

// Defaults for Config.
const (
	DefaultTimeout    = 2 * time.Minute
	DefaultRetryMin   = 200 * time.Millisecond
	DefaultRetryMax   = 10 * time.Second
	maxRetryAfter     = time.Minute
	maxErrorBodyBytes = 64 << 10
)

// Config configures a Client.
type Config struct {
	// BaseURL is the server, such as https://127.0.0.1:8443.
	BaseURL string
	// Token is the API bearer token.
	Token string
	// CAFile is a PEM file of the CA that signed the server certificate
	// (DATA/ca.pem). CASHA256 instead pins the CA by its SHA-256
	// fingerprint, as the server prints it. With neither, the system roots
	// are trusted. Giving both is an error.
	CAFile   string
	CASHA256 string
	// Timeout bounds one HTTP attempt (not the retries); default 2 minutes,
	// long enough for a large batch on a busy server.
	Timeout time.Duration
	// MaxRetries bounds the retries after the first attempt. Zero retries
	// until the context ends (what a sender that must lose nothing wants);
	// negative never retries.
	MaxRetries int
	// RetryMin and RetryMax bound the exponential backoff between retries
	// (with jitter); defaults 200ms and 10s. A server's Retry-After is
	// honoured instead when it is given.
	RetryMin, RetryMax time.Duration
	// HTTPClient replaces the client built from the TLS settings (tests).
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Client talks to one Vigil server. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
	log  *slog.Logger
}

// ErrConfig is wrapped by New's errors.
var ErrConfig = errors.New("client: bad configuration")

// New returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: server URL %q: want http(s)://HOST:PORT", ErrConfig, cfg.BaseURL)
	}
	if cfg.CAFile != "" && cfg.CASHA256 != "" {
		return nil, fmt.Errorf("%w: give a CA file or a CA fingerprint, not both", ErrConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = cfg.RetryMin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, base: base, log: cfg.Logger, http: cfg.HTTPClient}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ForceAttemptHTTP2 = true
		tr.MaxIdleConnsPerHost = 16
		if base.Scheme == "https" {
			tlsCfg, err := clientTLS(cfg, base.Hostname())
			if err != nil {
				return nil, err
			}
			tr.TLSClientConfig = tlsCfg
		}
		c.http = &http.Client{Transport: tr}
	}
	return c, nil
}

func clientTLS(cfg Config, serverName string) (*tls.Config, error) {
	switch {
	case cfg.CASHA256 != "":
		t, err := pki.PinnedClientTLSConfig(cfg.CASHA256, serverName)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		return t, nil
	case cfg.CAFile != "":
		pemData, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrConfig, cfg.CAFile)
		}
		return pki.ClientTLSConfig(pool, nil, serverName), nil
	}
	return &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}, nil
}

// APIError is a non-2xx answer, decoded from the API's error envelope
// {"error":{"code","message"}}. Code is empty when the body was not one.
type APIError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the server's Retry-After, zero when not given.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("vigil API: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("vigil API: HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether the request may succeed when retried: the
// server was busy (429), shutting down or unavailable (503), or failed
// (5xx). Other 4xx answers will not change on retry.
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Result is the server's answer to an ingest batch.
type Result struct {
	// Accepted events are durably stored (now or by an earlier delivery).
	Accepted int `json:"accepted"`
	// Rejected lists the lines the server could not decode, numbered from 1
	// in the order the events were given. A last entry with Line 0 counts
	// lines beyond those listed.
	Rejected []Rejected `json:"rejected"`
	// Alerts raised or updated by the batch.
	Alerts int `json:"alerts"`
}

// Rejected is one NDJSON line the server did not accept.
type Rejected struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// PostEvents sends events as one gzip NDJSON batch and returns once the
// server has stored them. Events without an ID are given their content id
// first (the events are modified), so a retry carries the same ids and the
// server stores each event once. It retries as Config says; the error of a
// batch that was never acknowledged is the last one seen, wrapped with the
// context's error when the context ended first.
//
// A batch the server finds too large (413) is split in halves, sent one
// after the other, and the answers merged, with rejected line numbers
// still counted from the start of events.
func (c *Client) PostEvents(ctx context.Context, events []*event.Event) (Result, error) {
	res, err := c.postBatch(ctx, events)
	var ae *APIError
	if len(events) < 2 || !errors.As(err, &ae) || ae.Status != http.StatusRequestEntityTooLarge {
		return res, err
	}
	half := len(events) / 2
	c.log.Info("batch too large for the server; splitting", "events", len(events))
	first, err := c.PostEvents(ctx, events[:half])
	if err != nil {
		return first, err
	}
	second, err := c.PostEvents(ctx, events[half:])
	merged := Result{
		Accepted: first.Accepted + second.Accepted,
		Alerts:   first.Alerts + second.Alerts,
		Rejected: first.Rejected,
	}
	for _, r := range second.Rejected {
		if r.Line > 0 {
			r.Line += half
		}
		merged.Rejected = append(merged.Rejected, r)
	}
	return merged, err
}

func (c *Client) postBatch(ctx context.Context, events []*event.Event) (Result, error) {
	if len(events) == 0 {
		return Result{Rejected: []Rejected{}}, nil
	}
	body, err := EncodeBatch(events)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = c.do(ctx, http.MethodPost, "/api/v1/events", nil, func() (io.Reader, http.Header) {
		h := http.Header{}
		h.Set("Content-Type", "application/x-ndjson")
		h.Set("Content-Encoding", "gzip")
		return bytes.NewReader(body), h
	}, &res)
	if res.Rejected == nil {
		res.Rejected = []Rejected{}
	}
	return res, err
}

// EncodeBatch assigns missing ids and returns the events as gzip NDJSON in
// the normalised JSON shape, one event per line in order.
func EncodeBatch(events []*event.Event) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	for i, ev := range events {
		if ev == nil {
			return nil, fmt.Errorf("client: event %d is nil", i)
		}
		if ev.ID == "" {
			ev.ID = pipeline.ContentID(ev)
		}
		b, err := ev.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("client: encoding event %d: %w", i, err)
		}
		zw.Write(b)
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ListAlerts returns one page of alerts, newest first, and the cursor of the
// next page (empty at the end). query takes the API's filters: status,
// level, rule_id, host, text, from, to, limit, cursor.
func (c *Client) ListAlerts(ctx context.Context, query url.Values) ([]store.Alert, string, error) {
	var out struct {
		Alerts []store.Alert `json:"alerts"`
		Next   string        `json:"next"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/alerts", query, nil, &out); err != nil {
		return nil, "", err
	}
	return out.Alerts, out.Next, nil
}

// SearchEvents returns one page of events matching query's q (the search
// language), from, to, limit and cursor, newest first. With total=true in
// query the page's Total counts every match; otherwise it is -1.
func (c *Client) SearchEvents(ctx context.Context, query url.Values) (store.EventPage, error) {
	var out struct {
		Events []*event.Event `json:"events"`
		Next   string         `json:"next"`
		Total  *int64         `json:"total"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/events", query, nil, &out); err != nil {
		return store.EventPage{}, err
	}
	page := store.EventPage{Events: out.Events, Next: out.Next, Total: -1}
	if out.Total != nil {
		page.Total = *out.Total
	}
	return page, nil
}

// Health checks GET /healthz, which needs no token.
func (c *Client) Health(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Do sends a request with a JSON body (nil sends none; a []byte is sent
// as it is, such as a rule file's YAML) and decodes a JSON
// answer into out (nil discards it), retrying like PostEvents. It is for the
// API routes without a method of their own. A non-2xx answer is an
// *APIError. Requests other than GET, HEAD and PUT are retried only on
// answers that say the request was not processed (429, 503) and on failures
// to connect, because a retried POST or PATCH might apply twice.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any, out any) error {
	var data []byte
	if body != nil {
		var err error
		if raw, ok := body.([]byte); ok {
			data = raw
		} else if data, err = json.Marshal(body); err != nil {
			return fmt.Errorf("client: encoding request: %w", err)
		}
	}
	return c.do(ctx, method, path, query, func() (io.Reader, http.Header) {
		h := http.Header{}
		if data == nil {
			return nil, h
		}
		h.Set("Content-Type", "application/json")
		return bytes.NewReader(data), h
	}, out)
}

// do runs one request with retries. newBody is called for each attempt.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, newBody func() (io.Reader, http.Header), out any) error {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	// Ingest is idempotent by event id, reads are idempotent; other writes
	// are retried only when the server cannot have acted on them.
	idempotent := method == http.MethodGet || method == http.MethodHead || method == http.MethodPut ||
		(method == http.MethodPost && path == "/api/v1/events")
	var lastErr error
	for attempt := 0; ; attempt++ {
		wait, err := c.attempt(ctx, method, u.String(), newBody, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil && lastErr != nil {
			// Cancelled in the middle of a retry: say why it was being
			// retried, as when cancelled while waiting between attempts.
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), lastErr)
		}
		lastErr = err
		if !c.retryable(err, idempotent) {
			return err
		}
		if c.cfg.MaxRetries < 0 || (c.cfg.MaxRetries > 0 && attempt >= c.cfg.MaxRetries) {
			return fmt.Errorf("giving up after %d attempts: %w", attempt+1, err)
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		c.log.Warn("request failed; retrying", "method", method, "path", path, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

func (c *Client) retryable(err error, idempotent bool) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		if idempotent {
			return ae.Temporary()
		}
		return ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrDecode) || isCertErr(err) {
		return false
	}
	if idempotent {
		return true // network errors, timeouts of one attempt
	}
	// A non-idempotent request is retried only when it never reached the
	// server: the connection was refused.
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff is capped exponential with jitter: the n-th retry waits a random
// time between half and all of min(RetryMax, RetryMin*2^n), so that many
// senders released by one restart do not arrive together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryMax
	if attempt < 30 {
		if e := c.cfg.RetryMin << attempt; e > 0 && e < d {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}

// ErrDecode wraps an answer whose body could not be decoded.
var ErrDecode = errors.New("client: decoding the answer")

// attempt makes one HTTP request. It returns the Retry-After the server
// asked for, if any.
func (c *Client) attempt(ctx context.Context, method, rawURL string, newBody func() (io.Reader, http.Header), out any) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	body, hdr := newBody()
	req, err := http.NewRequestWithContext(actx, method, rawURL, body)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := apiError(resp)
		return ae.RetryAfter, ae
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		io.Copy(io.Discard, resp.Body)
		return 0, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// A connection cut mid-answer is a network error worth a retry;
		// a well-delivered answer that is not JSON is not.
		if errors.Is(err, io.ErrUnexpectedEOF) || isNetErr(err) {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return 0, nil
}

// isCertErr reports a server certificate that does not verify: a wrong CA
// file or pin does not fix itself, so retrying would only hide it.
func isCertErr(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
	)
	return errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.Is(err, pki.ErrPinMismatch)
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func apiError(resp *http.Response) *APIError {
	ae := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && env.Error.Code != "" {
		ae.Code, ae.Message = env.Error.Code, env.Error.Message
		return ae
	}
	ae.Message = strings.TrimSpace(string(data))
	if ae.Message == "" {
		ae.Message = http.StatusText(resp.StatusCode)
	}
	return ae
}

// parseRetryAfter reads delay-seconds or an HTTP date, capped at a minute
// so that a confused server cannot park a sender for hours.
func parseRetryAfter(s string, now time.Time) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(s); err == nil {
		if n > int(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(s); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
