/**
 * @file test.h  Unit test helpers: assertions that set err and jump to out
 */
#ifndef TEST_H
#define TEST_H

#define TEST_ERR(e) do {						\
		err = (e);						\
		(void)re_fprintf(stderr, "%s:%u: %m\n",			\
				 __FILE__, __LINE__, err);		\
		goto out;						\
	} while (0)

#define TEST_ASSERT(cond) do {						\
		if (!(cond)) {						\
			(void)re_fprintf(stderr, "%s:%u: assert: %s\n",	\
					 __FILE__, __LINE__, #cond);	\
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)

/* each side is evaluated once: a call with side effects is safe in it */
#define TEST_EQUALS(exp, act) do {					\
		const long long exp_ = (long long)(exp);		\
		const long long act_ = (long long)(act);		\
		if (exp_ != act_) {					\
			(void)re_fprintf(stderr, "%s:%u: expected %lld,"\
					 " got %lld\n", __FILE__,	\
					 __LINE__, exp_, act_);		\
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)

#define TEST_STRCMP(exp, act) do {					\
		if (str_cmp((exp), (act))) {				\
			(void)re_fprintf(stderr, "%s:%u: expected '%s',"\
					 " got '%s'\n", __FILE__,	\
					 __LINE__, (exp), (act));	\
			err = EINVAL;					\
			goto out;					\
		}							\
	} while (0)

#define TEST_CHECK(call) do {						\
		err = (call);						\
		if (err)						\
			TEST_ERR(err);					\
	} while (0)

int test_conf(void);
int test_digest(void);
int test_digest_rfc8760(void);
int test_nonce(void);
int test_store(void);
int test_store_migrate(void);
int test_store_corrupt(void);
int test_store_batch(void);
int test_router(void);
int test_sipcheck(void);
int test_timers(void);
int test_sdp_mirror(void);
int test_sdp_local(void);
int test_hold_sdp(void);
int test_hold_state(void);
int test_hold_conf(void);
int test_tcp_guard(void);

#endif
