#!/bin/sh
#
# check-pages.sh - keep the libbufpool manual pages honest.
#
#   1. The EXAMPLES section of bufpool(3) holds man/examples/bufpool-example.c
#      verbatim (the lines between the "begin/end bufpool-example.c" comments,
#      with the roff escapes \e and a leading \& undone).
#   2. Every function declared in lib/bufpool.h has man/NAME.3, a page or a
#      .so link, and every man/*.3 is listed in a man/*.mk fragment.
#   3. Every .so link points at a real page in man/.
#   4. mandoc -T lint -W warning is silent on every real page (skipped when
#      mandoc is not installed; MANDOC names another binary).
#
# Run by "make check" (automake sets srcdir) or by hand from the top of the
# source tree.  "check-pages.sh --update" rewrites the example in bufpool.3
# from the .c file instead of checking it.

set -u
srcdir=${srcdir:-.}
man=$srcdir/man
page=$man/bufpool.3
example=$man/examples/bufpool-example.c
begin='^\.\\" begin bufpool-example\.c$'
end='^\.\\" end bufpool-example\.c$'
tmp=${TMPDIR:-/tmp}/check-pages.$$
trap 'rm -f "$tmp" "$tmp.page"' EXIT
fail=0

err() {
	echo "check-pages: $*" >&2
	fail=1
}

# The example as it appears in the page, unescaped.
extract() {
	sed -n "/$begin/,/$end/p" "$page" | sed -e '1d' -e '$d' \
	    -e 's/^\\&//' -e 's/\\e/\\/g'
}

# The example file escaped for a literal display.
escape() {
	sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" "$example"
}

if [ "${1:-}" = --update ]; then
	escape >"$tmp" || exit 1
	# awk -v would eat the backslashes of the patterns: use ENVIRON.
	B=$begin E=$end F=$tmp awk '
		$0 ~ ENVIRON["E"] { skip = 0 }
		!skip { print }
		$0 ~ ENVIRON["B"] {
			while ((getline l < ENVIRON["F"]) > 0)
				print l
			skip = 1
		}
	' "$page" >"$tmp.page" && mv "$tmp.page" "$page" || exit 1
	extract | cmp -s - "$example" || { echo "update failed" >&2; exit 1; }
	exit 0
fi

# 1. The example.
if ! grep -q "$begin" "$page" || ! grep -q "$end" "$page"; then
	err "$page: no begin/end bufpool-example.c markers"
elif ! extract | diff -u "$example" - >&2; then
	err "the example in $page differs from $example" \
	    "(run: srcdir=$srcdir sh $man/check-pages.sh --update)"
fi

# 2. A page for every function, and every page in the build.
funcs=$(grep -oE '\b(bufpool|io_buf)_[a-z0-9_]+[[:space:]]*\(' \
    "$srcdir/lib/bufpool.h" | tr -d ' (' | sort -u)
[ -n "$funcs" ] || err "no functions found in $srcdir/lib/bufpool.h"
for f in $funcs; do
	[ -f "$man/$f.3" ] || err "$f: no page $man/$f.3"
done
for p in "$man"/*.[13578]; do
	n=${p##*/}
	cat "$man"/*.mk "$man"/../src/*.mk | grep -q "man/$n\\b" || err "$n: in no *.mk fragment"
done

# 3. Links.  4. Lint.
mandoc=${MANDOC:-mandoc}
command -v "$mandoc" >/dev/null 2>&1 || {
	echo "check-pages: $mandoc not found, lint skipped" >&2
	mandoc=
}
for p in "$man"/*.[13578]; do
	target=$(sed -n 's/^\.so[[:space:]]\{1,\}man3\/\(.*\)$/\1/p' "$p")
	if [ -n "$target" ]; then
		if [ ! -f "$man/$target" ]; then
			err "${p##*/}: link to missing page $target"
		elif grep -q '^\.so' "$man/$target"; then
			err "${p##*/}: link to a link, $target"
		fi
	elif [ -n "$mandoc" ]; then
		"$mandoc" -T lint -W warning "$p" >"$tmp" 2>&1
		[ -s "$tmp" ] && { cat "$tmp" >&2; err "${p##*/}: mandoc lint"; }
	fi
done

[ "$fail" = 0 ] && echo "check-pages: ok"
exit "$fail"
