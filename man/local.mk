# man/ part of the one Makefile (included from Makefile.am).
dist_man_MANS += man/zsfs.1
dist_check_SCRIPTS += tests/man_options.sh
TESTS += tests/man_options.sh
dist_man_MANS += man/zsfsctl.1
