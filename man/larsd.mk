# man: the daemon's pages, larsd(8) and larsd.conf(5).  Included from Makefile.am.
dist_man_MANS += man/larsd.8 man/larsd.conf.5
