# man: the libbufpool manual pages and the example program of bufpool(3).
#
# bufpool.3 is the overview.  One page documents each group of functions,
# and every other public function has a .so link to its group's page, so
# that "man bufpool_revert" works.  man/check-pages.sh, a test, keeps the
# example in bufpool(3) identical to man/examples/bufpool-example.c, checks
# that every function in lib/bufpool.h has a page, and lints the pages with
# mandoc.  The example itself is built and run against the build tree by
# "make check", and against the installed library, with the flags from
# pkg-config, by "make installcheck".

dist_man_MANS += \
	man/bufpool.3 \
	man/bufpool_alloc.3 \
	man/bufpool_revert.3 \
	man/bufpool_new.3 \
	man/bufpool_config_init.3 \
	man/bufpool_destroy.3 \
	man/bufpool_instance.3 \
	man/bufpool_instance_configure.3 \
	man/bufpool_stats.3 \
	man/bufpool_peaks.3 \
	man/bufpool_ref.3 \
	man/bufpool_set_pressure.3 \
	man/bufpool_pressure_stats.3 \
	man/bufpool_set_mem_limit.3 \
	man/bufpool_mem_limit.3 \
	man/bufpool_trim.3 \
	man/bufpool_tier_size.3 \
	man/bufpool_tier_index.3 \
	man/bufpool_parse_size.3 \
	man/larsctl.8 \
	man/io_buf.3 \
	man/io_buf_clear.3 \
	man/io_buf_pop.3 \
	man/io_buf_adjust.3 \
	man/io_buf_copy.3 \
	man/io_buf_append.3 \
	man/io_buf_space.3 \
	man/io_buf_tail.3 \
	man/io_buf_read_fd.3 \
	man/io_buf_write_fd.3 \
	man/io_buf_chain.3 \
	man/io_buf_chain_iov.3 \
	man/io_buf_chain_iov_space.3 \
	man/io_buf_chain_produce.3 \
	man/io_buf_chain_consume.3 \
	man/io_buf_chain_length.3

check_PROGRAMS += man/examples/bufpool-example
man_examples_bufpool_example_SOURCES = man/examples/bufpool-example.c
man_examples_bufpool_example_LDADD = lib/libbufpool.la
TESTS += man/examples/bufpool-example man/check-pages.sh
VALGRIND_TESTS += man/examples/bufpool-example
EXTRA_DIST += man/examples/bufpool-example.c man/check-pages.sh \
	man/example-installcheck.sh

# The example against the installed library.  DESTDIR is honoured for a
# staged install; make distcheck runs installcheck without one.
installcheck-local: installcheck-man-example
installcheck-man-example:
	@$(MKDIR_P) man/examples
	DESTDIR='$(DESTDIR)' libdir='$(libdir)' pkgconfigdir='$(pkgconfigdir)' \
	PKG_CONFIG='$(PKG_CONFIG)' CC='$(CC)' CPPFLAGS='$(CPPFLAGS)' \
	CFLAGS='$(CFLAGS) $(WARN_CFLAGS)' LDFLAGS='$(LDFLAGS)' \
	$(SHELL) $(srcdir)/man/example-installcheck.sh \
		$(srcdir)/man/examples/bufpool-example.c \
		man/examples/bufpool-example-installed
.PHONY: installcheck-man-example
CLEANFILES += man/examples/bufpool-example-installed

# The daemon's pages: larsd(8), larsd.conf(5), larsd-bench(1), and
# larsd-stamp(7), measuring with STAMP.  larsctl(8) is listed above.
dist_man_MANS += man/larsd.8 man/larsd.conf.5 man/larsd-bench.1 \
	man/larsd-stamp.7
