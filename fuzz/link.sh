#!/bin/sh
# fuzz/link.sh - the one rule every libFuzzer target is built by.
#
#   link.sh CLANG OUT [ARGS...]
#
# Compiles and links OUT from ARGS (flags, sources, libraries) with
# CLANG -g -O1 -fsanitize=fuzzer,address,undefined.  CLANG is what
# configure found (empty when none): then it says which make target needs
# clang and fails, so `make fuzz-NAME` and `make fuzz` stop with one clear
# message instead of a missing-command error.
clang=$1
out=$2
shift 2
if [ -z "$clang" ]; then
	name=$(basename "$out" | sed 's/^fuzz_/fuzz-/')
	echo "$name needs clang (libFuzzer); configure found none" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")" || exit 1
exec "$clang" -g -O1 -fsanitize=fuzzer,address,undefined -o "$out" "$@"
