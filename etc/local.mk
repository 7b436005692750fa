# The default configuration, installed as $(sysconfdir)/larsd/larsd.conf
larsdconfdir = $(sysconfdir)/larsd
dist_larsdconf_DATA = etc/larsd.conf

# systemd units; the .service files get the install paths filled in.
# larsd-metrics.{service,timer} feed the node exporter (larsctl(8)).
systemdsystemunit_DATA = etc/larsd.service etc/larsd.socket \
	etc/larsd-metrics.service etc/larsd-metrics.timer
EXTRA_DIST += etc/larsd.service.in etc/larsd.socket \
	etc/larsd-metrics.service.in etc/larsd-metrics.timer
CLEANFILES += etc/larsd.service etc/larsd-metrics.service
unit_subst = $(MKDIR_P) etc && sed -e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g'
etc/larsd.service: $(srcdir)/etc/larsd.service.in Makefile
	$(AM_V_GEN)$(unit_subst) $(srcdir)/etc/larsd.service.in > $@
etc/larsd-metrics.service: $(srcdir)/etc/larsd-metrics.service.in Makefile
	$(AM_V_GEN)$(unit_subst) $(srcdir)/etc/larsd-metrics.service.in > $@

# Example alerting rules on larsctl's session metrics (larsctl(8)); the
# Debian package installs them as an example (debian/larsd.examples).
EXTRA_DIST += etc/larsd-sessions.rules.yml
