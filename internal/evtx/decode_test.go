package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/ingest/winevent"
)

// collected is a record copied out of the callback (Decode reuses it).
type collected struct {
	id     uint64
	time   time.Time
	system []event.Field
	data   []event.Field
}

func decodeAll(t *testing.T, b []byte, workers int) ([]collected, []error, Stats, error) {
	t.Helper()
	var recs []collected
	var errs []error
	st, err := Decode(context.Background(), bytes.NewReader(b), int64(len(b)), Options{
		Workers: workers,
		OnError: func(err error) { errs = append(errs, err) },
	}, func(r *winevent.Record) error {
		recs = append(recs, collected{
			id:     r.RecordID,
			time:   r.Time,
			system: append([]event.Field(nil), r.System...),
			data:   append([]event.Field(nil), r.Data...),
		})
		return nil
	})
	return recs, errs, st, err
}

func field(fs []event.Field, name string) (event.Value, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f.Value, true
		}
	}
	return event.Value{}, false
}

func TestDecodeFields(t *testing.T) {
	file := genFile(sampleChunk(1, 3, true))
	recs, errs, st, err := decodeAll(t, file, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	if want := (Stats{Chunks: 1, Records: 4, Declared: 4, Bytes: int64(len(file))}); st != want {
		t.Errorf("stats = %+v, want %+v", st, want)
	}
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	r := recs[1]
	if r.id != 2 {
		t.Errorf("record id = %d, want 2", r.id)
	}
	if want := time.Date(2019, 3, 19, 23, 34, 25, 123456700, time.UTC); !r.time.Equal(want) {
		t.Errorf("time = %v, want %v", r.time, want)
	}
	tests := []struct {
		part string
		name string
		kind event.Kind
		text string
		num  float64
	}{
		{"system", "Provider_Name", event.String, "Microsoft-Windows-Sysmon", 0},
		{"system", "Provider_Guid", event.String, "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", 0},
		{"system", "EventID", event.Number, "1", 1},
		{"system", "TimeCreated_SystemTime", event.String, "2019-03-19T23:34:25.1234567Z", 0},
		{"system", "EventRecordID", event.Number, "2", 2},
		{"system", "Keywords", event.Number, "0x8000000000000000", 0x8000000000000000},
		{"system", "Channel", event.String, "Microsoft-Windows-Sysmon/Operational", 0},
		{"system", "Computer", event.String, "HOST-1", 0},
		{"system", "Security_UserID", event.String, "S-1-5-18", 0},
		{"data", "Image", event.String, `C:\Windows\System32\cmd.exe`, 0},
		{"data", "CommandLine", event.String, `"C:\Windows\System32\cmd.exe" /c whoami`, 0},
		{"data", "ProcessId", event.Number, "4242", 4242},
		{"data", "LogonId", event.Number, "0x3e7", 999},
		{"data", "Elevated", event.Bool, "true", 0},
		{"data", "Blob", event.String, "DEAD01", 0},
		{"data", "Delta", event.Number, "-1", -1},
		{"data", "When", event.String, "2024-03-19T23:34:25.1230000Z", 0},
		{"data", "Missing", event.String, "", 0},
		{"data", "Names", event.List, "one, two", 0},
		{"data", "Size", event.Number, "0x10", 16},
		{"data", "Data1", event.String, "a<bA", 0},
	}
	for _, tt := range tests {
		fs := r.system
		if tt.part == "data" {
			fs = r.data
		}
		v, ok := field(fs, tt.name)
		if !ok {
			t.Errorf("%s field %s missing", tt.part, tt.name)
			continue
		}
		if v.Kind != tt.kind || v.Text() != tt.text || (tt.kind == event.Number && v.Num != tt.num) {
			t.Errorf("%s = %v %q (%v), want %v %q (%v)", tt.name, v.Kind, v.Text(), v.Num, tt.kind, tt.text, tt.num)
		}
	}
	for _, name := range []string{"Event_xmlns", "xmlns", "Name"} {
		if _, ok := field(r.data, name); ok {
			t.Errorf("namespace or Name attribute leaked as field %s", name)
		}
	}

	u := recs[3]
	if v, _ := field(u.system, "EventID"); v.Text() != "104" {
		t.Errorf("UserData record EventID = %q, want 104", v.Text())
	}
	wantData := []event.Field{
		{Name: "SubjectUserName", Value: event.S("bob")},
		{Name: "Error_Code", Value: event.S("5")},
	}
	if fmt.Sprint(u.data) != fmt.Sprint(wantData) {
		t.Errorf("UserData fields = %v, want %v", u.data, wantData)
	}
}

// TestWorkersKeepOrder decodes a many-chunk file with several worker counts;
// every count must deliver the same records in file order.
func TestWorkersKeepOrder(t *testing.T) {
	var chunks [][]byte
	for i := range 12 {
		chunks = append(chunks, sampleChunk(uint64(1+i*5), 5, false))
	}
	file := genFile(chunks...)
	for _, workers := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			recs, errs, st, err := decodeAll(t, file, workers)
			if err != nil || len(errs) != 0 {
				t.Fatalf("err %v, corrupt %v", err, errs)
			}
			if st.Records != 60 || st.Declared != 60 || st.Chunks != 12 {
				t.Errorf("stats = %+v", st)
			}
			for i, r := range recs {
				if r.id != uint64(i+1) {
					t.Fatalf("record %d has id %d, want %d", i, r.id, i+1)
				}
			}
		})
	}
}

