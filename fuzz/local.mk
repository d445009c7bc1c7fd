# fuzz/ part of the one Makefile (included from Makefile.am).
