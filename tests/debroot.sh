# shellcheck shell=bash disable=SC2034 # the variables are for the callers
# tests/debroot.sh - Debian 12 and 13 roots for the container tests (bash,
# sourced).
#
# tests/package/run and tests/fresh/run need a Debian root of a given suite
# made by `debootstrap --variant=minbase`; this file makes it once per cache
# folder and names it, so each run copies the same clean system.
#
#   debroot_suites                  the suites the tests know: bookworm trixie
#   debroot_host_suite              print the host's suite (/etc/os-release)
#   debroot_set_suite SUITE         check SUITE (12 and 13 are accepted too)
#                                   and set debroot_suite and debroot_release
#                                   ("Debian 12"); a one-line error and
#                                   status 2 for any other
#   debroot_missing_caps CAP...     print those of the capabilities (names as
#                                   in capabilities(7), without CAP_) that
#                                   this process does not hold
#   debroot_host_tools PKG...       apt-get install the missing host packages
#   debroot_mirror                  print the Debian mirror to use
#   debroot_make CACHE NAME INCLUDE HOSTNAME LOG [APT]
#                                   make CACHE/root-NAME unless it is there
#                                   (debootstrap --include=INCLUDE, which may
#                                   be empty; then apt-get install APT, a
#                                   comma-separated list, inside it: for what
#                                   debootstrap cannot order, lintian's perl
#                                   modules for one); sets debroot_root
#   debroot_copy_tree TOP DEST      the source tree as a clean clone sees it
#   debroot_orig_tarball TREE       TREE/../SRC_VER.orig.tar.gz for dpkg-source
#   debroot_build_deps TOP          apt-get install the missing Build-Depends
#   debroot_build_include TOP       TOP's Build-Depends as a debootstrap
#                                   --include list (the first alternative of
#                                   each, as Debian's build daemons take it)
#
# The functions return non-zero on failure and leave the reporting to the
# caller.  A root is remade when its suite, package list or mirror changes
# (the key in ROOT/.lars-root-ready).  Concurrent runs wait on
# CACHE/.lock (at most 15 minutes) while one of them makes a root.  The
# .debs debootstrap fetches are kept in CACHE/debootstrap-SUITE/, so a
# second root of a suite, or one remade, downloads only what is new.
#
# Environment: LARS_PKG_MIRROR, the Debian mirror (default: the host's
# apt source, else deb.debian.org).

debroot_suites="bookworm trixie"
debroot_suite=bookworm
debroot_release="Debian 12"
debroot_apt_updated=0

debroot_host_suite() {
	(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-unknown}")
}

debroot_set_suite() {
	case $1 in
	bookworm | 12) debroot_suite=bookworm debroot_release="Debian 12" ;;
	trixie | 13) debroot_suite=trixie debroot_release="Debian 13" ;;
	*)
		echo "tests/${0#*tests/}: unknown suite '$1' (known: $debroot_suites)" >&2
		return 2
		;;
	esac
}

# Capability numbers of capabilities(7) for the names the tests ask about.
debroot_missing_caps() {
	local eff c n missing=""
	eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
	for c in "$@"; do
		case $c in
		chown) n=0 ;; dac_override) n=1 ;; kill) n=5 ;; setgid) n=6 ;;
		setuid) n=7 ;; net_bind_service) n=10 ;; net_admin) n=12 ;;
		net_raw) n=13 ;; sys_chroot) n=18 ;; sys_ptrace) n=19 ;;
		sys_admin) n=21 ;; mknod) n=27 ;; setfcap) n=31 ;;
		*) echo "debroot_missing_caps: unknown capability $c" >&2; return 2 ;;
		esac
		(((0x${eff:-0} >> n) & 1)) || missing="$missing CAP_$(echo "$c" | tr a-z A-Z)"
	done
	echo "${missing# }"
}

debroot_host_tools() {
	local p missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "# installing$missing"
	apt-get update -qq && debroot_apt_updated=1
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null
}

debroot_mirror() {
	local mirror=${LARS_PKG_MIRROR:-}
	if [ -z "$mirror" ]; then
		mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
			2>/dev/null | sed -n 's|^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}://[^ ]*/debian\)/\{0,1\} .*|\2|p' |
			head -n 1)
	fi
	if [ -z "$mirror" ]; then
		mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			sed -n 's|^URIs: *\(https\{0,1\}://[^ ]*/debian\)/\{0,1\}$|\1|p' |
			head -n 1)
	fi
	echo "${mirror:-http://deb.debian.org/debian}"
}

