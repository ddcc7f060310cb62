package winevent

import (
	"errors"
	"strconv"
	"strings"

	"github.com/vigilsoc/vigil/internal/event"
)

// Errors of this package.
var (
	// ErrNoMappings is returned by NewNormalizer without mapping tables.
	ErrNoMappings = errors.New("winevent: no field mappings")
	// ErrNotWindowsEvent is returned by ParseJSON for JSON that has neither
	// an "Event" object nor a "System" object at its top.
	ErrNotWindowsEvent = errors.New("not a Windows event: no Event or System object")
)

// ParseJSON reads the JSON forms Windows events are exported in into a
// Record, flattened as Record documents:
//
//   - plain maps: {"Event":{"System":{"EventID":1,"Channel":"..",
//     "Provider":{"Name":".."}},"EventData":{"Image":".."}}};
//   - XML converted to JSON (xmltodict, python-evtx, PowerShell
//     ConvertTo-Json of the XML): "@Name"/"#text" pairs,
//     {"EventID":{"#text":"1","@Qualifiers":"0"}},
//     {"TimeCreated":{"@SystemTime":".."}}, and
//     {"EventData":{"Data":[{"@Name":"Image","#text":".."}, ..]}};
//   - evtx_dump's form, with attributes under "#attributes".
//
// The "Event" wrapper may be left out when "System" is at the top.
func ParseJSON(data []byte) (*Record, error) {
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	if root.kind != jObject {
		return nil, ErrNotWindowsEvent
	}
	ev := root.get("Event")
	if ev == nil || ev.kind != jObject {
		if root.get("System") == nil {
			return nil, ErrNotWindowsEvent
		}
		ev = root
	}
	rec := &Record{}
	if sys := ev.get("System"); sys != nil && sys.kind == jObject {
		for _, m := range sys.members {
			flattenSystem(&rec.System, m.key, m.val)
		}
	}
	for _, m := range ev.members {
		switch m.key {
		case "EventData":
			flattenEventData(&rec.Data, m.val)
		case "UserData":
			flattenUserData(&rec.Data, m.val)
		}
	}
	for _, f := range rec.System {
		switch f.Name {
		case "TimeCreated_SystemTime":
			if t, err := event.ParseTime(f.Value.Text()); err == nil {
				rec.Time = t
			}
		case "EventRecordID":
			if n, err := strconv.ParseUint(f.Value.Text(), 10, 64); err == nil {
				rec.RecordID = n
			}
		}
	}
	return rec, nil
}

// flattenSystem adds one System child: its text under its name, its
// attributes (and, in plain maps, its child members) as Name_Attr.
func flattenSystem(out *[]event.Field, name string, v *jnode) {
	switch v.kind {
	case jObject:
		for _, m := range v.members {
			switch {
			case m.key == "#text":
				*out = append(*out, event.Field{Name: name, Value: systemValue(name, m.val)})
			case m.key == "#attributes" && m.val.kind == jObject:
				for _, a := range m.val.members {
					flattenSystem(out, name+"_"+a.key, a.val)
				}
			case strings.HasPrefix(m.key, "@xmlns"):
			default:
				flattenSystem(out, name+"_"+strings.TrimPrefix(m.key, "@"), m.val)
			}
		}
	case jNull:
		// <Security /> and the like: present but empty, nothing to match.
	case jString:
		// A plain map may hold TimeCreated as the time text itself.
		if name == "TimeCreated" {
			name = "TimeCreated_SystemTime"
		}
		*out = append(*out, event.Field{Name: name, Value: systemValue(name, v)})
	default:
		*out = append(*out, event.Field{Name: name, Value: systemValue(name, v)})
	}
}

// systemValue keeps numbers numeric; EventID written as text in XML-derived
// JSON becomes a number too, so every shape yields the same field.
func systemValue(name string, v *jnode) event.Value {
	if name == "EventID" && v.kind == jString {
		if n, err := strconv.ParseUint(strings.TrimSpace(v.str), 10, 32); err == nil {
			return event.NumText(strings.TrimSpace(v.str), float64(n))
		}
	}
	return v.value()
}

