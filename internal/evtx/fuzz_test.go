package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsoc/vigil/internal/ingest/winevent"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// fuzzCorpusSeeds adds a few small corpus files (one chunk each) as seeds,
// read at test time so the repository holds no copy of them.
func fuzzCorpusSeeds(f *testing.F, add func([]byte)) {
	f.Helper()
	files := corpusFilesOrNone()
	n := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || len(b) != fileHeaderSize+chunkSize {
			continue
		}
		add(b)
		if n++; n == 4 {
			break
		}
	}
}

// corpusFilesOrNone lists the corpus EVTX files, or none when the corpus
// is absent: a fuzz target must still run from its own seeds then.
func corpusFilesOrNone() []string {
	dir, ok := vigiltest.CorpusDir()
	if !ok {
		return nil
	}
	return evtxFilesUnder(filepath.Join(dir, "evtx"))
}

func checkDecode(t *testing.T, data []byte) {
	corrupt := 0
	st, err := Decode(context.Background(), bytes.NewReader(data), int64(len(data)), Options{
		Workers: 1,
		OnError: func(err error) {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("OnError got %T %v, want *CorruptError", err, err)
			}
			corrupt++
		},
	}, func(r *winevent.Record) error {
		if r == nil {
			t.Fatal("nil record")
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotEVTX) && !errors.Is(err, ErrTruncated) {
		t.Fatalf("Decode: unexpected fatal error %v", err)
	}
	if st.Corrupt != corrupt {
		t.Fatalf("Stats.Corrupt %d, OnError called %d times", st.Corrupt, corrupt)
	}
}

// Run the fuzz targets one at a time, for example:
//
//	go test ./internal/evtx -run '^$' -fuzz FuzzRecords -fuzztime 60s -fuzzminimizetime 10x
//
// Limit minimization: a 64 KiB chunk per execution makes the default (60 s
// per new input) eat the whole run. Keep any crasher under testdata/fuzz/.

// FuzzDecode feeds whole files to Decode: it must never panic, and only
// report corruption through OnError.
func FuzzDecode(f *testing.F) {
	f.Add(genFile(sampleChunk(1, 2, true)))
	f.Add(genFile())
	f.Add([]byte("ElfFile\x00"))
	fuzzCorpusSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(checkDecode)
}

// FuzzRecords fuzzes the records area of one chunk (everything after the
// chunk header), with the chunk's checksums fixed up so that the fuzzer's
// mutations reach the record and binary XML parsers. Inputs stay small,
// which keeps the fuzzer fast.
func FuzzRecords(f *testing.F) {
	seed := func(c []byte) {
		free := binary.LittleEndian.Uint32(c[48:])
		f.Add(bytes.Clone(c[chunkHeaderSize:free]))
	}
	seed(sampleChunk(1, 2, true))
	seed(sampleChunk(7, 1, false))
	fuzzCorpusSeeds(f, func(b []byte) {
		c := b[fileHeaderSize:]
		if free := binary.LittleEndian.Uint32(c[48:]); free > chunkHeaderSize && free <= chunkSize && free < 8192 {
			seed(c)
		}
	})
	f.Fuzz(func(t *testing.T, recs []byte) {
		if len(recs) > chunkSize-chunkHeaderSize {
			recs = recs[:chunkSize-chunkHeaderSize]
		}
		c := make([]byte, chunkSize)
		copy(c, chunkSignature)
		copy(c[chunkHeaderSize:], recs)
		binary.LittleEndian.PutUint64(c[8:], 1)
		binary.LittleEndian.PutUint64(c[16:], 100)
		binary.LittleEndian.PutUint32(c[44:], 0xffffffff)
		binary.LittleEndian.PutUint32(c[48:], uint32(chunkHeaderSize+len(recs)))
		fixChunkCRC(c)
		checkDecode(t, genFile(c))
	})
}
