package match

// Anchor says where in a text a sufficient literal must occur.
type Anchor uint8

// Anchors; AnchorStart|AnchorEnd means the whole text.
const (
	AnchorNone  Anchor = 0
	AnchorStart Anchor = 1
	AnchorEnd   Anchor = 2
)

// SufficientLiteral is a literal whose presence alone makes a Matcher
// match.
type SufficientLiteral struct {
	Lit    string // ASCII-lower-cased
	Anchor Anchor
}

// Sufficient returns literals any one of which, occurring where its anchor
// says in the ASCII-lower-cased text of a non-null value (of any item, for
// a list value), makes Match true. It is the converse of Literals: the
// engine uses it to rule out rules whose exclusion filters certainly hold
// ("and not Image|startswith: C:\Windows\System32\"). Only plain,
// case-insensitive equals, startswith, endswith and contains values give
// any; the result may be empty and is the caller's.
func (m *Matcher) Sufficient() []SufficientLiteral {
	if m.never || m.exists || m.all || m.neq {
		return nil
	}
	var out []SufficientLiteral
	add := func(lit string, a Anchor) {
		if lit != "" {
			out = append(out, SufficientLiteral{Lit: foldASCII(lit), Anchor: a})
		}
	}
	for _, p := range m.flat {
		switch p := p.(type) {
		case *containsAnyPred:
			for _, l := range p.lits {
				add(l, AnchorNone)
			}
		case *textPred:
			switch t := p.m.(type) {
			case *equalText:
				if t.fold {
					add(t.p, AnchorStart|AnchorEnd)
				}
			case *prefixText:
				if t.fold {
					add(t.p, AnchorStart)
				}
			case *suffixText:
				if t.fold {
					add(t.p, AnchorEnd)
				}
			case *containsText:
				if t.sub.fold {
					add(t.sub.p, AnchorNone)
				}
			}
		}
	}
	return out
}
