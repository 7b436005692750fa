# libbufpool
lib_LTLIBRARIES += lib/libbufpool.la
include_HEADERS += lib/bufpool.h
pkgconfig_DATA += lib/bufpool.pc
lib_libbufpool_la_SOURCES = lib/bufpool.c lib/bufpool_alloc.c lib/bufpool_tcache.c lib/bufpool_instance.c \
	lib/bufpool_internal.h lib/io_buf.c lib/bufpool_size.c lib/io_buf_chain.c \
	lib/bufpool_pressure.c lib/bufpool_poison.h
lib_libbufpool_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
lib_libbufpool_la_LDFLAGS = -version-info $(BUFPOOL_LT_VERSION) \
	-Wl,--version-script=$(srcdir)/lib/libbufpool.map -no-undefined
lib_libbufpool_la_LIBADD = $(LIBS)
EXTRA_DIST += lib/libbufpool.map lib/bufpool.pc.in
DISTCLEANFILES = lib/bufpool.pc
