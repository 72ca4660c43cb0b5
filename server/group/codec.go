package group

import "github.com/vsdb/vsdb/vsync"

// marshalMessage encodes one vsync message for an envelope body (vsync's own wire format).
func marshalMessage(m *vsync.Message) ([]byte, error) { return m.Marshal() }

// unmarshalMessage decodes an envelope body.
func unmarshalMessage(b []byte, m *vsync.Message) error { return m.Unmarshal(b) }
