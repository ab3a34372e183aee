#!/usr/bin/env bash
# Remake testdata/screenshots/wireshark-4.0-mqttlua-publish.png: a real
# screenshot of the Wireshark Qt GUI (run under Xvfb) decoding
# testdata/v5.pcapng with the generated Lua dissector (protocol "mqttlua"),
# with the packet-details tree of a PUBLISH that carries v5 properties
# expanded.
#
#   bash testdata/make-screenshot.sh            # from anywhere in the repo
#
# Needs (Debian 12):
#   echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
#   DEBIAN_FRONTEND=noninteractive apt-get install -y wireshark xvfb xdotool imagemagick fonts-dejavu-core
# optional: optipng or pngcrush (smaller PNG), go (to generate the plugin).
#
# Everything runs on a private X display (Xvfb, first free one from :99 up)
# with a temporary HOME holding a Wireshark profile, so your own Wireshark
# settings and plugins are neither used nor changed. Every process the script
# starts (Xvfb, wireshark) is stopped by PID on exit, also on failure/Ctrl-C.
#
# Environment:
#   WS_USER=nobody   run wireshark as that user (default: the current user;
#                    as root it switches to nobody by itself if Lua plugins
#                    do not load for root)
#   KEEP_WORK=1      keep the temporary directory (logs, profile, raw PNG)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

capture=testdata/v5.pcapng
out=testdata/screenshots/wireshark-4.0-mqttlua-publish.png
width=1280 height=800

log() { printf 'make-screenshot: %s\n' "$*"; }
die() { printf 'make-screenshot: error: %s\n' "$*" >&2; exit 1; }

