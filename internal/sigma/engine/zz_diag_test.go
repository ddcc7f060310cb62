package engine

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/synth"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

func TestZZDiag(t *testing.T) {
	dir := vigiltest.Corpus(t, "sigma")
	coll := sigma.LoadPaths(filepath.Join(dir, "rules", "windows", "process_creation"))
	e, _ := New(Config{}, coll)
	evs := synth.ProcessCreation(2000, 1)
	rt := e.route(evs[0].Logsource)
	for _, fi := range rt.fields {
		g := fi.lits
		bytes, bloomHits, entries, found, shortHits, codes := 0, 0, 0, 0, 0, 0
		for _, ev := range evs {
			p := e.fields.fieldsOf(ev)[fi.fid]
			if p < 0 {
				continue
			}
			s := ev.Fields[p].Value.Str
			bytes += len(s)
			var k uint32
			for i := 0; i < len(s); i++ {
				k = k<<8 | uint32(lowerByte(s[i]))
				if i < 3 {
					continue
				}
				h := gramHash(k) >> g.shift
				if g.nkeys == 0 || g.bloom[h>>6]&(1<<(h&63)) == 0 {
					continue
				}
				bloomHits++
				es := g.long.lookup(k)
				entries += len(es)
			}
			g.scan(s, func(p int) { found++; codes += len(fi.patRules[p]) })
		}
		n := len(evs)
		fmt.Printf("%-18s bytes %4d bloomhits %.1f entries %.1f found %.1f short %.1f codes %.1f\n", fi.name, bytes/n, float64(bloomHits)/float64(n), float64(entries)/float64(n), float64(found)/float64(n), float64(shortHits)/float64(n), float64(codes)/float64(n))
	}
}

func BenchmarkZZScan(b *testing.B) {
	dir := vigiltest.Corpus(b, "sigma")
	coll := sigma.LoadPaths(filepath.Join(dir, "rules", "windows", "process_creation"))
	e, _ := New(Config{}, coll)
	evs := synth.ProcessCreation(2000, 1)
	rt := e.route(evs[0].Logsource)
	for _, name := range []string{"Hashes", "CommandLine", "Product"} {
		var fi *fieldIndex
		for i := range rt.fields {
			if rt.fields[i].name == name {
				fi = &rt.fields[i]
			}
		}
		var texts []string
		n := 0
		for _, ev := range evs {
			s := ev.Fields[e.fields.fieldsOf(ev)[fi.fid]].Value.Str
			texts = append(texts, s)
			n += len(s)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(n / len(texts)))
			i, c := 0, 0
			cpu0 := cpuTime()
			defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
			for b.Loop() {
				fi.lits.scan(texts[i], func(int) { c++ })
				i++
				if i == len(texts) {
					i = 0
				}
			}
		})
	}
}

var sink uint32

func BenchmarkZZCalib(b *testing.B) {
	s := string(make([]byte, 200))
	b.SetBytes(200)
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		var k uint32
		for i := 0; i < len(s); i++ {
			k = k*31 + uint32(s[i])
		}
		sink += k
	}
}
