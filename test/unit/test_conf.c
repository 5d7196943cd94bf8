/**
 * @file test_conf.c  Configuration parser tests
 */
#include <string.h>
#include <re.h>
#include "sipcore.h"
#include "test.h"


static int parse(struct sb_conf *cfg, const char *text)
{
	conf_defaults(cfg);

	return conf_parse(cfg, text, strlen(text), "test.conf");
}


int test_conf(void)
{
	static const char *badv[] = {
		"nonsense_key 1\n",
		"sip_domain\n",
		"reg_min_expires 5\n",
		"reg_min_expires 99999999999\n",
		"reg_min_expires 12x\n",
		"reg_min_expires -1\n",
		"sip_listen_udp 127.0.0.1\n",
		"sip_listen_udp 300.1.1.1:5060\n",
		"log_level loud\n",
		"relay_address pbx.local\n",
		"relay_address 0.0.0.0\n",
		"relay_port_min 40000\nrelay_port_max 30000\n",
		"api_token short\n",
		"reg_min_expires 600\nreg_max_expires 300\n",
		("sip_listen_udp none\nsip_listen_tcp none\n"
		 "sip_listen_tls none\n"),
	};
	struct sb_conf cfg;
	size_t i;
	int err = 0;

	/* defaults alone are valid */
	conf_defaults(&cfg);
	TEST_EQUALS(2, cfg.sip_udp.addrc);
	TEST_EQUALS(5060, sa_port(&cfg.sip_udp.addrv[0]));
	TEST_STRCMP("pbx.local", cfg.sip_domain);

	TEST_CHECK(parse(&cfg,
			 "# a comment\n"
			 "\n"
			 "sip_listen_udp  10.0.0.1:5070 [::1]:5072\r\n"
			 "sip_listen_tls none   # off\n"
			 "sip_domain example.org\n"
			 "reg_min_expires 30\n"
			 "log_level debug\n"
			 "api_token 0123456789abcdef0123\n"));

	TEST_EQUALS(2, cfg.sip_udp.addrc);
	TEST_EQUALS(5070, sa_port(&cfg.sip_udp.addrv[0]));
	TEST_EQUALS(AF_INET6, sa_af(&cfg.sip_udp.addrv[1]));
	TEST_EQUALS(0, cfg.sip_tls.addrc);
	TEST_STRCMP("example.org", cfg.sip_domain);
	TEST_EQUALS(30, cfg.reg_min_expires);
	TEST_EQUALS(7, cfg.log_level);  /* DBG_DEBUG */
	TEST_STRCMP("0123456789abcdef0123", cfg.api_token);

	for (i = 0; i < ARRAY_SIZE(badv); i++) {
		if (!parse(&cfg, badv[i])) {
			(void)re_fprintf(stderr, "accepted: %s", badv[i]);
			TEST_ERR(EINVAL);
		}
	}

	TEST_ASSERT(conf_load(&cfg, "/nonexistent/switchboard.conf") != 0);

 out:
	return err;
}
