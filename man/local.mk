# man/ part of the one Makefile (included from Makefile.am).
dist_man_MANS += man/zsfs.1
