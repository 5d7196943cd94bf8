noinst_LIBRARIES += libsipcore.a
libsipcore_a_SOURCES = \
	include/switchboard.h \
	sipcore/sipcore.h \
	sipcore/conf.c \
	sipcore/log.c \
	sipcore/util.c \
	sipcore/timers.c \
	sipcore/store.c \
	sipcore/store_ckpt.c \
	sipcore/store_batch.c \
	sipcore/store_migrate.c \
	sipcore/store_ext.c \
	sipcore/store_contact.c \
	sipcore/store_cdr.c \
	sipcore/digest.c \
	sipcore/nonce.c \
	sipcore/auth.c \
	sipcore/sipcheck.c \
	sipcore/transport.c \
	sipcore/tcp_guard.c \
	sipcore/location.c \
	sipcore/registrar.c \
	sipcore/router.c \
	sipcore/leg.c \
	sipcore/leg_media.c \
	sipcore/media_answer.c \
	sipcore/media_side.c \
	sipcore/mixer.c \
	sipcore/dial.c \
	sipcore/bridge.c \
	sipcore/sdp_mirror.c \
	sipcore/sdp_hold.c \
	sipcore/sdp_local.c \
	sipcore/sounds.c \
	sipcore/hold.c \
	sipcore/call.c \
	apps/apps.h \
	apps/audiotest.c \
	apps/meetme.c \
	sipcore/cdr.c \
	sipcore/quality.c \
	sipcore/relay.c \
	sipcore/relay_conn.c \
	sipcore/relay_spawn.c \
	sipcore/api.h \
	sipcore/api.c \
	sipcore/api_ext.c

bin_PROGRAMS += switchboard
# nothing of ours calls rand_u32, so from the library it would never be
# linked in: it replaces re's for libre itself (rand_pool.c)
switchboard_SOURCES = sipcore/main.c sipcore/rand_pool.c
switchboard_LDADD = $(CORE_LIBS)
