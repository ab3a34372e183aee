#!/usr/bin/env bash
# Rebuild the real captures of MQTT over TLS and WebSocket in
# testdata/transport/.
#
#   sudo bash testdata/make-transport-captures.sh
#
# Makes a throwaway CA and server certificate with openssl, starts
# mosquitto with a TLS listener on 127.0.0.1:8883 and the npm broker aedes
# with a WebSocket listener on 127.0.0.1:8083 and a WebSocket-over-TLS one on
# 127.0.0.1:443 (Debian's mosquitto 2.0.11 is built without working
# websockets: "Unable to start any listening sockets"; aedes 1.2 speaks
# MQTT 3.1 and 3.1.1 only, so WebSocket runs those), records loopback
# traffic with tcpdump while MQTT.js clients run under `node --tls-keylog`,
# and writes beside each capture:
#   NAME.keys        the TLS key log (test keys of a throwaway session)
#   NAME.pcap.pdml   TLS: Wireshark's MQTT reading
#                    (tshark -o tls.keylog_file:NAME.keys -Y mqtt -T pdml -J mqtt)
#   NAME.pcap.info   TLS: Wireshark's Info column of the MQTT frames
#   NAME.pcap.wsdata WebSocket: Wireshark's unmasked payload of every
#                    WebSocket frame (frame, source port, destination port, hex)
# Wireshark reads no MQTT over WebSocket: packet-mqtt.c registers no
# ws.protocol entry, and even when a script adds one, each WebSocket message
# is dissected alone while MQTT.js writes one MQTT packet as several
# messages (a CONNECT in eight). So for ws and wss the reference is
# Wireshark's WebSocket layer, the bytes it hands up; the MQTT over them is
# read as over TCP, which the plain captures compare field by field.
#
# Every process it starts is recorded by PID and stopped on exit.
# Needs: root, mosquitto 2.x, tcpdump, tshark, openssl, node (18+), npm, ss.
set -euo pipefail

OUT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/transport
HOST=127.0.0.1
TLS_PORT=8883
WS_PORT=8083
WSS_PORT=443