// flattenEventData adds EventData's items by name (DataN for unnamed ones).
func flattenEventData(out *[]event.Field, v *jnode) {
	unnamed := 0
	addUnnamed := func(val event.Value) {
		unnamed++
		*out = append(*out, event.Field{Name: "Data" + strconv.Itoa(unnamed), Value: val})
	}
	var item func(it *jnode)
	item = func(it *jnode) {
		switch it.kind {
		case jObject:
			name := ""
			if n := it.get("@Name"); n != nil {
				name = n.text()
			} else if a := it.get("#attributes"); a != nil && a.get("Name") != nil {
				name = a.get("Name").text()
			} else if n := it.get("Name"); n != nil && len(it.members) <= 2 {
				name = n.text()
			}
			val := event.S("")
			for _, k := range []string{"#text", "Value", "text"} {
				if t := it.get(k); t != nil {
					val = t.value()
					break
				}
			}
			if name == "" {
				addUnnamed(val)
				return
			}
			*out = append(*out, event.Field{Name: name, Value: val})
		case jArray:
			for _, x := range it.items {
				item(x)
			}
		default:
			addUnnamed(it.value())
		}
	}
	switch v.kind {
	case jObject:
		for _, m := range v.members {
			switch {
			case m.key == "Data":
				// {"Data": [...]}, {"Data": {...}} or {"Data": "text"}.
				item(m.val)
			case m.key == "#text" && m.val.kind == jArray:
				// evtx_dump writes unnamed items as {"Data":{"#text":[..]}}
				// and sometimes directly under EventData.
				item(m.val)
			case strings.HasPrefix(m.key, "@") || m.key == "#attributes":
				// Attributes of <EventData> itself (xmlns): not data.
			default:
				if m.val.kind == jObject && m.val.get("#text") != nil && m.val.get("@Name") == nil {
					*out = append(*out, event.Field{Name: m.key, Value: m.val.get("#text").value()})
					continue
				}
				if m.val.kind == jObject {
					flattenObject(out, m.key, m.val)
					continue
				}
				*out = append(*out, event.Field{Name: m.key, Value: m.val.value()})
			}
		}
	case jArray, jString:
		item(v)
	}
}

// flattenObject flattens nested plain-map data with dots.
func flattenObject(out *[]event.Field, prefix string, v *jnode) {
	if len(v.members) == 0 {
		*out = append(*out, event.Field{Name: prefix, Value: event.NullValue()})
		return
	}
	for _, m := range v.members {
		if m.key == "Data" && v.kind == jObject && m.val.kind == jObject && m.val.get("#text") != nil {
			// <Data>text</Data> inside an object: the nested #text form.
			*out = append(*out, event.Field{Name: prefix, Value: m.val.get("#text").value()})
			continue
		}
		name := prefix + "." + strings.TrimPrefix(m.key, "@")
		if m.val.kind == jObject {
			flattenObject(out, name, m.val)
			continue
		}
		*out = append(*out, event.Field{Name: name, Value: m.val.value()})
	}
}

// flattenUserData adds UserData's innermost elements by name, skipping the
// wrapper elements and namespace attributes.
func flattenUserData(out *[]event.Field, v *jnode) {
	if v.kind != jObject {
		return
	}
	for _, m := range v.members {
		if strings.HasPrefix(m.key, "@") || m.key == "#attributes" {
			continue
		}
		switch m.val.kind {
		case jObject:
			if t := m.val.get("#text"); t != nil {
				*out = append(*out, event.Field{Name: m.key, Value: t.value()})
				continue
			}
			flattenUserData(out, m.val)
		default:
			*out = append(*out, event.Field{Name: m.key, Value: m.val.value()})
		}
	}
}

// A small ordered JSON tree: encoding/json's maps lose member order, and
// order is what makes DataN numbering and field order stable.
type jkind uint8

const (
	jNull jkind = iota
	jString
	jNumber
	jBool
	jObject
	jArray
)

type jmember struct {
	key string
	val *jnode
}

type jnode struct {
	kind    jkind
	str     string // string text, number text, "true"/"false"
	members []jmember
	items   []*jnode
}

func (n *jnode) get(key string) *jnode {
	for _, m := range n.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

func (n *jnode) text() string {
	if n.kind == jObject || n.kind == jArray {
		return ""
	}
	return n.str
}

func (n *jnode) value() event.Value {
	switch n.kind {
	case jNull:
		return event.NullValue()
	case jBool:
		return event.B(n.str == "true")
	case jNumber:
		f, _ := strconv.ParseFloat(n.str, 64)
		return event.NumText(n.str, f)
	case jArray:
		items := make([]event.Value, len(n.items))
		for i, it := range n.items {
			items[i] = it.value()
		}
		return event.L(items...)
	case jObject:
		// Objects where a scalar is expected (odd exports): keep the
		// #text when there is one, else the object as JSON text.
		if t := n.get("#text"); t != nil {
			return t.value()
		}
		var fields []event.Field
		flattenObject(&fields, "", n)
		for i := range fields {
			fields[i].Name = strings.TrimPrefix(fields[i].Name, ".")
		}
		return event.S(string(event.MarshalFields(fields)))
	}
	return event.S(n.str)
}
