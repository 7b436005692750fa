# man: larsd(8), the manual of the daemon.  Included from Makefile.am.
dist_man_MANS += man/larsd.8
