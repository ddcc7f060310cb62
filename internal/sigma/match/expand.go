package match

import "strings"

// expandPlaceholders replaces each %name% in the literal text of p by every
// configured value of name (parsed as a Sigma string, so a value may carry
// wildcards), giving the cross product. `\%` is a plain percent sign. Names
// without values are returned in unresolved and contribute no variants.
func expandPlaceholders(p pattern, values map[string][]string) (out []pattern, unresolved []string, ok bool) {
	// Split into fixed pieces and placeholder slots.
	type piece struct {
		fixed pattern
		name  string // placeholder when non-empty
	}
	var pieces []piece
	var cur pattern
	for _, t := range p {
		if t.wild != 0 {
			cur = append(cur, t)
			continue
		}
		s := t.lit
		var lit strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) && s[i+1] == '%' {
				lit.WriteByte('%')
				i++
				continue
			}
			if s[i] == '%' {
				if j := strings.IndexByte(s[i+1:], '%'); j > 0 && validPlaceholder(s[i+1:i+1+j]) {
					if lit.Len() > 0 {
						cur = append(cur, token{lit: lit.String()})
						lit.Reset()
					}
					pieces = append(pieces, piece{fixed: cur}, piece{name: s[i+1 : i+1+j]})
					cur = nil
					i += j + 1
					continue
				}
			}
			lit.WriteByte(s[i])
		}
		if lit.Len() > 0 {
			cur = append(cur, token{lit: lit.String()})
		}
	}
	pieces = append(pieces, piece{fixed: cur})

	out = []pattern{nil}
	for _, pc := range pieces {
		if pc.name == "" {
			for i := range out {
				out[i] = append(out[i][:len(out[i]):len(out[i])], pc.fixed...)
			}
			continue
		}
		vals := values[pc.name]
		if len(vals) == 0 {
			unresolved = append(unresolved, pc.name)
			continue
		}
		if len(out)*len(vals) > MaxVariants {
			return nil, nil, false
		}
		next := make([]pattern, 0, len(out)*len(vals))
		for _, o := range out {
			for _, v := range vals {
				next = append(next, append(o[:len(o):len(o)], parsePattern(v)...))
			}
		}
		out = next
	}
	if len(unresolved) > 0 {
		return nil, unresolved, true
	}
	return out, nil, true
}

// validPlaceholder accepts names of letters, digits, '_', '-' and '.'.
func validPlaceholder(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return name != ""
}
