package largecap

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var writeDir = flag.String("largecap.dir", "", "write the large captures into this directory (for measuring by hand)")

// TestWrite writes the captures when -largecap.dir is given:
//
//	go test ./internal/largecap -run TestWrite -largecap.dir /tmp/caps
func TestWrite(t *testing.T) {
	if *writeDir == "" {
		t.Skip("no -largecap.dir")
	}
	for name, data := range map[string][]byte{
		"publish-3MB.pcap":            Publish(3 * MB),
		"publish-20MB.pcap":           Publish(20 * MB),
		"v5-user-properties.pcap":     V5Properties(MB),
		"v5-unknown-property.pcap":    V5UnknownProperty(MB),
		"connect-will-password.pcap":  Will(),
		"publish-3MB-high-bytes.pcap": PublishPayload(highBytes(3 * MB)),
	} {
		if err := os.WriteFile(filepath.Join(*writeDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestShapes checks the captures hold what their names say.
func TestShapes(t *testing.T) {
	p := Publish(3 * MB)
	if len(p) < 3*MB || len(p) > 3*MB+3*MB/MSS*100+10000 {
		t.Errorf("Publish(3 MB) is %d bytes", len(p))
	}
	if n := len(Text(1000)); n != 1000 {
		t.Errorf("Text(1000) has %d bytes", n)
	}
}

// highBytes is n bytes from 0x80 to 0xFF: none of them well-formed UTF-8.
func highBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0x80 + byte(i%128)
	}
	return b
}
