#!/usr/bin/env bash
# .ci/wireshark-versions.sh - real Wireshark builds for testing the generated
# Lua dissector (see .ci/wireshark-versions.md).
#
# Builds (or reuses) minimal Debian chroots that each hold one packaged TShark
# and installs a wrapper command per version, /usr/local/bin/tshark-X.Y, that
# runs that TShark as an unprivileged user on files from the work tree.
#
#   bash .ci/wireshark-versions.sh                      # create/reuse all, print table
#   bash .ci/wireshark-versions.sh --versions "3.4 4.6" # only these
#   bash .ci/wireshark-versions.sh --check              # table only, changes nothing
#   bash .ci/wireshark-versions.sh --remove             # delete chroots and wrappers
#
# Environment: WS_CHROOT_BASE (default /var/cache/mqttdissect/chroots),
# WS_BIN_DIR (default /usr/local/bin), WS_MIRROR (default: derived from the
# host's apt sources).
set -euo pipefail

CHROOT_BASE=${WS_CHROOT_BASE:-/var/cache/mqttdissect/chroots}
BIN_DIR=${WS_BIN_DIR:-/usr/local/bin}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
RUN_USER=wsuser
# Bump when the way a chroot is prepared changes: older chroots are rebuilt.
SETUP_REV=1
MARKER_NAME=.mqttdissect-ready

# version -> where it comes from. "host" is the machine's own tshark
# (Debian 12 bookworm; CI installs it with apt-get).
ALL_VERSIONS="3.4 4.0 4.4 4.6"
declare -A SUITE=([3.4]=bullseye [4.0]=host [4.4]=trixie [4.6]=sid)
declare -A DEBIAN=([3.4]="Debian 11 bullseye" [4.0]="Debian 12 bookworm (host)"
                   [4.4]="Debian 13 trixie" [4.6]="Debian unstable sid")

log()  { printf '[wireshark-versions] %s\n' "$*" >&2; }
die()  { log "error: $*"; exit 1; }

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0"
}

# ---------------------------------------------------------------- arguments
MODE=setup
VERSIONS=$ALL_VERSIONS
while [ $# -gt 0 ]; do
	case $1 in
		--versions) [ $# -ge 2 ] || die "--versions needs a list"; VERSIONS=$2; shift 2 ;;
		--versions=*) VERSIONS=${1#*=}; shift ;;
		--check) MODE=check; shift ;;
		--remove) MODE=remove; shift ;;
		-h|--help) usage; exit 0 ;;
		*) die "unknown argument: $1 (try --help)" ;;
	esac
done
VERSIONS=$(echo "$VERSIONS" | tr ',' ' ')
for v in $VERSIONS; do
	[ -n "${SUITE[$v]:-}" ] || die "unknown version '$v' (known: $ALL_VERSIONS)"
done
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap/chroot)"

root_of()    { echo "$CHROOT_BASE/${SUITE[$1]}"; }
wrapper_of() { echo "$BIN_DIR/tshark-$1"; }

# ------------------------------------------------------------------ mounts
# Every mount this script needs is made inside a private mount namespace
# (unshare), so it disappears with the process even if that is killed. Where
# unshare is not allowed we mount directly and unmount on the way out.
if unshare --mount --propagation private true 2>/dev/null; then
	HAVE_UNSHARE=1
else
	HAVE_UNSHARE=0
fi

# Unmount everything at or below $1 (deepest first).
umount_below() {
	local dir=$1 m
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd -P)
	awk '{ print $2 }' /proc/self/mounts | sed 's/\\040/ /g' |
		{ grep -E "^${dir//./\\.}(/|$)" || true; } | sort -r |
		while IFS= read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" || true
		done
}

# Run a command in a private mount namespace (or plainly, see above).
in_ns() {
	if [ "$HAVE_UNSHARE" = 1 ]; then
		unshare --mount --propagation private -- "$@"
	else
		"$@"
	fi
}

