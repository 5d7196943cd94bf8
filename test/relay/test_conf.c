/**
 * @file test_conf.c  sbrelay's command-line options
 */
#include <string.h>
#include <re.h>
#include "../../media/relay.h"
#include "relaytest.h"


static int parse(struct relay_conf *cfg, const char *a, const char *b,
		 const char *c)
{
	char *argv[] = {"sbrelay", (char *)a, (char *)b, (char *)c, NULL};
	int argc = 1 + (a != NULL) + (b != NULL) + (c != NULL);

	conf_defaults(cfg);

	return conf_parse(cfg, argc, argv);
}


int test_relay_conf(void)
{
	struct relay_conf cfg;
	char buf[64];
	int err = 0;

	/* defaults */
	TEST_CHECK(parse(&cfg, NULL, NULL, NULL));
	TEST_STRCMP("./sbrelay.sock", cfg.listen);
	TEST_EQUALS(30000, cfg.port_min);
	TEST_EQUALS(39999, cfg.port_max);
	TEST_EQUALS(10, cfg.rtp_timeout);
	TEST_ASSERT(cfg.threads >= 1);
	TEST_EQUALS(AF_UNSPEC, sa_af(&cfg.tcp));
	(void)re_snprintf(buf, sizeof(buf), "%j", &cfg.addr);
	TEST_STRCMP("127.0.0.1", buf);

	/* short and long forms */
	TEST_CHECK(parse(&cfg, "-p", "30001-30010", "-T3"));
	TEST_EQUALS(30002, cfg.port_min);
	TEST_EQUALS(30010, cfg.port_max);
	TEST_EQUALS(3, cfg.rtp_timeout);
	TEST_CHECK(parse(&cfg, "--threads=4", "-l", "/tmp/x.sock"));
	TEST_EQUALS(4, cfg.threads);
	TEST_STRCMP("/tmp/x.sock", cfg.listen);
	TEST_CHECK(parse(&cfg, "-t", "[::1]:2223", "--address=::1"));
	TEST_EQUALS(AF_INET6, sa_af(&cfg.tcp));
	TEST_EQUALS(2223, sa_port(&cfg.tcp));
	TEST_EQUALS(AF_INET6, sa_af(&cfg.addr));
	TEST_CHECK(parse(&cfg, "-T", "0", NULL));
	TEST_EQUALS(0, cfg.rtp_timeout);

	/* refused */
	TEST_ASSERT(parse(&cfg, "-p", "40000-30000", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-p", "30000-30000", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-p", "80-90", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-p", "30000-70000", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-p", "30000", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-a", "0.0.0.0", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-a", "relay.example", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-t", "127.0.0.1", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-j", "0", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-T", "5s", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-T", "99999999999", NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-x", NULL, NULL) != 0);
	TEST_ASSERT(parse(&cfg, "-T", NULL, NULL) != 0);
	TEST_ASSERT(parse(&cfg, "extra", NULL, NULL) != 0);

 out:
	return err;
}