// recordOffsets returns the chunk-relative offsets of a chunk's records.
func recordOffsets(c []byte) []int {
	var offs []int
	free := int(binary.LittleEndian.Uint32(c[48:]))
	for pos := chunkHeaderSize; pos+8 <= free; {
		offs = append(offs, pos)
		pos += int(binary.LittleEndian.Uint32(c[pos+4:]))
	}
	return offs
}

func TestCorruption(t *testing.T) {
	const chunk0, chunk1 = fileHeaderSize, fileHeaderSize + chunkSize
	tests := []struct {
		name    string
		corrupt func(file []byte) // file has 2 chunks of 3 records, ids 1..6
		wantIDs []uint64
		// want lists the expected errors: sentinel, offset, record id.
		want []CorruptError
	}{
		{
			name: "record binary XML",
			corrupt: func(f []byte) {
				rec := chunk0 + recordOffsets(f[chunk0:])[1]
				f[rec+recordHeaderLen] = 0x77 // fragment header token
			},
			wantIDs: []uint64{1, 3, 4, 5, 6},
			want: []CorruptError{
				{Offset: chunk0 + 52, Chunk: 0, Err: ErrChecksum},
				{Offset: -1, Chunk: 0, RecordID: 2, Err: ErrBinXML},
			},
		},
		{
			name: "record size copy",
			corrupt: func(f []byte) {
				rec := chunk0 + recordOffsets(f[chunk0:])[2]
				size := int(binary.LittleEndian.Uint32(f[rec+4:]))
				f[rec+size-4]++
				fixChunkCRC(f[chunk0 : chunk0+chunkSize])
			},
			wantIDs: []uint64{1, 2, 4, 5, 6},
			want:    []CorruptError{{Offset: -2, Chunk: 0, RecordID: 3, Err: ErrTruncated}},
		},
		{
			name: "record signature",
			corrupt: func(f []byte) {
				rec := chunk1 + recordOffsets(f[chunk1:])[0]
				f[rec] = 'X'
				fixChunkCRC(f[chunk1 : chunk1+chunkSize])
			},
			wantIDs: []uint64{1, 2, 3, 5, 6},
			want:    []CorruptError{{Offset: chunk1 + chunkHeaderSize, Chunk: 1, Err: ErrSignature}},
		},
		{
			// The records checksum still vouches for the records.
			name:    "chunk header",
			corrupt: func(f []byte) { f[chunk1+60] ^= 0xff },
			wantIDs: []uint64{1, 2, 3, 4, 5, 6},
			want:    []CorruptError{{Offset: chunk1 + 124, Chunk: 1, Err: ErrChecksum}},
		},
		{
			name:    "chunk free space offset",
			corrupt: func(f []byte) { f[chunk1+48]-- },
			wantIDs: []uint64{1, 2, 3},
			want:    []CorruptError{{Offset: chunk1 + 124, Chunk: 1, Err: ErrChecksum}},
		},
		{
			name: "chunk header and records",
			corrupt: func(f []byte) {
				f[chunk1+60] ^= 0xff
				f[chunk1+recordOffsets(f[chunk1:])[1]+100] ^= 0xff
			},
			wantIDs: []uint64{1, 2, 3},
			want:    []CorruptError{{Offset: chunk1 + 124, Chunk: 1, Err: ErrChecksum}},
		},
		{
			name:    "file header",
			corrupt: func(f []byte) { f[50] ^= 1 },
			wantIDs: []uint64{1, 2, 3, 4, 5, 6},
			want:    []CorruptError{{Offset: 124, Chunk: -1, Err: ErrChecksum}},
		},
		{
			name:    "truncated last chunk",
			corrupt: func(f []byte) {},
			wantIDs: []uint64{1, 2, 3},
			want:    []CorruptError{{Offset: chunk1, Chunk: 1, Err: ErrTruncated}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, workers := range []int{1, 2} {
				file := genFile(sampleChunk(1, 3, false), sampleChunk(4, 3, false))
				tt.corrupt(file)
				if tt.name == "truncated last chunk" {
					file = file[:chunk1+1000]
				}
				recs, errs, st, err := decodeAll(t, file, workers)
				if err != nil {
					t.Fatal(err)
				}
				var ids []uint64
				for _, r := range recs {
					ids = append(ids, r.id)
				}
				if fmt.Sprint(ids) != fmt.Sprint(tt.wantIDs) {
					t.Errorf("workers %d: ids = %v, want %v", workers, ids, tt.wantIDs)
				}
				if st.Corrupt != len(errs) || len(errs) != len(tt.want) {
					t.Fatalf("workers %d: errors %v (stats %d), want %d", workers, errs, st.Corrupt, len(tt.want))
				}
				for i, w := range tt.want {
					var ce *CorruptError
					if !errors.As(errs[i], &ce) {
						t.Fatalf("error %v is not a *CorruptError", errs[i])
					}
					if !errors.Is(ce, w.Err) || ce.Chunk != w.Chunk || ce.RecordID != w.RecordID {
						t.Errorf("error %d = %v, want %v chunk %d record %d", i, ce, w.Err, w.Chunk, w.RecordID)
					}
					switch w.Offset {
					case -1: // inside record 2 of chunk 0: at its binary XML
						rec := int64(chunk0 + recordOffsets(file[chunk0:])[1])
						if ce.Offset != rec+recordHeaderLen {
							t.Errorf("offset %d, want %d", ce.Offset, rec+recordHeaderLen)
						}
					case -2: // the size copy of record 3
						rec := chunk0 + recordOffsets(file[chunk0:])[2]
						size := int(binary.LittleEndian.Uint32(file[rec+4:]))
						if ce.Offset != int64(rec+size-4) {
							t.Errorf("offset %d, want %d", ce.Offset, rec+size-4)
						}
					default:
						if ce.Offset != w.Offset {
							t.Errorf("offset %d, want %d", ce.Offset, w.Offset)
						}
					}
				}
			}
		})
	}
}