# in_chroot ROOT CMD...: run CMD as root inside ROOT with /proc mounted.
in_chroot() {
	local root=$1 rc=0; shift
	local envv=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C
		DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true)
	if [ "$HAVE_UNSHARE" = 1 ]; then
		unshare --mount --propagation private -- /bin/sh -c \
			'r=$1; shift; mount -t proc proc "$r/proc" && exec chroot "$r" "$@"' \
			sh "$root" "${envv[@]}" "$@"
	else
		mount -t proc proc "$root/proc"
		chroot "$root" "${envv[@]}" "$@" || rc=$?
		umount "$root/proc" || umount -l "$root/proc" || true
		return "$rc"
	fi
}

# ------------------------------------------------------------- host side
ensure_host_tools() {
	local need=()
	command -v debootstrap >/dev/null || need+=(debootstrap)
	command -v gpgv >/dev/null || need+=(gpgv)
	command -v wget >/dev/null || need+=(wget)
	[ -s "$KEYRING" ] || need+=(debian-archive-keyring)
	[ ${#need[@]} -eq 0 ] && return 0
	log "installing on the host: ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 ||
		{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2; }
}

# The Debian mirror the host's apt uses: the URI of the first enabled "deb"
# source for the host's own release (not -security/-updates).
detect_mirror() {
	if [ -n "${WS_MIRROR:-}" ]; then echo "${WS_MIRROR%/}"; return; fi
	local codename f uri=
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || die "cannot tell the host's Debian codename from /etc/os-release"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v cn="$codename" '$1 == "deb" && $3 == cn { print $2; exit }')
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ]; then
		for f in /etc/apt/sources.list.d/*.sources; do
			[ -r "$f" ] || continue
			uri=$(awk -v cn="$codename" '
				function flush() {
					if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no")
						for (i = 1; i <= ns; i++) if (s[i] == cn) { split(uris, u, " "); print u[1]; found = 1; exit }
					types = uris = ""; ns = 0; enabled = "yes"
				}
				BEGIN { enabled = "yes" }
				/^[ \t]*#/ { next }
				/^[ \t]*$/ { flush(); next }
				{
					key = tolower($1); sub(/:$/, "", key)
					val = $0; sub(/^[^:]*:[ \t]*/, "", val); gsub(/[ \t]+/, " ", val)
					if (key == "types") types = val
					else if (key == "uris") uris = val
					else if (key == "suites") ns = split(val, s, " ")
					else if (key == "enabled") enabled = val
				}
				END { if (!found) flush() }' "$f")
			[ -n "$uri" ] && break
		done
	fi
	[ -n "$uri" ] || die "no 'deb' source for $codename in the host's apt sources; set WS_MIRROR"
	echo "${uri%/}"
}

# Check that SUITE is on MIRROR and its InRelease verifies with the keyring;
# if the signature does not verify, upgrade debian-archive-keyring once.
preflight_suite() {
	local mirror=$1 suite=$2 tmp
	tmp=$(mktemp -d)
	if ! wget -q -O "$tmp/InRelease" "$mirror/dists/$suite/InRelease"; then
		rm -rf "$tmp"
		die "$suite is not on $mirror (dists/$suite/InRelease not found)"
	fi
	if ! gpgv --status-fd 1 --keyring "$KEYRING" "$tmp/InRelease" 2>/dev/null | grep -q '^\[GNUPG:\] VALIDSIG'; then
		log "$suite: Release signature not verifiable with $KEYRING; upgrading debian-archive-keyring"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --only-upgrade debian-archive-keyring >&2 || true
		gpgv --status-fd 1 --keyring "$KEYRING" "$tmp/InRelease" 2>/dev/null | grep -q '^\[GNUPG:\] VALIDSIG' ||
			{ rm -rf "$tmp"; die "$suite: Release signature does not verify with $KEYRING"; }
	fi
	rm -rf "$tmp"
}

# -------------------------------------------------------------- chroots
# A chroot is complete only when its marker says so (written last).
chroot_ready() {
	local root=$1
	[ -f "$root/$MARKER_NAME" ] && grep -qx "setup_rev=$SETUP_REV" "$root/$MARKER_NAME" &&
		[ -x "$root/usr/bin/tshark" ] && grep -q "^$RUN_USER:" "$root/etc/passwd"
}

