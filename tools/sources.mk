bin_PROGRAMS += sbctl
sbctl_SOURCES = tools/sbctl.c
sbctl_LDADD = $(RE_LIBS) $(OPENSSL_LIBS) -lpthread
