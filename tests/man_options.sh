#!/usr/bin/env bash
# man_options.sh - every option that `zsfs --help` lists is documented in
# the man page, and the man page's option list names no option that
# `zsfs --help` does not know.
. "${TOP_SRCDIR:-.}/tests/lib.sh"
[ -x "$ZSFS" ] || { echo "Bail out! zsfs binary not found at $ZSFS"; exit 99; }
man_page="$TOP_SRCDIR/man/zsfs.1"

help=$("$ZSFS" --help 2>&1)
check "zsfs --help exits 0" sh -c '"$ZSFS" --help >/dev/null 2>&1'

# Option names: the first word of each indented line ("    size=SIZE ..."),
# and each comma-separated word of the generic option lists.
names=$(printf '%s\n' "$help" | awk '
	/^    -/ { next }
	/^    [a-z_]/ {
		line = $0; sub(/^ +/, "", line); sub(/  .*/, "", line)
		if (line ~ /, /) {
			n = split(line, w, /, */)
			for (i = 1; i <= n; i++) { x = w[i]; sub(/[ .=].*/, "", x); if (x != "") print x }
		} else { x = line; sub(/[ =].*/, "", x); print x }
	}' | sort -u)
count=$(printf '%s\n' "$names" | grep -c .)
check "--help lists at least 20 option names (found $count)" test "$count" -ge 20

# The man page text with roff escapes removed.
man_text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man_page")
for n in $names; do
	n_re=$(printf '%s' "$n" | sed 's/[.[*^$]/\\&/g')
	check "man page documents $n" grep -Eq "(^|[^a-z_])${n_re}([^a-z_]|\$)" <<<"$man_text"
done
for f in -f -d -s --help --version; do
	check "man page documents $f" grep -Fq -- "$f" <<<"$man_text"
done
done_testing
