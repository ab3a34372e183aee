package dissect

import (
	"strconv"
)

// Output of the layers under MQTT: JSONL's "transport", "websocket" and
// "tls" keys, and the WebSocket and TLS lines -V prints before the MQTT
// tree, in tshark's wording.

// appendViaJSON appends `,"transport":"ws",...` for packets that did not
// travel over plain TCP; plain TCP packets keep the schema unchanged.
func appendViaJSON(b []byte, pdu *PDU) []byte {
	v := pdu.Via
	if v == nil || v.Transport == TransportTCP {
		return b
	}
	b = append(b, `,"transport":"`...)
	b = append(b, v.Transport.String()...)
	b = append(b, '"')
	if v.TLS != nil {
		b = append(b, `,"tls":{"version":`...)
		b = appendJSONString(b, TLSVersionName(v.TLS.Version))
		b = append(b, `,"cipher_suite":`...)
		b = appendJSONString(b, CipherSuiteName(v.TLS.Suite))
		b = append(b, '}')
	}
	if v.WS != nil {
		b = append(b, `,"websocket":[`...)
		for i, kv := range v.WS.WSFields() {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `["`...)
			b = append(b, kv[0].(string)...)
			b = append(b, `",`...)
			switch x := kv[1].(type) {
			case bool:
				b = strconv.AppendBool(b, x)
			case uint64:
				b = strconv.AppendUint(b, x, 10)
			case string:
				b = appendJSONString(b, x)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return b
}

// appendViaTree appends the TLS and WebSocket lines of -V.
func appendViaTree(b []byte, pdu *PDU) []byte {
	v := pdu.Via
	if v == nil {
		return b
	}
	if v.TLS != nil {
		b = append(b, "Transport Layer Security, "...)
		b = append(b, TLSVersionName(v.TLS.Version)...)
		b = append(b, ", "...)
		b = append(b, CipherSuiteName(v.TLS.Suite)...)
		b = append(b, '\n')
	}
	if w := v.WS; w != nil {
		b = append(b, "WebSocket"...)
		if w.Frame != pdu.Frame {
			// The frame's header came in an earlier capture frame.
			b = append(b, " (header in frame "...)
			b = strconv.AppendInt(b, int64(w.Frame), 10)
			b = append(b, ')')
		}
		b = append(b, '\n')
		b = appendWSLine(b, 0x80, bitVal(w.Fin), "Fin: "+boolTitle(w.Fin))
		b = appendWSLine(b, 0x70, uint64(w.RSV)<<4, "Reserved: 0x"+strconv.FormatUint(uint64(w.RSV), 16))
		b = appendWSLine(b, 0x0f, uint64(w.Opcode), "Opcode: "+w.OpcodeName()+" ("+strconv.Itoa(int(w.Opcode))+")")
		b = appendWSLine(b, 0x80, bitVal(w.Masked), "Mask: "+boolTitle(w.Masked))
		plen := "Payload length: " + strconv.Itoa(int(w.Len7))
		switch w.Len7 {
		case 126:
			plen += " Extended Payload Length (16 bits)"
		case 127:
			plen += " Extended Payload Length (64 bits)"
		}
		b = appendWSLine(b, 0x7f, uint64(w.Len7), plen)
		switch w.Len7 {
		case 126:
			b = append(b, "    Extended Payload length (16 bits): "...)
			b = strconv.AppendUint(b, w.PayloadLen, 10)
			b = append(b, '\n')
		case 127:
			b = append(b, "    Extended Payload length (64 bits): "...)
			b = strconv.AppendUint(b, w.PayloadLen, 10)
			b = append(b, '\n')
		}
		if w.Masked {
			b = append(b, "    Masking-Key: "...)
			b = append(b, hexBytes(w.MaskKey[:])...)
			b = append(b, '\n')
		}
	}
	return b
}

func appendWSLine(b []byte, mask uint32, v uint64, text string) []byte {
	b = append(b, "    "...)
	b = append(b, bitPattern(mask, v)...)
	b = append(b, " = "...)
	b = append(b, text...)
	return append(b, '\n')
}

func bitVal(x bool) uint64 {
	if x {
		return 0x80
	}
	return 0
}

func boolTitle(x bool) string {
	if x {
		return "True"
	}
	return "False"
}
