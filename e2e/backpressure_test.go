package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// TestBackpressure: with a small in-flight budget, concurrent senders are
// told 429 with Retry-After instead of being queued without bound, and a
// sender that honours it (the client) still delivers everything exactly once.
func TestBackpressure(t *testing.T) {
	s := startServer(t, serverOpts{Rules: []string{fixture("rules")}, Args: []string{"--max-in-flight", "1000"}})
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	batch := func(round, sender int) []*event.Event {
		evs := make([]*event.Event, 900)
		for i := range evs {
			evs[i] = &event.Event{
				ID: fmt.Sprintf("bp-%d-%d-%d", round, sender, i), Time: base.Add(time.Duration(i) * time.Millisecond),
				Host: fmt.Sprintf("bp-host-%d", sender), Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
				Fields: []event.Field{{Name: "Image", Value: event.S(`C:\Windows\System32\notepad.exe`)}},
			}
		}
		return evs
	}
	encode := func(evs []*event.Event) []byte {
		var b bytes.Buffer
		for _, ev := range evs {
			line, err := ev.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
		return b.Bytes()
	}

	var (
		mu         sync.Mutex
		statuses   = map[int]int{}
		retryAfter []string
		pending    [][]*event.Event // refused batches, delivered later by the client
	)
	const senders = 6
	for round := 0; round < 10 && statuses[http.StatusTooManyRequests] == 0; round++ {
		var wg sync.WaitGroup
		for sender := range senders {
			evs := batch(round, sender)
			body := encode(evs)
			wg.Go(func() {
				req, _ := http.NewRequest("POST", s.URL+"/api/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+s.Token)
				resp, err := s.HTTP.Do(req)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					statuses[-1]++
					pending = append(pending, evs)
					return
				}
				resp.Body.Close()
				statuses[resp.StatusCode]++
				if resp.StatusCode != http.StatusOK {
					pending = append(pending, evs)
					retryAfter = append(retryAfter, resp.Header.Get("Retry-After"))
				}
			})
		}
		wg.Wait()
	}
	t.Logf("answers by status: %v", statuses)
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Fatalf("no 429 from a server with --max-in-flight 1000 under %d concurrent batches of 900: %v", senders, statuses)
	}
	for _, ra := range retryAfter {
		if ra == "" {
			t.Errorf("a refusal without Retry-After")
		}
	}
	for code := range statuses {
		if code != http.StatusOK && code != http.StatusTooManyRequests {
			t.Errorf("unexpected answers %d: %v", code, statuses)
		}
	}

	// The client honours 429 and retries until acknowledged.
	total := statuses[http.StatusOK] * 900
	for _, evs := range pending {
		res, err := s.Admin.PostEvents(t.Context(), evs)
		if err != nil || res.Accepted != len(evs) {
			t.Fatalf("client delivery: %+v, %v", res, err)
		}
		total += len(evs)
	}
	_, stored := s.eventIDs(t, "id:bp-*")
	if stored != int64(total) {
		t.Errorf("stored %d events, sent %d", stored, total)
	}
}
