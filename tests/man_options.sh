#!/usr/bin/env bash
# man_options.sh - every option that `zsfs --help` lists is documented in
# the man page: the -o names, and each flag of the "-X, --long" lines
# (-d, -o debug included).
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
# Flags: each comma-separated spelling before the description of the
# "    -X, ..." lines ("-d, -o debug" gives -d and "-o debug").
flags=$(printf '%s\n' "$help" | awk '
	/^    -/ {
		line = $0; sub(/^ +/, "", line); sub(/  .*/, "", line)
		n = split(line, w, /, */)
		for (i = 1; i <= n; i++) print w[i]
	}')
nflags=$(printf '%s\n' "$flags" | grep -c .)
check "--help lists at least 6 flags (found $nflags)" test "$nflags" -ge 6
while IFS= read -r f; do
	[ -n "$f" ] || continue
	f_re=$(printf '%s' "$f" | sed 's/[.[*^$]/\\&/g')
	check "man page documents $f" grep -Eq -- "(^|[^-a-z_])${f_re}([^-a-z_]|\$)" <<<"$man_text"
done <<<"$flags"
done_testing
