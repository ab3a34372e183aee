package spec

import "testing"

func TestPlausibleFirstByte(t *testing.T) {
	for b, want := range map[uint8]bool{
		0x10: true,  // CONNECT
		0x12: false, // CONNECT with reserved flags
		0x30: true,  // PUBLISH QoS 0
		0x3d: true,  // PUBLISH DUP, QoS 2, retain
		0x36: false, // PUBLISH QoS 3 (reserved)
		0x62: true,  // PUBREL as 3.1.1 requires
		0x82: true,  // SUBSCRIBE as 3.1.1 requires
		0x86: false, // SUBSCRIBE QoS 3 under the 3.1 reading, wrong flags in 3.1.1
		0xc0: true,  // PINGREQ
		0x00: false, // type 0 is reserved
		0xf0: true,  // AUTH
	} {
		if got := PlausibleFirstByte(b); got != want {
			t.Errorf("PlausibleFirstByte(%#02x) = %v, want %v", b, got, want)
		}
	}
}

// TestTableIsConsistent checks what both readers rely on.
func TestTableIsConsistent(t *testing.T) {
	seen := map[string]*Field{}
	for i, f := range Fields {
		if f.Index() != i {
			t.Errorf("%s: Index() = %d, want %d", f.Abbrev, f.Index(), i)
		}
		if g, ok := seen[f.Abbrev]; ok && g.Type != f.Type {
			t.Errorf("%s registered twice with types %v and %v", f.Abbrev, g.Type, f.Type)
		}
		seen[f.Abbrev] = f
		if f.Type == FTBool && (f.Mask == 0) != (f.BoolBits == 0) {
			t.Errorf("%s: a masked boolean needs a bit width, an unmasked one none", f.Abbrev)
		}
	}
	var walk func(els []Element)
	walk = func(els []Element) {
		for _, e := range els {
			if e.Field != nil && e.Field.Index() < 0 {
				t.Errorf("layout uses %s, which is not in Fields", e.Field.Abbrev)
			}
			for _, b := range e.Bits {
				if b.Index() < 0 {
					t.Errorf("bit field %s is not in Fields", b.Abbrev)
				}
			}
			walk(e.Elements)
		}
	}
	for i, p := range Packets {
		if int(p.Type) != i || p.Name == "" || len(p.Flags) == 0 {
			t.Errorf("Packets[%d] = %s (type %d, %d flag layouts)", i, p.Name, p.Type, len(p.Flags))
		}
		walk(p.Body)
	}
	if len(Properties) != 27 {
		t.Errorf("%d properties, MQTT 5.0 has 27", len(Properties))
	}
	for _, p := range Properties {
		walk(p.Value)
		if PropertyByID(p.ID) != p || p.In == 0 {
			t.Errorf("property %#02x %s: lookup or contexts wrong", p.ID, p.Name)
		}
	}
}
