package client

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkEncodeBatch measures turning a batch into gzip NDJSON, ids
// included; SetBytes counts the uncompressed NDJSON.
func BenchmarkEncodeBatch(b *testing.B) {
	evs := testEvents(5000)
	var raw int64
	for _, ev := range evs {
		j, _ := ev.MarshalJSON()
		raw += int64(len(j)) + 1
	}
	b.SetBytes(raw)
	b.ReportAllocs()
	for b.Loop() {
		for _, ev := range evs {
			ev.ID = "" // recompute the content ids each time, as for fresh events
		}
		if _, err := EncodeBatch(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPostEvents measures a whole PostEvents round trip against a
// server that reads the body and answers at once.
func BenchmarkPostEvents(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, `{"accepted":1000,"rejected":[],"alerts":0}`)
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL, Token: "t"})
	if err != nil {
		b.Fatal(err)
	}
	evs := testEvents(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.PostEvents(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