func TestNotEVTX(t *testing.T) {
	for _, in := range []string{"", "ElfFil", `{"Event":{}}`, strings.Repeat("x", 5000)} {
		_, err := Decode(context.Background(), strings.NewReader(in), int64(len(in)), Options{}, func(*winevent.Record) error { return nil })
		if !errors.Is(err, ErrNotEVTX) {
			t.Errorf("Decode(%.10q) = %v, want ErrNotEVTX", in, err)
		}
	}
	short := genFile()[:100]
	_, err := Decode(context.Background(), bytes.NewReader(short), int64(len(short)), Options{}, func(*winevent.Record) error { return nil })
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated header: %v, want ErrTruncated", err)
	}
}

func TestCallbackErrorStops(t *testing.T) {
	var chunks [][]byte
	for i := range 6 {
		chunks = append(chunks, sampleChunk(uint64(1+i*3), 3, false))
	}
	file := genFile(chunks...)
	stop := errors.New("stop")
	for _, workers := range []int{1, 2} {
		n := 0
		st, err := Decode(context.Background(), bytes.NewReader(file), int64(len(file)), Options{Workers: workers}, func(*winevent.Record) error {
			n++
			if n == 4 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 4 || st.Records != 4 {
			t.Errorf("workers %d: err %v after %d records (stats %d), want stop after 4", workers, err, n, st.Records)
		}
	}
}

func TestContextCancel(t *testing.T) {
	file := genFile(sampleChunk(1, 3, false), sampleChunk(4, 3, false), sampleChunk(7, 3, false))
	for _, workers := range []int{1, 2} {
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		_, err := Decode(ctx, bytes.NewReader(file), int64(len(file)), Options{Workers: workers}, func(*winevent.Record) error {
			n++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || n > 3 {
			t.Errorf("workers %d: err %v after %d records, want context.Canceled within the first chunk", workers, err, n)
		}
	}
}

func TestDecodeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.evtx")
	if err := os.WriteFile(path, genFile(sampleChunk(1, 2, true)), 0o600); err != nil {
		t.Fatal(err)
	}
	n := 0
	st, err := DecodeFile(context.Background(), path, Options{}, func(*winevent.Record) error { n++; return nil })
	if err != nil || n != 3 || st.Records != 3 {
		t.Errorf("DecodeFile: %v, %d records, stats %+v", err, n, st)
	}
	if _, err := DecodeFile(context.Background(), filepath.Join(t.TempDir(), "none.evtx"), Options{}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

// TestDecoderReuse decodes different files with one Decoder; each must
// come out as a fresh Decoder decodes it, whatever came before.
func TestDecoderReuse(t *testing.T) {
	files := [][]byte{
		genFile(sampleChunk(1, 3, true), sampleChunk(5, 2, false)),
		genFile(sampleChunk(100, 1, false)),
		genFile(sampleChunk(7, 2, true), sampleChunk(10, 4, true), sampleChunk(15, 1, false)),
	}
	for _, workers := range []int{1, 2} {
		dec := NewDecoder(Options{Workers: workers})
		for i, f := range files {
			want, _, _, _ := decodeAll(t, f, workers)
			var got []collected
			_, err := dec.Decode(context.Background(), bytes.NewReader(f), int64(len(f)), func(r *winevent.Record) error {
				got = append(got, collected{id: r.RecordID, time: r.Time, system: slices.Clone(r.System), data: slices.Clone(r.Data)})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
				t.Errorf("workers %d file %d: reused decoder gave\n%v\nwant\n%v", workers, i, got, want)
			}
		}
	}
}

// TestExpansionBomb: a template substituting one nested BinXml value many
// times, nested as deep as allowed, would replay 16^8 times; the record is
// reported corrupt instead and the next one is read.
func TestExpansionBomb(t *testing.T) {
	bombTemplate := func(e *emitter) {
		e.open("Event", false)
		e.closeStart()
		for range 16 {
			e.subst(0, typeBinXML, false)
		}
		e.end()
	}
	var defOff int
	var level func(n int) func(e *emitter)
	level = func(n int) func(e *emitter) {
		return func(e *emitter) {
			e.raw(0x0f, 0x01, 0x01, 0x00)
			if n == 0 {
				e.leaf("System", func() { e.leaf("EventID", func() { e.text("1") }) })
				return
			}
			e.templateInstance(defOff, nil, []tvalue{{typ: typeBinXML, nested: level(n - 1)}})
		}
	}
	c := genChunk(1, []genRecord{
		{id: 1, body: func(e *emitter) {
			e.raw(0x0f, 0x01, 0x01, 0x00)
			defOff = e.templateInstance(0, bombTemplate, []tvalue{{typ: typeBinXML, nested: level(0)}})
		}},
		{id: 2, body: level(maxNestedBinXML)},
		{id: 3, body: func(e *emitter) {
			e.raw(0x0f, 0x01, 0x01, 0x00)
			e.templateInstance(0, sysmonTemplate, sysmonValues(3, "a.exe"))
		}},
	})
	recs, errs, _, err := decodeAll(t, genFile(c), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].id != 1 || recs[1].id != 3 {
		t.Errorf("records %v, want records 1 and 3", recs)
	}
	var ce *CorruptError
	if len(errs) != 1 || !errors.As(errs[0], &ce) || ce.RecordID != 2 || !errors.Is(ce, ErrBinXML) || !strings.Contains(ce.Error(), "too many") {
		t.Errorf("errors %v, want one ErrBinXML for record 2", errs)
	}
}

// TestRenderBomb: one 20 KB value substituted 100 times would render 2 MB
// for a 20 KB record; it is reported corrupt instead.
func TestRenderBomb(t *testing.T) {
	tmpl := func(e *emitter) {
		e.open("Event", false)
		e.closeStart()
		e.leaf("System", func() {
			for range 100 {
				e.leaf("Computer", func() { e.subst(0, typeString, false) })
			}
		})
		e.end()
	}
	c := genChunk(1, []genRecord{{id: 1, body: func(e *emitter) {
		e.raw(0x0f, 0x01, 0x01, 0x00)
		e.templateInstance(0, tmpl, []tvalue{{typ: typeString, data: utf16le(strings.Repeat("x", 10000))}})
	}}})
	recs, errs, _, err := decodeAll(t, genFile(c), 1)
	if err != nil || len(recs) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "too much") {
		t.Errorf("err %v, %d records, errors %v; want one 'too much value data' error", err, len(recs), errs)
	}
}
