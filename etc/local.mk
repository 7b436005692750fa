# The default configuration, installed as $(sysconfdir)/larsd/larsd.conf
larsdconfdir = $(sysconfdir)/larsd
dist_larsdconf_DATA = etc/larsd.conf

# systemd units; larsd.service gets the install paths filled in.
systemdsystemunit_DATA = etc/larsd.service etc/larsd.socket
EXTRA_DIST += etc/larsd.service.in etc/larsd.socket
CLEANFILES += etc/larsd.service
etc/larsd.service: $(srcdir)/etc/larsd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && sed -e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' $(srcdir)/etc/larsd.service.in > $@
