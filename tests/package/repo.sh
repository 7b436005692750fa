# shellcheck shell=bash disable=SC2154 # work, root, suite, release: set by tests/package/run
# tests/package/repo.sh - the apt repository users install from (sourced
# by tests/package/run, which gives cx, csh, pass, fail, info, indent,
# $work, $root, $suite and $release).
#
# The way README.md ("Install from an apt repository") tells a user who
# publishes the packages: a signing key made with gpg --batch (here a
# throw-away one, in $work/gnupg), a reprepro repository of the three
# packages for the suite, served over HTTP, and on the machine that
# installs from it the public key in /etc/apt/keyrings/ and a deb822
# /etc/apt/sources.list.d/lars.sources with Signed-By: naming it.
#
#   repo_init             the key and reprepro's configuration (host)
#   repo_publish DIR      reprepro includedeb of DIR's libbufpool1,
#                         libbufpool-dev and larsd .debs (a newer version
#                         replaces the one published); checks the signature
#                         of the Release files with gpgv and the key
#   repo_serve            python3 -m http.server on 127.0.0.1:8080 in the
#                         booted container (a transient unit), serving
#                         /srv/lars-apt, where reprepro writes
#   repo_add              the key and lars.sources in the container
#   repo_update WHAT      apt update there: the repository's InRelease is
#                         fetched and its signature good (the Debian
#                         mirror cannot be reached from the container's
#                         private network: apt warns and keeps the lists
#                         fetched before boot)
#   repo_wrong_key        with another key in Signed-By:, apt update
#                         refuses the repository
#   repo_cleanup          stop the gpg-agent of $work/gnupg (run's trap)
#
# Each is one PASS or FAIL line (repo_init, repo_serve and repo_add only
# on failure) and returns non-zero on failure.

repo_port=8080
repo_url=http://127.0.0.1:$repo_port/
repo_at="http://127.0.0.1:$repo_port $suite" # how apt names it in its output
repo_keyring=/etc/apt/keyrings/lars.gpg
repo_sources=/etc/apt/sources.list.d/lars.sources
repo_fpr=""

# repo_gpg ARGS...: gpg on the throw-away home, never asking.
repo_gpg() {
	GNUPGHOME=$work/gnupg gpg --batch --no-tty --pinentry-mode loopback --passphrase '' "$@"
}

repo_cleanup() {
	[ -d "$work/gnupg" ] && GNUPGHOME=$work/gnupg gpgconf --kill all 2>/dev/null
	[ -d "$work/gnupg-other" ] && GNUPGHOME=$work/gnupg-other gpgconf --kill all 2>/dev/null
	return 0
}

repo_init() {
	mkdir -p "$work/gnupg" "$work/repo/conf" "$root/srv/lars-apt" && chmod 700 "$work/gnupg" || return 1
	if ! repo_gpg --quick-gen-key "lars test repository <repo@lars.invalid>" \
		ed25519 sign 1d >"$work/gpg.log" 2>&1; then
		indent <"$work/gpg.log"
		fail "repo: gpg --batch --quick-gen-key (a throw-away signing key)"
		return 1
	fi
	repo_fpr=$(repo_gpg --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr:/ { print $10; exit }')
	repo_gpg --export "$repo_fpr" >"$work/lars.gpg" 2>/dev/null || return 1
	cat >"$work/repo/conf/distributions" <<EOF
Origin: lars
Label: lars
Codename: $suite
Architectures: amd64
Components: main
Description: lars packages for $release
SignWith: $repo_fpr
EOF
}

# repo_publish DIR: publish DIR's three packages; one PASS or FAIL line.
repo_publish() {
	local dir=$1 debs v out rel=$root/srv/lars-apt/dists/$suite
	debs=$(find "$dir" -maxdepth 1 \( -name 'libbufpool1_*.deb' -o -name 'libbufpool-dev_*.deb' \
		-o -name 'larsd_*.deb' \) | sort)
	v=$(dpkg-deb -f "$(printf '%s\n' "$debs" | grep '/larsd_')" Version 2>/dev/null)
	# shellcheck disable=SC2086 # the names have no spaces
	out=$(GNUPGHOME=$work/gnupg timeout 120 reprepro -b "$work/repo" --outdir "$root/srv/lars-apt" \
		includedeb "$suite" $debs 2>&1)
	local rc=$?
	local listed
	listed=$(GNUPGHOME=$work/gnupg reprepro -b "$work/repo" --outdir "$root/srv/lars-apt" \
		list "$suite" 2>/dev/null | sed 's/^[^:]*: //' | sort | paste -sd, - | sed 's/,/, /g')
	local good=0
	if [ $rc = 0 ] && [ "$(printf '%s\n' "$debs" | wc -l)" = 3 ] &&
		gpgv --keyring "$work/lars.gpg" "$rel/InRelease" >"$work/gpgv.log" 2>&1 &&
		gpgv --keyring "$work/lars.gpg" "$rel/Release.gpg" "$rel/Release" >>"$work/gpgv.log" 2>&1 &&
		[ "$(printf '%s\n' "$listed" | grep -o "$v" | wc -l)" = 3 ]; then
		good=1
	fi
	if [ $good = 1 ]; then
		pass "repo: reprepro published $listed for $suite, InRelease and Release.gpg signed by the throw-away key ${repo_fpr:(-16)} (gpgv)"
		return 0
	fi
	printf '%s\n' "$out" | tail -n 20 | indent
	indent <"$work/gpgv.log"
	fail "repo: reprepro includedeb $suite of $(printf '%s\n' "$debs" | wc -l) debs of $v (exit $rc; listed: $listed)"
	return 1
}

repo_serve() {
	local i got=""
	cx 30 systemd-run --unit=lars-apt-http --quiet \
		python3 -m http.server --bind 127.0.0.1 --directory /srv/lars-apt "$repo_port" >/dev/null 2>&1
	for i in $(seq 50); do
		got=$(csh 10 "printf 'GET /dists/$suite/InRelease HTTP/1.0\r\n\r\n' | socat -t 5 - TCP:127.0.0.1:$repo_port" 2>/dev/null |
			head -n 1)
		case $got in *" 200 "*) return 0 ;; esac
		sleep 0.2
	done
	cx 10 systemctl status lars-apt-http --no-pager 2>&1 | tail -n 10 | indent
	fail "repo: python3 -m http.server on 127.0.0.1:$repo_port in the container (got '${got}')"
	return 1
}

