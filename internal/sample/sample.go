// Package sample embeds a small real MQTT capture, decoded by
// `mqttdissect decode` when it is given no file, so a new user sees output at
// once. It is a copy of testdata/v5.pcapng (TestSampleIsTestdataCopy keeps
// them equal).
package sample

import _ "embed"

// Name is the file the sample was copied from.
const Name = "testdata/v5.pcapng"

// Capture is the pcapng file's bytes.
//
//go:embed sample.pcapng
var Capture string
