// Package winevent holds a Windows event record as the readers of Windows
// events produce it (the EVTX reader, the JSON `{"Event":{...}}` shape, read
// by ParseJSON) and turns it into a normalised event (Normalizer):
// logsource from channel, provider and event id, field names from the
// Windows-to-Sigma mapping, both from internal/fieldmap's tables.
//
// It must not depend on the readers that fill it.
package winevent

import (
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// Record is one Windows event before normalisation.
type Record struct {
	// System holds the <System> element flattened: child elements by name
	// ("EventID", "Channel", "Computer", "Level", "Task", "Keywords",
	// "EventRecordID"), attributes as Element_Attribute ("Provider_Name",
	// "TimeCreated_SystemTime", "Execution_ProcessID", "Security_UserID").
	// An element that has both text and attributes keeps its text under its
	// own name.
	System []event.Field
	// Data holds EventData's <Data Name="x">v</Data> items as fields named x
	// (unnamed items are named Data1, Data2, ...), or UserData's innermost
	// elements by name.
	Data []event.Field
	// Time is System/TimeCreated/@SystemTime when present.
	Time time.Time
	// RecordID is System/EventRecordID (or the EVTX record header's id).
	RecordID uint64
}
