# The default configuration, installed as $(sysconfdir)/larsd/larsd.conf
larsdconfdir = $(sysconfdir)/larsd
dist_larsdconf_DATA = etc/larsd.conf
