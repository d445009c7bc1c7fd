# src/ data path library (codecs, page store): part of the one Makefile.
