package sigma

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCondition(t *testing.T) {
	names := []string{"sel", "sel_a", "sel_b", "filter_1", "filter_2", "keywords", "_hidden", "a.b-c"}
	tests := []struct {
		cond string
		want string
	}{
		{"sel", "sel"},
		{"sel and not filter_1", "(sel and not filter_1)"},
		{"sel or sel_a and sel_b", "(sel or (sel_a and sel_b))"},
		{"(sel or sel_a) and sel_b", "((sel or sel_a) and sel_b)"},
		{"not sel and sel_a", "(not sel and sel_a)"},
		{"not not sel", "not not sel"},
		{"sel and sel_a and sel_b", "(sel and sel_a and sel_b)"},
		{"sel or sel_a or sel_b", "(sel or sel_a or sel_b)"},
		{"1 of sel_*", "1 of sel_*"},
		{"all of sel_*", "all of sel_*"},
		{"any of sel_*", "1 of sel_*"},
		{"1 of them", "1 of them"},
		{"all of them and not 1 of filter*", "(all of them and not 1 of filter*)"},
		{"sel and not 1 of filter_*", "(sel and not 1 of filter_*)"},
		{"SEL_A AND NOT sel_b", ""}, // upper-case selection name: unknown
		{"sel AND NOT sel_b", "(sel and not sel_b)"},
		{"((sel))", "sel"},
		{"a.b-c and sel", "(a.b-c and sel)"},
		{"sel\n  and keywords", "(sel and keywords)"},
		{"_hidden or sel", "(_hidden or sel)"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			c, err := ParseCondition(tt.cond, names)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseCondition(%q) = %s, want error", tt.cond, c)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCondition(%q): %v", tt.cond, err)
			}
			if got := c.String(); got != tt.want {
				t.Errorf("ParseCondition(%q) = %s, want %s", tt.cond, got, tt.want)
			}
		})
	}
}

func TestParseConditionOfResolves(t *testing.T) {
	names := []string{"sel_a", "_sel_hidden", "sel_b", "filter"}
	tests := []struct {
		cond string
		want []string
	}{
		{"1 of them", []string{"sel_a", "sel_b", "filter"}},
		{"all of sel_*", []string{"sel_a", "sel_b"}},
		{"1 of *sel*", []string{"sel_a", "_sel_hidden", "sel_b"}},
		{"1 of filter", []string{"filter"}},
	}
	for _, tt := range tests {
		c, err := ParseCondition(tt.cond, names)
		if err != nil {
			t.Fatalf("%q: %v", tt.cond, err)
		}
		var got []string
		for _, a := range c.Args {
			got = append(got, a.Name)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%q resolved to %v, want %v", tt.cond, got, tt.want)
		}
	}
}

func TestParseConditionErrors(t *testing.T) {
	names := []string{"sel", "filter"}
	tests := []struct {
		cond   string
		kind   error
		offset int
		msg    string
	}{
		{"", ErrCondition, 0, "empty"},
		{"   ", ErrCondition, 0, "empty"},
		{"unknown", ErrCondition, 0, "unknown selection"},
		{"sel and nope", ErrCondition, 8, "unknown selection"},
		{"sel and", ErrCondition, 7, "end of condition"},
		{"sel or or filter", ErrCondition, 7, "unexpected"},
		{"(sel", ErrCondition, 4, "expected ')'"},
		{"sel)", ErrCondition, 3, "unexpected"},
		{"sel filter", ErrCondition, 4, "unexpected"},
		{"1 of nothing*", ErrCondition, 5, "no selection matches"},
		{"1 of", ErrCondition, 4, "after 'of'"},
		{"sel*", ErrCondition, 0, "only allowed after"},
		{"sel | count() > 5", ErrUnsupported, 4, "aggregation"},
		{"sel | count() by host > 5", ErrUnsupported, 4, "aggregation"},
		{"sel near filter", ErrCondition, 4, "unexpected"},
		{"near filter", ErrUnsupported, 0, "near"},
		{"not", ErrCondition, 3, "end of condition"},
		{"()", ErrCondition, 1, "expected a selection"},
		{strings.Repeat("(", 500) + "sel" + strings.Repeat(")", 500), ErrCondition, 200, "too deeply"},
		{strings.Repeat("not ", 500) + "sel", ErrCondition, 800, "too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			c, err := ParseCondition(tt.cond, names)
			if err == nil {
				t.Fatalf("ParseCondition(%q) = %s, want error", tt.cond, c)
			}
			var ce *ConditionError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConditionError", err)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			if ce.Offset != tt.offset {
				t.Errorf("offset = %d, want %d (%v)", ce.Offset, tt.offset, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}
