package match

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode/utf8"
)

// checkRegexConstructs names PCRE constructs that RE2 cannot run, with their
// offset, before regexp.Compile reports them in its own terms. Go accepts
// everything else the specification's PCRE subset allows (and more: \d, \s,
// \w, \b, non-capturing and named groups, lazy quantifiers).
func checkRegexConstructs(expr string) error {
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c == '\\' {
			if i+1 < len(expr) && !inClass {
				n := expr[i+1]
				switch {
				case n >= '1' && n <= '9':
					return regexErr(i, `backreference \`+string(n)+` is not supported (RE2)`)
				case n == 'k' && i+2 < len(expr) && (expr[i+2] == '<' || expr[i+2] == '{' || expr[i+2] == '\''):
					return regexErr(i, `named backreference \k is not supported (RE2)`)
				case n == 'K':
					return regexErr(i, `\K (match reset) is not supported (RE2)`)
				case n == 'Z':
					return regexErr(i, `\Z is not supported; use \z or $`)
				case n == 'G':
					return regexErr(i, `\G is not supported (RE2)`)
				case n == 'R':
					return regexErr(i, `\R is not supported; use (?:\r\n|\n|\r)`)
				}
			}
			i++
			continue
		}
		if inClass {
			if c == ']' {
				inClass = false
			}
			continue
		}
		switch c {
		case '[':
			inClass = true
			if strings.HasPrefix(expr[i+1:], "^]") {
				i += 2
			} else if strings.HasPrefix(expr[i+1:], "]") {
				i++
			}
		case '(':
			rest := expr[i+1:]
			switch {
			case strings.HasPrefix(rest, "?="):
				return regexErr(i, "lookahead (?= is not supported (RE2)")
			case strings.HasPrefix(rest, "?!"):
				return regexErr(i, "negative lookahead (?! is not supported (RE2)")
			case strings.HasPrefix(rest, "?<="):
				return regexErr(i, "lookbehind (?<= is not supported (RE2)")
			case strings.HasPrefix(rest, "?<!"):
				return regexErr(i, "negative lookbehind (?<! is not supported (RE2)")
			case strings.HasPrefix(rest, "?>"):
				return regexErr(i, "atomic group (?> is not supported (RE2)")
			case strings.HasPrefix(rest, "?|"):
				return regexErr(i, "branch reset group (?| is not supported (RE2)")
			case strings.HasPrefix(rest, "?R") || strings.HasPrefix(rest, "?&") ||
				len(rest) > 1 && rest[0] == '?' && (rest[1] >= '0' && rest[1] <= '9' || rest[1] == '+' || rest[1] == '-' && len(rest) > 2 && rest[2] >= '0' && rest[2] <= '9'):
				return regexErr(i, "recursion/subroutine call is not supported (RE2)")
			case strings.HasPrefix(rest, "?#"):
				return regexErr(i, "comment group (?# is not supported (RE2)")
			case strings.HasPrefix(rest, "*"):
				return regexErr(i, "backtracking verb (* is not supported (RE2)")
			}
		case '*', '+', '?', '}':
			if i+1 < len(expr) && expr[i+1] == '+' && (c != '}' || strings.Contains(expr[:i], "{")) {
				return regexErr(i, "possessive quantifier "+string(c)+"+ is not supported (RE2)")
			}
		}
	}
	return nil
}

func regexErr(off int, msg string) error {
	return &Error{ModIndex: -1, ValueIndex: -1, Offset: off, Msg: msg, Err: ErrRegex}
}

func describeRegexError(se *syntax.Error) string {
	return string(se.Code) + ": `" + se.Expr + "`"
}

// maxRegexLits bounds the literal set taken from an alternation; a larger
// set indexes poorly and is reported as no set.
const maxRegexLits = 64

// regexLiterals derives a set of lower-cased literals one of which every
// match of expr contains: literals of a concatenation's best part, the union
// over an alternation's branches, nothing through optional parts.
func regexLiterals(expr string) ([]string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	lits, ok := requiredLits(re.Simplify())
	if !ok || len(lits) == 0 {
		return nil, false
	}
	for _, l := range lits {
		if l == "" {
			return nil, false
		}
	}
	return dedupe(lits), true
}

// maxRequiredSets and maxRequiredLits bound the prefilter a regexPred
// runs before the regexp engine.
const (
	maxRequiredSets = 4
	maxRequiredLits = 4
)

// regexRequiredSets derives literal sets that every match of expr must each
// hit: one per necessary part of a concatenation (`\s-\s*<` needs both "-"
// and "<"), where regexLiterals keeps only the best part for the index. Text
// missing any set is rejected without running the regexp. Sets are
// lower-cased, small, and at most maxRequiredSets, cheapest-looking first.
func regexRequiredSets(expr string) [][]string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	var out [][]string
	for _, set := range requiredSets(re.Simplify()) {
		if len(set) == 0 || len(set) > maxRequiredLits || slices.Contains(set, "") {
			continue
		}
		set = dedupe(set)
		if !slices.ContainsFunc(out, func(o []string) bool { return slices.Equal(o, set) }) {
			out = append(out, set)
		}
	}
	// Longer literals reject more text: check them first.
	slices.SortStableFunc(out, func(a, b []string) int { return minLen(b) - minLen(a) })
	if len(out) > maxRequiredSets {
		out = out[:maxRequiredSets]
	}
	return out
}

func requiredSets(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpCapture, syntax.OpPlus:
		return requiredSets(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredSets(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		var out [][]string
		for _, sub := range re.Sub {
			out = append(out, requiredSets(sub)...)
		}
		return out
	}
	if l, ok := requiredLits(re); ok {
		return [][]string{l}
	}
	return nil
}

func requiredLits(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase != 0 {
			// Under (?i), k and s also match the Kelvin sign and long s,
			// and non-ASCII letters their other cases: keep the longest
			// run free of them.
			s = longestFoldSafeRun(s)
		} else {
			s = foldASCII(s)
		}
		if s == "" {
			return nil, false
		}
		return []string{s}, true
	case syntax.OpCapture:
		return requiredLits(re.Sub[0])
	case syntax.OpPlus:
		return requiredLits(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLits(re.Sub[0])
		}
		return nil, false
	case syntax.OpConcat:
		var best []string
		bestScore := 0
		for _, sub := range re.Sub {
			l, ok := requiredLits(sub)
			if !ok {
				continue
			}
			score := minLen(l)
			if score > bestScore || score == bestScore && len(l) < len(best) {
				best, bestScore = l, score
			}
		}
		return best, best != nil
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := requiredLits(sub)
			if !ok {
				return nil, false
			}
			all = append(all, l...)
			if len(all) > maxRegexLits {
				return nil, false
			}
		}
		return all, true
	case syntax.OpCharClass:
		// A class of one character in its cases ((?i)a gives [Aa]) acts
		// as a literal; wider classes give nothing useful.
		if len(re.Rune) == 0 || len(re.Rune) > 4 {
			return nil, false
		}
		var set []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi-lo > 1 || hi >= utf8.RuneSelf {
				return nil, false
			}
			for r := lo; r <= hi; r++ {
				set = append(set, foldASCII(string(r)))
			}
		}
		set = dedupe(set)
		if len(set) != 1 {
			return nil, false
		}
		return set, true
	}
	return nil, false
}

func minLen(ls []string) int {
	m := -1
	for _, l := range ls {
		if m < 0 || len(l) < m {
			m = len(l)
		}
	}
	return max(m, 0)
}