debroot_make() {
	local cache=$1 name=$2 include=$3 hostname=$4 log=$5 apt=${6:-}
	local mirror key root t0 rc=0
	mirror=$(debroot_mirror)
	key="$debroot_suite $include $mirror${apt:+ apt:$apt}"
	root=$cache/root-$name
	debroot_root=$root
	mkdir -p "$cache" || return 1
	cache=$(cd "$cache" && pwd) # debootstrap wants an absolute --cache-dir
	exec 9>"$cache/.lock"
	flock -w 900 9 || { echo "# another run holds $cache/.lock"; return 1; }
	mkdir -p "$cache/debootstrap-$debroot_suite" || return 1
	if [ -f "$root/.lars-root-ready" ] &&
		[ "$(cat "$root/.lars-root-ready")" = "$key" ]; then
		echo "# reusing the cached root $root"
	else
		t0=$(date +%s)
		echo "# debootstrap $debroot_suite${include:+ with $include} from $mirror into $root (once)"
		rm -rf "$root" "$root.new"
		if timeout 900 debootstrap --variant=minbase ${include:+--include="$include"} \
			--cache-dir="$cache/debootstrap-$debroot_suite" \
			"$debroot_suite" "$root.new" "$mirror" >"$log" 2>&1 &&
			{ [ -z "$apt" ] || timeout 900 systemd-nspawn -q --register=no --keep-unit \
				-D "$root.new" --pipe -E DEBIAN_FRONTEND=noninteractive -- sh -c \
				"apt-get update -qq && apt-get install -y -qq --no-install-recommends $(echo "$apt" | tr , ' ')" \
				</dev/null >>"$log" 2>&1; }; then
			debroot_umount_under "$root.new"
			echo "$hostname" >"$root.new/etc/hostname"
			rm -f "$root.new"/var/cache/apt/archives/*.deb
			printf '%s\n' "$key" >"$root.new/.lars-root-ready"
			mv "$root.new" "$root"
			echo "# root made in $(($(date +%s) - t0)) s"
		else
			debroot_umount_under "$root.new"
			rm -rf "$root.new"
			rc=1
		fi
	fi
	flock -u 9
	exec 9>&-
	return $rc
}

# debroot_umount_under DIR: lazily unmount what is mounted below DIR
# (debootstrap leaves /proc mounted when a maintainer script's process
# kept it busy at the end; a copy or rm -rf must not walk into it).
debroot_umount_under() {
	local m
	for m in $(awk -v d="$(realpath "$1")/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m"
	done
}

debroot_copy_tree() {
	mkdir -p "$2" &&
		(cd "$1" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$f" ] && printf '%s\0' "$f"
			done | xargs -0 cp -a --parents -t "$2")
}

# debroot_orig_tarball TREE: TREE/../SOURCE_UPSTREAM.orig.tar.gz, the
# upstream tarball that the "3.0 (quilt)" source package needs, made from
# TREE (a debroot_copy_tree copy) without debian/.  Reproducible: names
# sorted, one mtime (the changelog's date), owner root, gzip -n.
debroot_orig_tarball() {
	local tree=$1 src ver date
	src=$(cd "$tree" && dpkg-parsechangelog -S Source) || return 1
	ver=$(cd "$tree" && dpkg-parsechangelog -S Version) || return 1
	date=$(cd "$tree" && dpkg-parsechangelog -S Date) || return 1
	ver=${ver#*:}
	ver=${ver%-*}
	(cd "$tree" && tar --sort=name --mtime="$date" --owner=0 --group=0 \
		--numeric-owner --exclude=./debian --transform "s|^\.|$src-$ver|" \
		-cf - . | gzip -n9 >"../${src}_$ver.orig.tar.gz")
}

# debroot_build_deps TOP: apt-get install what dpkg-checkbuilddeps finds
# missing of TOP's Build-Depends (dpkg-dev must be there).
debroot_build_deps() {
	local unmet
	unmet=$(cd "$1" && dpkg-checkbuilddeps 2>&1 |
		sed -n 's/.*Unmet build dependencies: //p' |
		sed -e 's/([^)]*)//g')
	[ -z "$unmet" ] && return 0
	echo "# installing build dependencies: $unmet"
	if [ "$debroot_apt_updated" != 1 ]; then
		apt-get update -qq && debroot_apt_updated=1
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq \
		--no-install-recommends $unmet >/dev/null
}

# debroot_build_include TOP: debian/control's Build-Depends, comma
# separated, without versions, architectures or profiles; of "a | b" the
# first; debhelper-compat (virtual) is debhelper's.
debroot_build_include() {
	sed -n '/^Build-Depends:/,/^[^[:space:]]/p' "$1/debian/control" |
		sed -e '1s/^Build-Depends://' -e '/^[^[:space:]]/d' |
		tr ',' '\n' |
		sed -e 's/|.*//' -e 's/([^)]*)//g' -e 's/\[[^]]*\]//g' -e 's/<[^>]*>//g' \
			-e 's/[[:space:]]//g' -e 's/^debhelper-compat$/debhelper/' |
		grep -v '^$' | paste -sd, -
}