# Build one chroot from scratch (runs in the background, output to a log).
build_chroot() {
	local ver=$1 mirror=$2 suite root uid gid line lua
	suite=${SUITE[$ver]}
	root=$(root_of "$ver")
	log "$ver: building $suite chroot in $root"

	umount_below "$root"
	rm -rf --one-file-system "$root"
	mkdir -p "$root"

	local dbopts=(--variant=minbase --components=main --keyring="$KEYRING")
	in_ns debootstrap "${dbopts[@]}" "$suite" "$root" "$mirror"

	# Device nodes: debootstrap makes them with mknod; insist on the two
	# tshark and apt really use.
	local dev
	for dev in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
		local name=${dev%%:*} rest=${dev#*:}
		if [ ! -c "$root/dev/$name" ]; then
			rm -f "$root/dev/$name"
			mknod -m 666 "$root/dev/$name" c "${rest%%:*}" "${rest#*:}"
		fi
	done

	# apt/dpkg settings: no recommends, no docs/man/locales, no services.
	cat >"$root/etc/apt/apt.conf.d/90mqttdissect" <<-EOF
		APT::Install-Recommends "false";
		APT::Install-Suggests "false";
		Acquire::Languages "none";
		Dpkg::Use-Pty "false";
	EOF
	if [ "$suite" = sid ]; then
		# The mirror's copy of unstable may carry an expired Valid-Until date.
		# Accept that for sid only; signatures are still verified.
		echo 'Acquire::Check-Valid-Until "false";' >>"$root/etc/apt/apt.conf.d/90mqttdissect"
	fi
	cat >"$root/etc/dpkg/dpkg.cfg.d/90mqttdissect" <<-EOF
		force-unsafe-io
		path-exclude=/usr/share/doc/*
		path-include=/usr/share/doc/*/copyright
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"

	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
		in_chroot "$root" debconf-set-selections
	in_chroot "$root" apt-get -q update
	in_chroot "$root" apt-get -q -y --no-install-recommends install tshark
	in_chroot "$root" apt-get clean
	rm -rf "$root"/var/lib/apt/lists/*_Packages* "$root"/var/lib/apt/lists/*_Translation-*

	in_chroot "$root" useradd --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$RUN_USER"
	uid=$(awk -F: -v u="$RUN_USER" '$1 == u { print $3 }' "$root/etc/passwd")
	gid=$(awk -F: -v u="$RUN_USER" '$1 == u { print $4 }' "$root/etc/passwd")

	# Verify: tshark -v as the unprivileged user, with the expected version.
	local out
	out=$(TSHARK_ROOT=$root TSHARK_UID=$uid TSHARK_GID=$gid run_tshark -v) ||
		{ printf '%s\n' "$out"; die "$ver: 'tshark -v' failed in $root"; }
	line=$(printf '%s\n' "$out" | head -n1)
	lua=$(lua_of "$out")
	case $line in
		"TShark (Wireshark) $ver."*) ;;
		*) die "$ver: $suite now ships '$line', not $ver.x; update the table in $0" ;;
	esac
	[ -n "$lua" ] || die "$ver: tshark in $suite is built without Lua"

	{
		echo "setup_rev=$SETUP_REV"
		echo "suite=$suite"
		echo "mirror=$mirror"
		echo "uid=$uid"
		echo "gid=$gid"
		echo "tshark=$line"
		echo "lua=$lua"
		echo "package=$(chroot "$root" dpkg-query -W -f '${Version}' tshark)"
		echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	} >"$root/$MARKER_NAME.tmp"
	mv "$root/$MARKER_NAME.tmp" "$root/$MARKER_NAME"
	log "$ver: ready: $line, Lua $lua"
}

# "with Lua 5.2.4" / "Lua 5.4.6" in tshark -v (lines may be wrapped).
lua_of() {
	printf '%s\n' "$1" | tr '\n' ' ' | grep -oE 'Lua [0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1 | cut -d' ' -f2
}

# ------------------------------------------------------------- wrappers
# The wrapper body. It is written once per version with ROOT, UID and GID
# filled in, and is self-contained (it does not need this repository).
wrapper_body() {
	cat <<'EOF'
set -u
label=${0##*/}
if [ "$(id -u)" != 0 ]; then
	echo "$label: must run as root (it uses chroot to drop to uid $TSHARK_UID)" >&2
	exit 126
fi
if [ ! -x "$TSHARK_ROOT/usr/bin/tshark" ]; then
	echo "$label: no tshark in $TSHARK_ROOT; run .ci/wireshark-versions.sh" >&2
	exit 127
fi

# Per-call scratch directory inside the root, readable by the user:
#   in/N/NAME  copies of the input files named on the command line
#   out/N/NAME files tshark writes (-w), copied back afterwards
#   home       HOME, so no personal configuration or plugins are picked up
base="${TSHARK_ROOT%/}/tmp"
work=$(mktemp -d "$base/tshark-run.XXXXXX") || exit 125
trap 'rm -rf --one-file-system "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 755 "$work"
mkdir -m 755 "$work/in" "$work/out" "$work/home"
chown "$TSHARK_UID:$TSHARK_GID" "$work/out" "$work/home"
inner=${work#"${TSHARK_ROOT%/}"}

n=0
outs=()
# stage_in PATH: copy an existing file in; REPLY = its path as tshark sees it.
stage_in() {
	REPLY=$1
	[ -f "$1" ] || return 0
	n=$((n + 1))
	mkdir -m 755 "$work/in/$n"
	cp -- "$1" "$work/in/$n/" || exit 125
	chmod a+r "$work/in/$n/${1##*/}"
	REPLY="$inner/in/$n/${1##*/}"
}
# stage_out PATH: where tshark writes; copied back to PATH afterwards.
stage_out() {
	REPLY=$1
	[ "$1" = - ] && return 0
	n=$((n + 1))
	mkdir -m 755 "$work/out/$n"
	chown "$TSHARK_UID:$TSHARK_GID" "$work/out/$n"
	outs+=("$work/out/$n/${1##*/}" "$1")
	REPLY="$inner/out/$n/${1##*/}"
}
# stage_x VALUE: -X lua_script:PATH (other -X values unchanged).
stage_x() {
	case $1 in
		lua_script:*) stage_in "${1#lua_script:}"; REPLY="lua_script:$REPLY" ;;
		*) REPLY=$1 ;;
	esac
}
# stage_o VALUE: -o pref:PATH when PATH is an existing file.
stage_o() {
	REPLY=$1
	case $1 in
		*:*) [ -f "${1#*:}" ] && { stage_in "${1#*:}"; REPLY="${1%%:*}:$REPLY"; } ;;
	esac
	return 0
}

