#!/bin/sh
# test_symbols.sh - the shared libbufpool exports only bufpool_* and io_buf_*.
#
# Reads the built library's dynamic symbol table (nm -D --defined-only) and
# fails, listing the offenders, if any defined symbol other than the
# version node (LIBBUFPOOL_*) lacks the bufpool_ or io_buf_ prefix.  Also
# fails if the public API is missing altogether.  Skips (77) when the
# library was built static-only or nm is missing.  Plain exit-code test:
# 0 pass, 1 fail, 77 skip, 99 hard error (see tests/local.mk).

top_builddir=${top_builddir:-.}
la=$top_builddir/lib/libbufpool.la

if ! command -v nm >/dev/null 2>&1; then
	echo "SKIP: no nm"
	exit 77
fi
if ! test -f "$la"; then
	echo "ERROR: $la not built" >&2
	exit 99
fi

# The libtool archive names the shared object: dlname='libbufpool.so.1'.
dlname=$(sed -n "s/^dlname='\(.*\)'$/\1/p" "$la")
if test -z "$dlname"; then
	echo "SKIP: no shared library (built with --disable-shared?)"
	exit 77
fi
so=$top_builddir/lib/.libs/$dlname
if ! test -f "$so"; then
	echo "ERROR: $so missing" >&2
	exit 99
fi

syms=$(nm -D --defined-only "$so") || {
	echo "ERROR: nm -D failed on $so" >&2
	exit 99
}
# Fields: value type name[@version].  Strip versions, keep names.
names=$(printf '%s\n' "$syms" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }')
offenders=$(printf '%s\n' "$names" |
	grep -v -E '^(bufpool_|io_buf_)' | grep -v -E '^LIBBUFPOOL_[0-9.]+$' | grep -v '^$')

echo "$so: $(printf '%s\n' "$names" | grep -c -E '^(bufpool_|io_buf_)') public symbols"
status=0
if test -n "$offenders"; then
	echo "FAIL: symbols exported outside bufpool_*/io_buf_*:"
	printf '  %s\n' $offenders
	status=1
fi
for want in bufpool_new bufpool_alloc bufpool_revert bufpool_instance io_buf_pop; do
	if ! printf '%s\n' "$names" | grep -q -x "$want"; then
		echo "FAIL: $want is not exported"
		status=1
	fi
done
exit $status
