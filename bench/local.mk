# bench/ part of the one Makefile (included from Makefile.am).
