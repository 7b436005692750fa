# The Lars wire format (lars.c: frame boundaries; lars.h: the header) and
# what the control socket's two ends agree on (control_socket.h): shared by larsd,
# larsd-bench and larsctl, as src/stamp/ is for STAMP.  A convenience
# library; included from Makefile.am before the programs that link it.
noinst_LTLIBRARIES += src/lars/liblars.la
src_lars_liblars_la_SOURCES = src/lars/lars.c src/lars/lars.h src/lars/control_socket.h
