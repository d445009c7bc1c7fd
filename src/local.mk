bin_PROGRAMS += src/zsfs
src_zsfs_SOURCES = src/main.c
