#!/bin/sh
#
# example-installcheck.sh - build the example of bufpool(3) against the
# installed libbufpool the way a user does, with the flags from pkg-config,
# run it and check its output.  Run by "make installcheck" (man/local.mk).
#
# Usage: example-installcheck.sh SOURCE PROGRAM
# Environment: CC, CPPFLAGS, CFLAGS, LDFLAGS, PKG_CONFIG, DESTDIR, and the
# install directories libdir and pkgconfigdir.

set -eu
src=$1
prog=$2
: "${PKG_CONFIG:=pkg-config}" "${DESTDIR:=}" "${CPPFLAGS:=}" "${CFLAGS:=}" \
    "${LDFLAGS:=}"

fail() {
	echo "example-installcheck: $*" >&2
	exit 1
}

PKG_CONFIG_PATH=$DESTDIR$pkgconfigdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
export PKG_CONFIG_PATH
# bufpool.pc names the final prefix; a staged install lives under DESTDIR.
if [ -n "$DESTDIR" ]; then
	PKG_CONFIG_SYSROOT_DIR=$DESTDIR
	export PKG_CONFIG_SYSROOT_DIR
fi
pcdir=$($PKG_CONFIG --variable=pcfiledir bufpool) ||
	fail "pkg-config does not know bufpool"
[ "$pcdir" -ef "$DESTDIR$pkgconfigdir" ] ||
	fail "pkg-config found bufpool.pc in $pcdir, not $DESTDIR$pkgconfigdir"
flags=$($PKG_CONFIG --cflags --libs bufpool)

set -x
# shellcheck disable=SC2086 # word splitting of the flags is intended
$CC $CPPFLAGS $CFLAGS $LDFLAGS -o "$prog" "$src" $flags
set +x

LD_LIBRARY_PATH=$DESTDIR$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
if command -v ldd >/dev/null 2>&1; then
	ldd "$prog" | grep -F "=> $DESTDIR$libdir/libbufpool.so" >/dev/null ||
		fail "$prog does not load libbufpool from $DESTDIR$libdir"
fi

# run [VAR=VALUE]: run the program, check its output, print its limit.
run() {
	out=$(env "$@" "$prog") || fail "$prog $* failed"
	printf '%s\n' "$out" >&2
	printf '%s\n' "$out" | grep -q \
	    '^client: 100 rounds of 10000 bytes echoed$' ||
		fail "no client line from $prog $*"
	printf '%s\n' "$out" | sed -n \
	    's/^server: [0-9]* allocs, [0-9]* fresh; [0-9]* of \([0-9]*\) bytes owned$/\1/p'
}
unset BUFPOOL_MEM_LIMIT
default=$(run) && [ -n "$default" ] || fail "no server line"
limit=$(run BUFPOOL_MEM_LIMIT=64K)
[ "$limit" = 65536 ] || fail "BUFPOOL_MEM_LIMIT=64K gave a limit of $limit"
limit=$(run BUFPOOL_MEM_LIMIT=64KB)
[ "$limit" = "$default" ] ||
	fail "BUFPOOL_MEM_LIMIT=64KB gave $limit, not the default $default"
echo "example-installcheck: ok (default MEM_LIMIT $default bytes)"
