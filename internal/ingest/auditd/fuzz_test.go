package auditd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func FuzzDecode(f *testing.F) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, line := range bytes.Split(data, []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte("type=EXECVE msg=audit(1.1:1): a0[0]=4 a0[x]=41 a99999999999999999999[1]=00 msg='a=b msg='c=d'"))
	d := newDecoder(f, Config{MaxOpenEvents: 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := ParseRecord(in); err == nil && !bytes.Contains(in, []byte("msg=audit(")) {
			t.Fatalf("record without a stamp accepted: %q", in)
		}
		_, err := d.Decode(context.Background(), bytes.NewReader(in), func(ev *event.Event) error {
			out, err := json.Marshal(ev)
			if err != nil || !json.Valid(out) {
				t.Fatalf("event does not marshal: %v %s", err, out)
			}
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	})
}
