# shellcheck shell=bash disable=SC2034 # the variables are for the callers
# tests/debroot.sh - Debian 12 roots for the container tests (bash, sourced).
#
# tests/package/run and tests/fresh/run both need a Debian 12 root made
# by `debootstrap --variant=minbase`; this file makes it once per cache
# folder and names it, so each run copies the same clean system.
#
#   debroot_host_tools PKG...       apt-get install the missing host packages
#   debroot_mirror                  print the Debian mirror to use
#   debroot_make CACHE NAME INCLUDE HOSTNAME LOG
#                                   make CACHE/root-NAME unless it is there
#                                   (debootstrap --include=INCLUDE, which may
#                                   be empty); sets debroot_root
#   debroot_copy_tree TOP DEST      the source tree as a clean clone sees it
#   debroot_orig_tarball TREE       TREE/../SRC_VER.orig.tar.gz for dpkg-source
#   debroot_build_deps TOP          apt-get install the missing Build-Depends
#
# The functions return non-zero on failure and leave the reporting to the
# caller.  A root is remade when its suite, package list or mirror changes
# (the key in ROOT/.lars-root-ready).  Concurrent runs wait on
# CACHE/.lock (at most 15 minutes) while one of them makes a root.
#
# Environment: LARS_PKG_MIRROR, the Debian mirror (default: the host's
# apt source, else deb.debian.org).

debroot_suite=bookworm
debroot_apt_updated=0

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
	local cache=$1 name=$2 include=$3 hostname=$4 log=$5
	local mirror key root t0 rc=0
	mirror=$(debroot_mirror)
	key="$debroot_suite $include $mirror"
	root=$cache/root-$name
	debroot_root=$root
	mkdir -p "$cache" || return 1
	exec 9>"$cache/.lock"
	flock -w 900 9 || { echo "# another run holds $cache/.lock"; return 1; }
	if [ -f "$root/.lars-root-ready" ] &&
		[ "$(cat "$root/.lars-root-ready")" = "$key" ]; then
		echo "# reusing the cached root $root"
	else
		t0=$(date +%s)
		echo "# debootstrap $debroot_suite${include:+ with $include} from $mirror into $root (once)"
		rm -rf "$root" "$root.new"
		if timeout 900 debootstrap --variant=minbase ${include:+--include="$include"} \
			"$debroot_suite" "$root.new" "$mirror" >"$log" 2>&1; then
			echo "$hostname" >"$root.new/etc/hostname"
			rm -f "$root.new"/var/cache/apt/archives/*.deb
			printf '%s\n' "$key" >"$root.new/.lars-root-ready"
			mv "$root.new" "$root"
			echo "# root made in $(($(date +%s) - t0)) s"
		else
			rm -rf "$root.new"
			rc=1
		fi
	fi
	flock -u 9
	exec 9>&-
	return $rc
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
