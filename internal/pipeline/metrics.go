package pipeline

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	received, rejectedBusy, stored, duplicates prometheus.Counter
	storeErrors, alertsRaised                  prometheus.Counter
	detectSeconds, writeSeconds                prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, p *Pipeline) metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "pipeline", Name: name, Help: help})
	}
	hist := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vigil", Subsystem: "pipeline", Name: name, Help: help,
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		})
	}
	m := metrics{
		received:      counter("events_received_total", "Events submitted to the pipeline."),
		rejectedBusy:  counter("events_rejected_busy_total", "Events refused because the pipeline was at capacity (HTTP 429)."),
		stored:        counter("events_stored_total", "Events newly written to the event store."),
		duplicates:    counter("events_duplicate_total", "Events already stored (retried deliveries), acknowledged without a second copy."),
		storeErrors:   counter("store_errors_total", "Failed event-store writes; their batches were not acknowledged."),
		alertsRaised:  counter("alerts_raised_total", "New alerts created (repeats merged into open alerts are not counted)."),
		detectSeconds: hist("detect_seconds", "Time to run detection over one submitted batch."),
		writeSeconds:  hist("store_write_seconds", "Time of one group-committed event-store write."),
	}
	if reg != nil {
		reg.MustRegister(m.received, m.rejectedBusy, m.stored, m.duplicates, m.storeErrors, m.alertsRaised,
			m.detectSeconds.(prometheus.Collector), m.writeSeconds.(prometheus.Collector),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vigil", Subsystem: "pipeline", Name: "inflight_events",
				Help: "Events accepted and not yet acknowledged (the queue depth)."}, func() float64 { return float64(p.InFlight()) }))
	}
	return m
}
