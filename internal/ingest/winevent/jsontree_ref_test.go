package winevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The first parseTree, on encoding/json's Token API: kept as the reference
// the fast one is fuzzed against.

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const refMaxDepth = 64

func refParseTree(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := refParseNode(dec, 0)
	if err != nil {
		return nil, err
	}
	// JSON whitespace only: bytes.TrimSpace also drops \v and \f, which
	// made this reference accept "0\v" (found by FuzzParseTree).
	if len(bytes.Trim(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return n, nil
}

func refParseNode(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > refMaxDepth {
		return nil, fmt.Errorf("invalid JSON: nested deeper than %d", refMaxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch t := tok.(type) {
	case nil:
		return &jnode{kind: jNull}, nil
	case bool:
		return &jnode{kind: jBool, str: strconv.FormatBool(t)}, nil
	case string:
		return &jnode{kind: jString, str: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, str: t.String()}, nil
	case json.Delim:
		switch t {
		case '{':
			n := &jnode{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %w", err)
				}
				key, _ := kt.(string)
				v, err := refParseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jmember{key, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return n, nil
		case '[':
			n := &jnode{kind: jArray}
			for dec.More() {
				v, err := refParseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON: unexpected token %v", tok)
}
