# src/ control plane library: part of the one Makefile.