missing=()
for t in wireshark tshark Xvfb xdotool import; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if ((${#missing[@]})); then
  die "missing: ${missing[*]} (apt-get install wireshark xvfb xdotool imagemagick)"
fi
[[ -r $capture ]] || die "$capture not found"

tmp=$(mktemp -d /tmp/mqtt-screenshot.XXXXXX)
xvfb_pid='' ws_pid=''
cleanup() {
  local rc=$?
  set +e
  for pid in "$ws_pid" "$xvfb_pid"; do
    [[ -n $pid ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
  done
  if [[ ${KEEP_WORK:-} == 1 ]]; then
    log "kept work directory $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 755 "$tmp"
mkdir -p "$tmp/home/.config/wireshark" "$tmp/run"
chmod 700 "$tmp/run"
cp "$capture" "$tmp/"
cap="$tmp/$(basename "$capture")"
chmod 644 "$cap"

# --- the plugin -----------------------------------------------------------
if command -v go >/dev/null 2>&1 &&
   go run ./cmd/mqttdissect lua -o "$tmp/mqtt.lua" >"$tmp/go.log" 2>&1 &&
   [[ -s $tmp/mqtt.lua ]]; then
  log "plugin: generated with 'go run ./cmd/mqttdissect lua -o \$tmp/mqtt.lua'"
else
  cp luagen/testdata/mqtt.lua "$tmp/mqtt.lua"
  log "plugin: 'go run ./cmd/mqttdissect lua' failed or go missing; using a copy of luagen/testdata/mqtt.lua"
fi
chmod 644 "$tmp/mqtt.lua"

# All Wireshark tools below run with the temporary HOME.
wsenv=(HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_RUNTIME_DIR="$tmp/run")

# --- the frame: first PUBLISH with v5 properties (built-in dissector) -------
frame=$(env "${wsenv[@]}" tshark -r "$cap" -Y 'mqtt.msgtype==3 && mqtt.properties' \
          -T fields -e frame.number 2>/dev/null | sed -n 1p)
[[ $frame =~ ^[0-9]+$ ]] || die "no PUBLISH with properties found in $capture"
log "frame: $frame"

# --- who runs wireshark: the plugin must load -----------------------------
run_as=()
plugin_loads() { # $@: prefix command (e.g. setpriv ...)
  "$@" env "${wsenv[@]}" tshark -X "lua_script:$tmp/mqtt.lua" -r "$cap" \
    -Y "frame.number==$frame && mqttlua" -T fields -e frame.number 2>/dev/null |
    grep -qx "$frame"
}
as_user() { echo setpriv --reuid="$1" --regid="$(id -gn "$1")" --clear-groups; }
if [[ -n ${WS_USER:-} ]]; then
  [[ $(id -u) == 0 ]] || die "WS_USER needs root"
  read -ra run_as <<<"$(as_user "$WS_USER")"
  chown -R "$WS_USER" "$tmp/home" "$tmp/run"
elif ! plugin_loads; then
  [[ $(id -u) == 0 ]] || die "the Lua plugin does not load (tshark -X lua_script:...)"
  log "Lua plugin does not load as root; running wireshark as nobody"
  read -ra run_as <<<"$(as_user nobody)"
  chown -R nobody "$tmp/home" "$tmp/run"
fi
plugin_loads "${run_as[@]}" || die "the Lua plugin does not load for ${WS_USER:-nobody}"
log "wireshark runs as: $(${run_as[@]+"${run_as[@]}"} id -un)"

# --- profile: window geometry, panes, no byte view, smaller zoom -------------
conf="$tmp/home/.config/wireshark"
cat >"$conf/recent_common" <<EOF
gui.geometry_main_x: 0
gui.geometry_main_y: 0
gui.geometry_main_width: $width
gui.geometry_main_height: $height
gui.geometry_main_maximized: FALSE
privs.warn_if_elevated: FALSE
EOF
cat >"$conf/recent" <<'EOF'
gui.toolbar_main_show: TRUE
gui.filter_toolbar_show: TRUE
gui.packet_list_show: TRUE
gui.tree_view_show: TRUE
gui.byte_view_show: FALSE
gui.packet_diagram_show: FALSE
gui.statusbar_show: TRUE
gui.geometry_main_upper_pane: 125
gui.geometry_main_lower_pane: 600
gui.zoom_level: -1
EOF
cat >"$conf/preferences" <<'EOF'
gui.update.enabled: FALSE
gui.layout_type: 1
EOF
[[ ${#run_as[@]} == 0 ]] || chown -R "${run_as[1]#--reuid=}" "$conf"

# --- X server ----------------------------------------------------------------
n=99
while [[ -e /tmp/.X$n-lock || -e /tmp/.X11-unix/X$n ]]; do n=$((n + 1)); done
disp=":$n"
Xvfb "$disp" -screen 0 "${width}x${height}x24" -nolisten tcp >"$tmp/xvfb.log" 2>&1 &
xvfb_pid=$!
export DISPLAY=$disp
for _ in $(seq 100); do
  xdotool getdisplaygeometry >/dev/null 2>&1 && break
  kill -0 "$xvfb_pid" 2>/dev/null || die "Xvfb exited: $(cat "$tmp/xvfb.log")"
  sleep 0.1
done
xdotool getdisplaygeometry >/dev/null 2>&1 || die "Xvfb on $disp did not come up"
log "Xvfb on $disp (pid $xvfb_pid)"

# --- wireshark ---------------------------------------------------------------
${run_as[@]+"${run_as[@]}"} env "${wsenv[@]}" DISPLAY="$disp" \
  wireshark -X "lua_script:$tmp/mqtt.lua" -r "$cap" -g "$frame" \
  >"$tmp/wireshark.log" 2>&1 &
ws_pid=$!
title=$(basename "$capture")
wid=''
for _ in $(seq 600); do
  wid=$(xdotool search --onlyvisible --name "^$title\$" 2>/dev/null | head -n1 || true)
  [[ -n $wid ]] && break
  kill -0 "$ws_pid" 2>/dev/null || die "wireshark exited: $(cat "$tmp/wireshark.log")"
  sleep 0.1
done
[[ -n $wid ]] || die "no wireshark window titled '$title' after 60 s"
log "wireshark (pid $ws_pid) window $wid"
xdotool windowmove "$wid" 0 0 windowsize "$wid" "$width" "$height"
sleep 3 # let it finish loading and select frame $frame

# Focus the packet-details pane (click below its rows), select its last
# top-level item (the MQTT/mqttlua one), expand that item and all its subtrees
# (Shift+Right = "Expand Subtrees"), then park the pointer so no row is hovered.
xdotool mousemove 640 700 click 1
sleep 0.5
xdotool key End
sleep 0.3
xdotool key shift+Right
sleep 0.5
xdotool mousemove $((width - 1)) $((height - 1))
sleep 1

# --- screenshot ----------------------------------------------------------------
import -window root "$tmp/raw.png"
mkdir -p "$(dirname "$out")"
if command -v optipng >/dev/null 2>&1; then
  optipng -quiet -o5 -strip all -out "$tmp/opt.png" "$tmp/raw.png"
elif command -v pngcrush >/dev/null 2>&1; then
  pngcrush -q -brute -rem alla "$tmp/raw.png" "$tmp/opt.png"
else
  cp "$tmp/raw.png" "$tmp/opt.png"
fi
cp "$tmp/opt.png" "$out"
if grep -qi 'lua.*error\|error.*lua' "$tmp/wireshark.log"; then
  log "warning: Lua error in wireshark output:"
  grep -i 'lua' "$tmp/wireshark.log" >&2 || true
fi
log "wrote $out ($(stat -c %s "$out") bytes, frame $frame)"