log() { printf '[make-transport-captures] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ ${EUID} -eq 0 ]] || die "run as root (tcpdump needs capture rights)"
for tool in mosquitto tcpdump tshark openssl node npm ss; do
	command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool"
done

WORK=$(mktemp -d /tmp/mqtt-transport.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/pids" "$WORK/logs" "$WORK/wireshark" "$WORK/node" "$OUT_DIR"
export WIRESHARK_CONFIG_DIR="$WORK/wireshark"

cleanup() {
	local rc=$? f pid
	trap - EXIT INT TERM
	shopt -s nullglob
	for f in "$WORK"/pids/*.pid; do
		pid=$(<"$f")
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ $rc -ne 0 ]]; then
		for f in "$WORK"/logs/*.log; do
			printf '==> %s <==\n' "$(basename "$f")" >&2
			tail -n 15 "$f" >&2 || true
		done
	fi
	[[ -n ${KEEP_WORK:-} ]] && log "keeping $WORK" || rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pidfile() { printf '%s/pids/%s.pid' "$WORK" "$1"; }
stop_proc() {
	local pf pid
	pf=$(pidfile "$1")
	[[ -f $pf ]] || return 0
	pid=$(<"$pf")
	kill "-${2:-TERM}" "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$pf"
}
wait_log() {
	local i
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		[[ -f $1 ]] && grep -Eq -- "$2" "$1" && return 0
		sleep 0.1
	done
	die "timed out waiting for /$2/ in $(basename "$1")"
}
port_busy() { [[ -n $(ss -Hltn "sport = :$1") ]]; }
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		port_busy "$1" && return 0
		sleep 0.1
	done
	die "nothing listens on port $1"
}

# ---------------------------------------------------------------------------
# certificates: a throwaway CA and a server certificate for 127.0.0.1

cd "$WORK"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=mqttdissect test CA" -out ca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -sha256 \
	-extfile san.ext -out server.crt 2>/dev/null
chmod 644 server.key # mosquitto drops to its own user

# ---------------------------------------------------------------------------
# node packages (pinned)

(cd node && npm init -y >/dev/null && npm install --no-audit --no-fund mqtt@5.16.0 aedes@1.2.0 ws@8.23.1 >"$WORK/logs/npm.log" 2>&1) ||
	die "npm install failed"

cat >node/broker.mjs <<'EOF'
// aedes with a WebSocket listener and a WebSocket-over-TLS listener.
import { createServer as httpServer } from 'node:http'
import { createServer as httpsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'

const [host, wsPort, wssPort, dir] = process.argv.slice(2)
const aedes = await Aedes.createBroker()
const attach = (server) => {
  // ws selects the first subprotocol the client offers: mqtt or mqttv3.1.
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket, req) => aedes.handle(createWebSocketStream(socket), req))
}
const plain = httpServer()
attach(plain)
plain.listen(wsPort, host)
const secure = httpsServer({ key: readFileSync(`${dir}/server.key`), cert: readFileSync(`${dir}/server.crt`) })
attach(secure)
secure.listen(wssPort, host, () => console.log('broker ready'))
EOF

cat >node/client.mjs <<'EOF'
// One MQTT session: connect, subscribe, publish small and large messages,
// receive them back, disconnect. Arguments: URL MQTT-VERSION CLIENT-ID
// BIG-PAYLOAD-BYTES [TLS-VERSION [CIPHERS]].
import mqtt from 'mqtt'
import { readFileSync } from 'node:fs'

const [url, version, clientId, bigLen, tlsMax, ciphers] = process.argv.slice(2)
const opts = {
  protocolVersion: Number(version), clientId, clean: true, keepalive: 30,
  reconnectPeriod: 0, connectTimeout: 20000,
  ca: readFileSync(process.env.CA_FILE), rejectUnauthorized: true,
}
if (tlsMax) { opts.maxVersion = tlsMax; opts.minVersion = tlsMax }
if (ciphers) { opts.ciphers = ciphers }
// wss:// takes its TLS options from wsOptions.
opts.wsOptions = { ca: opts.ca, minVersion: opts.minVersion, maxVersion: opts.maxVersion, ciphers: opts.ciphers }
if (Number(version) === 3) {
  opts.protocolId = 'MQIsdp' // MQTT 3.1: MQTT.js then offers the mqttv3.1 subprotocol
}
if (Number(version) === 5) {
  opts.properties = { sessionExpiryInterval: 60 }
}
const client = mqtt.connect(url, opts)
const topic = `t/${clientId}`
const big = Buffer.alloc(Number(bigLen), 'x')
let got = 0
client.on('error', (e) => { console.error(e); process.exit(2) })
client.on('connect', () => {
  client.subscribe(`${topic}/#`, { qos: 1 }, (err) => {
    if (err) { console.error(err); process.exit(2) }
    client.publish(`${topic}/small`, 'hello', { qos: 1 })
    client.publish(`${topic}/big`, big, { qos: 0 })
  })
})
client.on('message', () => {
  if (++got === 2) client.end(false, () => process.exit(0))
})
setTimeout(() => { console.error('timeout'); process.exit(3) }, 30000)
EOF

# ---------------------------------------------------------------------------
# brokers

port_busy $TLS_PORT && die "tcp port $TLS_PORT is in use"
port_busy $WS_PORT && die "tcp port $WS_PORT is in use"
port_busy $WSS_PORT && die "tcp port $WSS_PORT is in use"
cat >mosquitto.conf <<EOF
per_listener_settings false
persistence false
allow_anonymous true
log_dest stderr
log_type all
listener $TLS_PORT $HOST
cafile $WORK/ca.crt
certfile $WORK/server.crt
keyfile $WORK/server.key
EOF
mosquitto -c mosquitto.conf >"$WORK/logs/mosquitto.log" 2>&1 &
echo $! >"$(pidfile mosquitto)"
wait_port $TLS_PORT
node node/broker.mjs $HOST $WS_PORT $WSS_PORT "$WORK" >"$WORK/logs/aedes.log" 2>&1 &
echo $! >"$(pidfile aedes)"
wait_log "$WORK/logs/aedes.log" 'broker ready' 20

# ---------------------------------------------------------------------------
# capture NAME FILTER: run the client sessions given on stdin (one per
# line: URL VERSION CLIENT-ID BIG [TLS-VERSION [CIPHERS]]) under tcpdump

capture() {
	local name=$1 filter=$2 err="$WORK/logs/tcpdump-$1.log" url ver id big max ciphers
	: >"$WORK/$name.keys"
	tcpdump -i lo -Z root -U -s 0 -w "$WORK/$name.pcap" "$filter" 2>"$err" &
	echo $! >"$(pidfile tcpdump)"
	wait_log "$err" '^tcpdump: listening on' 10
	sleep 0.5
	while read -r url ver id big max ciphers; do
		[[ -z $url ]] && continue
		log "$name: $url v$ver $id ${max:-} ${ciphers:-}"
		CA_FILE="$WORK/ca.crt" timeout 40 node --tls-keylog="$WORK/$name.keys" node/client.mjs \
			"$url" "$ver" "$id" "$big" ${max:+"$max"} ${ciphers:+"$ciphers"} >>"$WORK/logs/client.log" 2>&1 ||
			die "client $id failed"
		sleep 0.3
	done
	# On a loaded machine tcpdump lags behind the traffic: stop it only
	# once the file has stopped growing.
	local i size prev=-1
	for ((i = 0; i < 60; i++)); do
		sleep 0.5
		size=$(stat -c %s "$WORK/$name.pcap")
		[[ $size == "$prev" ]] && break
		prev=$size
	done
	stop_proc tcpdump INT
	cp "$WORK/$name.pcap" "$OUT_DIR/$name.pcap"
	cp "$WORK/$name.keys" "$OUT_DIR/$name.keys"
}

capture tls12 "tcp port $TLS_PORT" <<EOF
mqtts://$HOST:$TLS_PORT 4 tls12-aes128-v311 20000 TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256
mqtts://$HOST:$TLS_PORT 5 tls12-aes256-v5 300 TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384
mqtts://$HOST:$TLS_PORT 5 tls12-chacha-v5 300 TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305
EOF
capture tls13 "tcp port $TLS_PORT" <<EOF
mqtts://$HOST:$TLS_PORT 4 tls13-aes128-v311 300 TLSv1.3 TLS_AES_128_GCM_SHA256
mqtts://$HOST:$TLS_PORT 5 tls13-aes256-v5 20000 TLSv1.3 TLS_AES_256_GCM_SHA384
mqtts://$HOST:$TLS_PORT 5 tls13-chacha-v5 300 TLSv1.3 TLS_CHACHA20_POLY1305_SHA256
EOF
capture ws "tcp port $WS_PORT" <<EOF
ws://$HOST:$WS_PORT 4 ws-v311 20000
ws://$HOST:$WS_PORT 3 ws-v31 300
EOF
capture wss "tcp port $WSS_PORT" <<EOF
wss://$HOST:$WSS_PORT 4 wss-v311 20000 TLSv1.3
wss://$HOST:$WSS_PORT 3 wss-v31-tls12 300 TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256
EOF
rm -f "$OUT_DIR/ws.keys" # no TLS there

stop_proc aedes
stop_proc mosquitto

# ---------------------------------------------------------------------------
# Wireshark's reading

for name in tls12 tls13; do
	args=(-r "$OUT_DIR/$name.pcap" -o "tls.keylog_file:$OUT_DIR/$name.keys" -Y mqtt)
	tshark "${args[@]}" -T pdml -J mqtt 2>/dev/null >"$OUT_DIR/$name.pcap.pdml"
	tshark "${args[@]}" -T fields -e frame.number -e _ws.col.Info 2>/dev/null >"$OUT_DIR/$name.pcap.info"
	log "$name: $(wc -l <"$OUT_DIR/$name.pcap.info") MQTT frames, $(stat -c %s "$OUT_DIR/$name.pcap") bytes"
done
for name in ws wss; do
	args=(-r "$OUT_DIR/$name.pcap" -d "tcp.port==$WS_PORT,http" -Y websocket)
	[[ -f $OUT_DIR/$name.keys ]] && args+=(-o "tls.keylog_file:$OUT_DIR/$name.keys")
	tshark "${args[@]}" -T fields -E occurrence=a -E aggregator=, \
		-e frame.number -e tcp.srcport -e tcp.dstport -e data.data 2>/dev/null >"$OUT_DIR/$name.pcap.wsdata"
	log "$name: $(wc -l <"$OUT_DIR/$name.pcap.wsdata") WebSocket frames, $(stat -c %s "$OUT_DIR/$name.pcap") bytes"
done
log "done: $OUT_DIR"
