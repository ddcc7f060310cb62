package server

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsoc/vigil/internal/store"
)

func tlsListener(ln net.Listener, cfg *tls.Config) net.Listener { return tls.NewListener(ln, cfg) }

// storeCollector exports the event store's size. Stats may scan, so a
// scrape reuses a reading less than ten seconds old.
type storeCollector struct {
	events store.EventStore
	count  *prometheus.Desc
	bytes  *prometheus.Desc

	mu   sync.Mutex
	last store.StoreStats
	at   time.Time
}

func newStoreCollector(events store.EventStore) *storeCollector {
	return &storeCollector{
		events: events,
		count:  prometheus.NewDesc("vigil_store_events", "Events in the event store.", nil, nil),
		bytes:  prometheus.NewDesc("vigil_store_bytes", "Size of the event store in bytes.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.count
	ch <- c.bytes
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.at) > 10*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if st, err := c.events.Stats(ctx); err == nil {
			c.last, c.at = st, time.Now()
		}
		cancel()
	}
	st := c.last
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(st.Events))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(st.Bytes))
}
