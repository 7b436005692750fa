# larsctl, the control socket's command-line client (see man/larsctl.8)
sbin_PROGRAMS += src/larsctl/larsctl
src_larsctl_larsctl_SOURCES = \
	src/larsctl/larsctl.c \
	src/larsctl/reply.c src/larsctl/reply.h \
	src/larsctl/format.c src/larsctl/format.h \
	src/larsctl/sessions.c src/larsctl/sessions.h \
	src/larsctl/watch.c src/larsctl/watch.h
# conf.h, for CONF_DEFAULT_CONTROL, includes src/stamp's stamp_key.h;
# sessions.c takes the histogram bounds from src/larsd/session_hist.h.
src_larsctl_larsctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/stamp
