package tensorio

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// A small parser for the Python literals that appear in .npy headers:
// dicts, tuples, lists, str, int (with an optional Python 2 'L' suffix),
// True, False and None. It is what ast.literal_eval would accept for such
// headers, minus floats, bytes and sets, which a header never holds.

type (
	pyTuple []any
	pyList  []any
	pyNone  struct{}
	pyDict  struct {
		keys []string // in order of appearance
		m    map[string]any
	}
)

const maxPyDepth = 32

type pyParser struct {
	s   []byte
	pos int
}

func (p *pyParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *pyParser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			p.pos++
		default:
			return
		}
	}
}

// value parses one literal; leading space must already be skipped.
func (p *pyParser) value(depth int) (any, error) {
	if depth > maxPyDepth {
		return nil, p.errorf("literal nested deeper than %d", maxPyDepth)
	}
	if p.pos >= len(p.s) {
		return nil, p.errorf("unexpected end of header")
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.dict(depth)
	case c == '(':
		items, trailingComma, err := p.sequence(depth, ')')
		if err != nil {
			return nil, err
		}
		if len(items) == 1 && !trailingComma {
			return items[0], nil // parenthesized expression, not a tuple
		}
		return pyTuple(items), nil
	case c == '[':
		items, _, err := p.sequence(depth, ']')
		return pyList(items), err
	case c == '\'' || c == '"':
		return p.str()
	case c == '-' || c == '+' || ('0' <= c && c <= '9'):
		return p.int()
	case isIdentStart(c):
		start := p.pos
		for p.pos < len(p.s) && (isIdentStart(p.s[p.pos]) || ('0' <= p.s[p.pos] && p.s[p.pos] <= '9')) {
			p.pos++
		}
		switch word := string(p.s[start:p.pos]); word {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return pyNone{}, nil
		default:
			p.pos = start
			return nil, p.errorf("unexpected name %q", word)
		}
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// sequence parses comma-separated values up to the closing byte, starting
// at the opening bracket.
func (p *pyParser) sequence(depth int, close byte) (items []any, trailingComma bool, err error) {
	p.pos++ // opening bracket
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == close {
			p.pos++
			return items, trailingComma, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, false, err
		}
		items = append(items, v)
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, false, p.errorf("missing %q", close)
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
			trailingComma = true
		case close:
			p.pos++
			return items, false, nil
		default:
			return nil, false, p.errorf("want ',' or %q, found %q", close, p.s[p.pos])
		}
	}
}

func (p *pyParser) dict(depth int) (any, error) {
	d := pyDict{m: map[string]any{}}
	p.pos++ // '{'
	for {
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return d, nil
		}
		keyPos := p.pos
		k, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			p.pos = keyPos
			return nil, p.errorf("dict key is a %s, not a str", pyTypeName(k))
		}
		if _, dup := d.m[key]; dup {
			p.pos = keyPos
			return nil, p.errorf("duplicate key %q", key)
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			return nil, p.errorf("want ':' after key %q", key)
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, key)
		d.m[key] = v
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, p.errorf("missing '}'")
		}
		switch p.s[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return d, nil
		default:
			return nil, p.errorf("want ',' or '}', found %q", p.s[p.pos])
		}
	}
}

func (p *pyParser) int() (any, error) {
	start := p.pos
	neg := false
	if c := p.s[p.pos]; c == '-' || c == '+' {
		neg = c == '-'
		p.pos++
	}
	digits := p.pos
	var n uint64
	for p.pos < len(p.s) && '0' <= p.s[p.pos] && p.s[p.pos] <= '9' {
		if n > (math.MaxInt64-9)/10 {
			p.pos = start
			return nil, p.errorf("integer too large")
		}
		n = n*10 + uint64(p.s[p.pos]-'0')
		p.pos++
	}
	if p.pos == digits {
		p.pos = start
		return nil, p.errorf("bad number")
	}
	if p.s[digits] == '0' && p.pos-digits > 1 {
		p.pos = start
		return nil, p.errorf("integer with a leading zero")
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'L' || p.s[p.pos] == 'l') {
		p.pos++ // Python 2 long, as old NumPy wrote shapes
	}
	if p.pos < len(p.s) && (isIdentStart(p.s[p.pos]) || p.s[p.pos] == '.') {
		return nil, p.errorf("unsupported number literal")
	}
	if neg {
		return -int64(n), nil
	}
	return int64(n), nil
}

// str parses a quoted string with the common escapes. Triple quotes and
// string prefixes are not supported.
func (p *pyParser) str() (any, error) {
	q := p.s[p.pos]
	start := p.pos
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			p.pos = start
			return nil, p.errorf("unterminated string")
		}
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), nil
		case c == '\n' || c == '\r':
			return nil, p.errorf("newline in string")
		case c != '\\':
			b.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.s) {
			return nil, p.errorf("unterminated string")
		}
		e := p.s[p.pos+1]
		p.pos += 2
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if p.pos+n > len(p.s) {
				return nil, p.errorf("short \\%c escape", e)
			}
			var r rune
			for _, h := range p.s[p.pos : p.pos+n] {
				v := hexVal(h)
				if v < 0 {
					return nil, p.errorf("bad \\%c escape", e)
				}
				r = r<<4 | rune(v)
			}
			if !utf8.ValidRune(r) {
				return nil, p.errorf("bad \\%c escape", e)
			}
			b.WriteRune(r)
			p.pos += n
		default:
			return nil, p.errorf("unsupported escape \\%c", e)
		}
	}
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

func pyTypeName(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case int64:
		return "int"
	case bool:
		return "bool"
	case pyNone:
		return "None"
	case pyTuple:
		return "tuple"
	case pyList:
		return "list"
	case pyDict:
		return "dict"
	case nil:
		return "missing value"
	}
	return fmt.Sprintf("%T", v)
}

func utf8Valid(b []byte) bool { return utf8.Valid(b) }
