# fuzz/ part of the one Makefile (included from Makefile.am).
#
# libFuzzer targets are built by one rule, $(FUZZ_LINK) (fuzz/link.sh:
# $(CLANG) -fsanitize=fuzzer,address,undefined, and a clear error when
# configure found no clang), never by default and never as tests:
#   make fuzz-options      the mount option parser (fuzz/fuzz_options.c)
#   make fuzz-alloc, fuzz-pagestore, fuzz-ctl  (their sources are listed
#                          in alloc/local.mk, src/data.mk, src/ctl.mk)
#   make fuzz              build every target and run each for FUZZ_SECONDS
#                          (default 30) on a scratch copy of its seed corpus
#                          fuzz/corpus/NAME; a crash stops with an error and
#                          leaves the reproducer in fuzz/run/NAME/.
# See fuzz/README.md.

EXTRA_DIST += fuzz/README.md fuzz/link.sh fuzz/fuzz_options.c \
	fuzz/corpus/options/basic fuzz/corpus/options/everything \
	fuzz/corpus/options/multi fuzz/corpus/options/escapes \
	fuzz/corpus/options/sizes

FUZZ_SECONDS = 30
FUZZ_TARGETS = alloc pagestore ctl options

# The one build rule of a fuzz target:
#   fuzz/fuzz_NAME: SOURCES...
#   	$(AM_V_CCLD)$(FUZZ_LINK) [FLAGS] SOURCES... [LIBS]
FUZZ_LINK = $(SHELL) $(srcdir)/fuzz/link.sh '$(CLANG)' $@ \
	$(AM_CPPFLAGS) $(WARN_CFLAGS)

FUZZ_OPTIONS_SRCS = \
	$(srcdir)/fuzz/fuzz_options.c \
	$(srcdir)/src/options.c
fuzz/fuzz_options: $(FUZZ_OPTIONS_SRCS) src/libzsfsdata.a alloc/libzsalloc.a
	$(AM_V_CCLD)$(FUZZ_LINK) $(FUZZ_OPTIONS_SRCS) \
		src/libzsfsdata.a alloc/libzsalloc.a \
		$(LZ4_LIBS) $(ZSTD_LIBS) $(XXHASH_LIBS) -pthread
fuzz-options: fuzz/fuzz_options
CLEANFILES += fuzz/fuzz_options

# Each target whose source exists: build it, then fuzz it for FUZZ_SECONDS
# in fuzz/run/NAME (a copy of the seed corpus, so the source tree is not
# written to).  -error_exitcode makes a finding fail the make.
fuzz:
	@set -e; ran=""; \
	for t in $(FUZZ_TARGETS); do \
		if [ ! -f "$(srcdir)/fuzz/fuzz_$$t.c" ]; then \
			echo "fuzz: fuzz/fuzz_$$t.c not present: skipped"; continue; \
		fi; \
		$(MAKE) $(AM_MAKEFLAGS) fuzz-$$t; \
		rm -rf fuzz/run/$$t; $(MKDIR_P) fuzz/run/$$t/corpus; \
		if [ -d "$(srcdir)/fuzz/corpus/$$t" ]; then \
			cp "$(srcdir)/fuzz/corpus/$$t"/* fuzz/run/$$t/corpus/ 2>/dev/null || :; \
		fi; \
		echo "fuzz: fuzz_$$t for $(FUZZ_SECONDS) s"; \
		./fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -error_exitcode=77 \
			-artifact_prefix=fuzz/run/$$t/ -print_final_stats=1 \
			fuzz/run/$$t/corpus >fuzz/run/$$t/log 2>&1 || { \
			echo "fuzz: fuzz_$$t FAILED; see fuzz/run/$$t/log:"; \
			tail -40 fuzz/run/$$t/log; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' fuzz/run/$$t/log | tr '\n' ' '; echo; \
		ran="$$ran $$t"; \
	done; \
	echo "fuzz: ran$$ran, $(FUZZ_SECONDS) s each, no findings"
.PHONY: fuzz fuzz-options fuzz-alloc fuzz-pagestore fuzz-ctl

clean-local: clean-fuzz-run
clean-fuzz-run:
	-rm -rf fuzz/run
.PHONY: clean-fuzz-run