args=()
want=
for a in "$@"; do
	if [ -n "$want" ]; then
		"$want" "$a"; args+=("$REPLY"); want=; continue
	fi
	case $a in
		-r|--read-file|-H) want=stage_in; args+=("$a") ;;
		-w) want=stage_out; args+=("$a") ;;
		-X) want=stage_x; args+=("$a") ;;
		-o) want=stage_o; args+=("$a") ;;
		--read-file=*) stage_in "${a#*=}"; args+=("--read-file=$REPLY") ;;
		-r?*) stage_in "${a#-r}"; args+=("-r$REPLY") ;;
		-w?*) stage_out "${a#-w}"; args+=("-w$REPLY") ;;
		-X?*) stage_x "${a#-X}"; args+=("-X$REPLY") ;;
		-*) args+=("$a") ;;
		*/*) stage_in "$a"; args+=("$REPLY") ;;
		*) args+=("$a") ;;
	esac
done

cmd=(chroot --userspec="$TSHARK_UID:$TSHARK_GID" --groups="$TSHARK_GID" "$TSHARK_ROOT"
	/usr/bin/env -i PATH=/usr/bin:/bin HOME="$inner/home" XDG_CONFIG_HOME="$inner/home/.config"
	TMPDIR="$inner/home" LC_ALL=C.UTF-8 TZ="${TZ:-UTC}"
	/bin/sh -c 'cd "$HOME" && exec tshark "$@"' tshark "${args[@]}")
if [ "$TSHARK_ROOT" != / ] && [ "$TSHARK_PROC" = 1 ]; then
	unshare --mount --propagation private -- /bin/sh -c \
		'r=$1; shift; mount -t proc proc "$r/proc" && exec "$@"' sh "$TSHARK_ROOT" "${cmd[@]}"
else
	"${cmd[@]}"
fi
rc=$?
i=0
while [ $i -lt ${#outs[@]} ]; do
	[ -f "${outs[$i]}" ] && { cp -- "${outs[$i]}" "${outs[$((i + 1))]}" || rc=125; }
	i=$((i + 2))
done
exit $rc
EOF
}

# Run tshark from a root before the wrapper file exists (used to verify).
run_tshark() {
	TSHARK_PROC=${TSHARK_PROC:-$NEED_PROC} bash -c "$(wrapper_body)" tshark-verify "$@"
}

write_wrapper() {
	local ver=$1 root=$2 uid=$3 gid=$4 what=$5 dest tmp
	dest=$(wrapper_of "$ver")
	mkdir -p "$BIN_DIR"
	tmp=$(mktemp "$dest.XXXXXX")
	{
		echo '#!/usr/bin/env bash'
		echo "# tshark-$ver: $what"
		echo "# Generated by .ci/wireshark-versions.sh; rerun it rather than editing."
		echo "# Runs TShark inside $root as uid $uid; files named on the command line"
		echo "# (-r, -X lua_script:, -H, -o pref:file, paths with a slash) are copied in,"
		echo "# -w outputs are copied back."
		echo "TSHARK_ROOT='$root'"
		echo "TSHARK_UID=$uid"
		echo "TSHARK_GID=$gid"
		echo "TSHARK_PROC=$NEED_PROC"
		wrapper_body
	} >"$tmp"
	chmod 755 "$tmp"
	mv "$tmp" "$dest"
}

# tshark needs no /proc inside the chroot for what CI does (reading files,
# loading Lua); without it -v merely omits CPU/memory details. Set
# WS_CHROOT_PROC=1 to have the wrappers mount it (privately) anyway.
NEED_PROC=${WS_CHROOT_PROC:-0}
[ "$HAVE_UNSHARE" = 1 ] || NEED_PROC=0

# The host's own tshark (4.0 on bookworm), run as nobody.
host_tshark_ok() {
	command -v tshark >/dev/null 2>&1 && [ -x /usr/bin/tshark ] &&
		/usr/bin/tshark -v 2>/dev/null | head -n1 | grep -q "^TShark (Wireshark) $1\."
}

# ------------------------------------------------------------------ table
print_table() {
	local v w line lua where out fail=0
	printf '%-5s %-22s %-72s %-7s %s\n' VER DEBIAN "TSHARK -v (first line)" LUA "COMMAND / ROOT"
	for v in $VERSIONS; do
		w=$(wrapper_of "$v")
		if [ "${SUITE[$v]}" = host ]; then where=/; else where=$(root_of "$v"); fi
		if [ -x "$w" ] && out=$("$w" -v 2>&1); then
			line=$(printf '%s\n' "$out" | head -n1)
			lua=$(lua_of "$out")
		else
			line="(missing: run .ci/wireshark-versions.sh)"; lua=-; fail=1
		fi
		printf '%-5s %-22s %-72s %-7s %s\n' "$v" "${DEBIAN[$v]% (host)}" "$line" "${lua:--}" "$w -> $where"
	done
	return $fail
}

# ------------------------------------------------------------------ modes
do_remove() {
	local v root
	for v in $VERSIONS; do
		rm -f "$(wrapper_of "$v")"
		[ "${SUITE[$v]}" = host ] && continue
		root=$(root_of "$v")
		if [ -e "$root" ]; then
			log "$v: removing $root"
			umount_below "$root"
			rm -rf --one-file-system "$root"
		fi
		rm -f "$CHROOT_BASE/${SUITE[$v]}.log"
	done
	umount_below "$CHROOT_BASE"
	rmdir "$CHROOT_BASE" 2>/dev/null || true
	if [ -d "$CHROOT_BASE" ] && [ "$(find "$CHROOT_BASE" -mindepth 1 -maxdepth 1 ! -name .lock | wc -l)" = 0 ]; then
		rm -f "$CHROOT_BASE/.lock"
		rmdir "$CHROOT_BASE"
	fi
	return 0
}

do_setup() {
	local v root mirror="" pids=() vers=() failed=() start
	mkdir -p "$CHROOT_BASE"
	exec 9>"$CHROOT_BASE/.lock"
	flock -n 9 || { log "waiting for another run to finish"; flock 9; }

	# Which chroots must be (re)built?
	local todo=()
	for v in $VERSIONS; do
		[ "${SUITE[$v]}" = host ] && continue
		if chroot_ready "$(root_of "$v")"; then
			log "$v: reusing $(root_of "$v")"
		else
			todo+=("$v")
		fi
	done

	if [ ${#todo[@]} -gt 0 ]; then
		ensure_host_tools
		mirror=$(detect_mirror)
		log "mirror (from the host's apt sources): $mirror"
		for v in "${todo[@]}"; do preflight_suite "$mirror" "${SUITE[$v]}"; done

		# Build in parallel; each job gets its own process group (set -m) so an
		# interrupt can stop it whole. Mounts live in private namespaces.
		set -m
		trap 'for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done; umount_below "$CHROOT_BASE"; exit 130' INT TERM
		start=$SECONDS
		for v in "${todo[@]}"; do
			( build_chroot "$v" "$mirror" ) >"$CHROOT_BASE/${SUITE[$v]}.log" 2>&1 &
			pids+=($!); vers+=("$v")
			log "$v: started (log: $CHROOT_BASE/${SUITE[$v]}.log)"
		done
		local i p pid rc running=("${pids[@]}") still
		while [ ${#running[@]} -gt 0 ]; do
			pid=; rc=0
			wait -n -p pid "${running[@]}" || rc=$?
			[ -n "$pid" ] || die "lost track of the build jobs (wait returned $rc)"
			still=()
			for p in "${running[@]}"; do [ "$p" = "$pid" ] || still+=("$p"); done
			running=("${still[@]}")
			for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$pid" ] && v=${vers[$i]}; done
			if [ "$rc" = 0 ]; then
				log "$v: done after $((SECONDS - start))s"
			else
				failed+=("$v")
				log "$v: FAILED after $((SECONDS - start))s; last lines of the log:"
				tail -n 25 "$CHROOT_BASE/${SUITE[$v]}.log" | sed 's/^/    /' >&2
			fi
		done
		set +m
		trap - INT TERM
	fi

	# Wrappers (always rewritten: cheap and keeps them in step with this script).
	for v in $VERSIONS; do
		if [ "${SUITE[$v]}" = host ]; then
			if host_tshark_ok "$v"; then
				write_wrapper "$v" / "$(id -u nobody)" "$(id -g nobody)" "host /usr/bin/tshark run as nobody"
			else
				log "$v: the host has no tshark $v.x (CI installs it with 'apt-get install -y tshark'); skipped"
				rm -f "$(wrapper_of "$v")"
			fi
			continue
		fi
		root=$(root_of "$v")
		if chroot_ready "$root"; then
			write_wrapper "$v" "$root" "$(sed -n 's/^uid=//p' "$root/$MARKER_NAME")" \
				"$(sed -n 's/^gid=//p' "$root/$MARKER_NAME")" "${DEBIAN[$v]} chroot"
		fi
	done
	umount_below "$CHROOT_BASE"

	print_table || true
	[ ${#failed[@]} -eq 0 ] || die "could not build: ${failed[*]}"
	for v in $VERSIONS; do
		[ "${SUITE[$v]}" = host ] && continue
		chroot_ready "$(root_of "$v")" || die "$v is not ready"
	done
}

case $MODE in
	setup) do_setup ;;
	check) print_table ;;
	remove) do_remove ;;
esac
