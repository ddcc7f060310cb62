package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/vigilsoc/vigil/internal/ingest/winevent"
)

// usedBytes sums the record bytes of a file's chunks (chunk header to free
// space offset): files are mostly preallocated empty chunks, so MB/s over
// file size flatters the reader; usedMB/s is the rate on real data.
func usedBytes(f []byte) int64 {
	var n int64
	for off := fileHeaderSize; off+chunkSize <= len(f); off += chunkSize {
		if bytes.Equal(f[off:off+8], chunkSignature) {
			n += int64(min(binary.LittleEndian.Uint32(f[off+48:]), chunkSize))
		}
	}
	return n
}

func benchDecode(b *testing.B, files [][]byte, workers int) {
	var total, used int64
	for _, f := range files {
		total += int64(len(f))
		used += usedBytes(f)
	}
	b.SetBytes(total)
	b.ReportAllocs()
	records := 0
	dec := NewDecoder(Options{Workers: workers})
	for b.Loop() {
		records = 0
		for _, f := range files {
			st, err := dec.Decode(context.Background(), bytes.NewReader(f), int64(len(f)), func(*winevent.Record) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			records += st.Records
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(used)*float64(b.N)/1e6/b.Elapsed().Seconds(), "usedMB/s")
}

// BenchmarkDecodeCorpus decodes the whole shared corpus from memory.
func BenchmarkDecodeCorpus(b *testing.B) {
	var files [][]byte
	for _, p := range corpusFiles(b) {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchDecode(b, files, workers) })
	}
}

// BenchmarkDecodeCrafted needs no corpus: 16 chunks of 100 records each.
func BenchmarkDecodeCrafted(b *testing.B) {
	var chunks [][]byte
	for i := range 16 {
		chunks = append(chunks, sampleChunk(uint64(1+i*100), 100, false))
	}
	file := genFile(chunks...)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchDecode(b, [][]byte{file}, workers) })
	}
}