repo_add() {
	mkdir -p "$root/etc/apt/keyrings" &&
		install -m 644 "$work/lars.gpg" "$root$repo_keyring" &&
		cat >"$root$repo_sources" <<EOF
Types: deb
URIs: $repo_url
Suites: $suite
Components: main
Signed-By: $repo_keyring
EOF
}

# repo_update WHAT: apt update in the container; PASS when the repository's
# InRelease came in and nothing was said against it.
repo_update() {
	local out rc ours bad
	out=$(cx 120 apt-get update 2>&1)
	rc=$?
	printf '%s\n' "$out" >"$work/apt-update.log"
	ours=$(printf '%s\n' "$out" | grep -E "^(Get|Hit):[0-9]+ $repo_at InRelease")
	bad=$(printf '%s\n' "$out" | grep -E '^(E|W|Err):' | grep -F "127.0.0.1:$repo_port")
	if [ $rc = 0 ] && [ -n "$ours" ] && [ -z "$bad" ]; then
		pass "$1: apt update fetched $(printf '%s' "$ours" | sed 's/^[A-Za-z]*:[0-9]* //') (signature checked against $repo_keyring)"
		return 0
	fi
	printf '%s\n' "$out" | tail -n 15 | indent
	fail "$1: apt update (exit $rc) did not take the repository's InRelease"
	return 1
}

# repo_wrong_key: Signed-By: must be what apt checks against.
repo_wrong_key() {
	local out
	mkdir -p "$work/gnupg-other" && chmod 700 "$work/gnupg-other"
	GNUPGHOME=$work/gnupg-other gpg --batch --no-tty --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "someone else <other@lars.invalid>" ed25519 sign 1d >/dev/null 2>&1
	GNUPGHOME=$work/gnupg-other gpg --batch --export >"$root$repo_keyring.other"
	sed -i "s|^Signed-By: .*|Signed-By: $repo_keyring.other|" "$root$repo_sources"
	out=$(cx 120 apt-get update 2>&1)
	sed -i "s|^Signed-By: .*|Signed-By: $repo_keyring|" "$root$repo_sources"
	rm -f "$root$repo_keyring.other"
	if printf '%s\n' "$out" | grep -E '^(E|W):' | grep -F "$repo_at" |
		grep -qiE 'NO_PUBKEY|is not signed|signatures? (couldn.t|could not) be verified|Missing key'; then
		pass "repo: with another key in Signed-By: apt update refuses the repository: $(printf '%s\n' "$out" | grep -E '^E:' | grep -m 1 -F "$repo_at")"
	else
		printf '%s\n' "$out" | tail -n 10 | indent
		fail "repo: apt update took the repository with a key in Signed-By: that did not sign it"
	fi
}
