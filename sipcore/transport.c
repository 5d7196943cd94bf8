/**
 * @file transport.c  SIP listeners: UDP, TCP and TLS on IPv4 and IPv6
 */
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <re.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "sipcore.h"

#define DEBUG_MODULE "transport"
#define DEBUG_LEVEL 6
#include <re_dbg.h>


enum {
	CERT_DAYS  = 3650,
	UDP_RCVBUF = 4 << 20,   /**< Bytes, as Kamailio's maxbuffer */
};


static int cert_write(const char *path, EVP_PKEY *key, X509 *crt)
{
	FILE *f;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return errno;

	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		return err;
	}

	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_X509(f, crt))
		err = EIO;

	if (fclose(f) && !err)
		err = errno;

	return err;
}


/* A self-signed P-256 certificate for the SIP domain, kept beside the
 * store so that phones that pinned it still trust it after a restart. */
static int cert_make(const char *path, const char *cn)
{
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	BIGNUM *serial = NULL;
	X509_NAME *name;
	uint8_t rnd[8];
	int err = ENOMEM;

	rand_bytes(rnd, sizeof(rnd));
	rnd[0] &= 0x7f;

	key = EVP_EC_gen("P-256");
	crt = X509_new();
	serial = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (!key || !crt || !serial)
		goto out;

	if (!X509_set_version(crt, 2) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(crt)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(crt), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(crt),
			     (long)CERT_DAYS * 86400) ||
	    !X509_set_pubkey(crt, key))
		goto out;

	name = X509_get_subject_name(crt);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(crt, name) ||
	    !X509_sign(crt, key, EVP_sha256()))
		goto out;

	err = cert_write(path, key, crt);
	if (!err)
		DEBUG_NOTICE("made a self-signed certificate for '%s': %s\n",
			     cn, path);

 out:
	BN_free(serial);
	X509_free(crt);
	EVP_PKEY_free(key);
	return err;
}


static int tls_setup(struct tls **tlsp, const struct sb_conf *cfg)
{
	char path[SB_PATH_MAX + 16];
	struct stat sb;
	int err;

	if (str_isset(cfg->sip_tls_cert)) {
		str_ncpy(path, cfg->sip_tls_cert, sizeof(path));
	}
	else {
		(void)re_snprintf(path, sizeof(path), "%s.tls.pem",
				  cfg->store_path);

		if (stat(path, &sb)) {
			err = cert_make(path, cfg->sip_domain);
			if (err) {
				DEBUG_WARNING("%s: cannot make certificate:"
					      " %m\n", path, err);
				return err;
			}
		}
	}

	err = tls_alloc(tlsp, TLS_METHOD_SSLV23, path, NULL);
	if (err)
		DEBUG_WARNING("%s: cannot load certificate and key: %m\n",
			      path, err);

	return err;
}


static int listen_all(struct sip *sip, enum sip_transp tp,
		      const struct sb_listen *lsn, struct tls *tls)
{
	size_t i;

	for (i = 0; i < lsn->addrc; i++) {
		int err = sip_transp_add(sip, tp, &lsn->addrv[i], tls);

		if (err) {
			DEBUG_WARNING("cannot listen on %s %J: %m\n",
				      sip_transp_name(tp), &lsn->addrv[i],
				      err);
			return err;
		}

		DEBUG_INFO("listening on %s %J\n", sip_transp_name(tp),
			   &lsn->addrv[i]);
	}

	return 0;
}


/* Bursts of requests (phones re-registering after an outage, a call
 * storm) must wait in the kernel, not be dropped: the default UDP
 * receive buffer (208 KiB) holds some 300 REGISTERs, a few tens of
 * milliseconds of them. libre does not expose its SIP sockets, so ours
 * are found among the process's descriptors by their bound address. The
 * kernel caps the size at net.core.rmem_max. */
static void udp_buffers_raise(const struct sb_conf *cfg)
{
	const int size = UDP_RCVBUF;
	struct dirent *de;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return;

	while ((de = readdir(dir)) != NULL) {
		int fd = atoi(de->d_name), type = 0;
		socklen_t len = sizeof(type);
		struct sa local;
		size_t i;

		if (fd <= 2 || fd == dirfd(dir) ||
		    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
		    type != SOCK_DGRAM)
			continue;

		sa_init(&local, AF_UNSPEC);
		if (getsockname(fd, &local.u.sa, &local.len))
			continue;

		for (i = 0; i < cfg->sip_udp.addrc; i++) {
			if (!sa_cmp(&local, &cfg->sip_udp.addrv[i], SA_ALL))
				continue;

			if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
				       sizeof(size)))
				DEBUG_NOTICE("%J: receive buffer: %m\n",
					     &local, errno);
		}
	}

	closedir(dir);
}


/**
 * Open every configured SIP listener
 *
 * @param sip SIP stack
 * @param cfg Configuration
 *
 * @return 0 if success, otherwise errorcode
 */
int transport_init(struct sip *sip, const struct sb_conf *cfg)
{
	struct tls *tls = NULL;
	int err;

	if (!sip || !cfg)
		return EINVAL;

	/* before the listeners: no connection is ever uncounted */
	err = tcp_guard_init(cfg);
	if (!err)
		err = listen_all(sip, SIP_TRANSP_UDP, &cfg->sip_udp, NULL);
	if (!err)
		udp_buffers_raise(cfg);
	if (!err)
		err = listen_all(sip, SIP_TRANSP_TCP, &cfg->sip_tcp, NULL);
	if (err || !cfg->sip_tls.addrc)
		return err;

	err = tls_setup(&tls, cfg);
	if (!err)
		err = listen_all(sip, SIP_TRANSP_TLS, &cfg->sip_tls, tls);

	/* each TLS listener holds its own reference */
	mem_deref(tls);

	return err;
}
