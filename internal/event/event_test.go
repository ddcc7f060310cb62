package event

import (
	"encoding/json"
	"testing"
	"time"
)

func TestJSONRoundTrip(t *testing.T) {
	in := `{"id":"e1","time":"2023-03-29T10:00:00.5Z","host":"ws1","logsource":{"product":"windows","category":"process_creation"},"fields":{"Image":"C:\\a.exe","Pid":"0x10","Count":7,"Ok":true,"Gone":null,"Tags":["a",2],"process":{"parent":{"pid":4}}}}`
	var e Event
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	if e.Time != time.Date(2023, 3, 29, 10, 0, 0, 5e8, time.UTC) || e.Host != "ws1" || e.Logsource.Category != "process_creation" {
		t.Fatalf("core fields wrong: %+v", e)
	}
	want := []string{"Image", "Pid", "Count", "Ok", "Gone", "Tags", "process.parent.pid"}
	if len(e.Fields) != len(want) {
		t.Fatalf("fields = %+v", e.Fields)
	}
	for i, n := range want {
		if e.Fields[i].Name != n {
			t.Errorf("field %d = %q, want %q", i, e.Fields[i].Name, n)
		}
	}
	if v, _ := e.Get("Count"); v.Kind != Number || v.Num != 7 || v.Str != "7" {
		t.Errorf("Count = %+v", v)
	}
	if v, _ := e.Get("Pid"); func() bool { n, ok := v.Number(); return !ok || n != 16 }() {
		t.Errorf("Pid as number = %+v", v)
	}
	if v, _ := e.GetFold("image"); v.Str != `C:\a.exe` {
		t.Errorf("GetFold = %+v", v)
	}
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("re-read %s: %v", out, err)
	}
	out2, _ := json.Marshal(back)
	if string(out) != string(out2) {
		t.Errorf("round trip changed:\n%s\n%s", out, out2)
	}
}

func TestUnmarshalFieldsRejectsNonObject(t *testing.T) {
	if _, err := UnmarshalFields([]byte(`[1]`)); err == nil {
		t.Fatal("want error for array")
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2023-03-29T10:00:00Z", "2023-03-29 10:00:00.123", "1680084000", "1680084000000"} {
		if _, err := ParseTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("want error")
	}
}

func TestHexNumberKeepsText(t *testing.T) {
	e := Event{Fields: []Field{{Name: "Keywords", Value: NumText("0x8000000000000000", 9223372036854775808)}, {Name: "Pid", Value: NumText("42", 42)}}}
	got := string(MarshalFields(e.Fields))
	if want := `{"Keywords":"0x8000000000000000","Pid":42}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
