/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Minimal test framework, after the kernel's selftests: ASSERT_* macros
 * return bool so a test reads `if (!ASSERT_OK(err, "attach")) goto out;`.
 * Each test binary runs its test_*() functions via RUN_TEST and prints
 * "PASS name" / "FAIL name" lines; tests/run.sh counts them.
 */
#ifndef FG_TEST_H
#define FG_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>

extern int fg_test_failed; /* failures in the current test */
extern int fg_tests_pass, fg_tests_fail;

#define FG_TEST_FAILF(fmt, ...)                                                  \
	do {                                                                     \
		fprintf(stderr, "  %s:%d: " fmt "\n", __FILE__, __LINE__,        \
			##__VA_ARGS__);                                          \
		fg_test_failed++;                                                \
	} while (0)

#define ASSERT_TRUE(cond, name)                                                  \
	({                                                                       \
		bool ___ok = !!(cond);                                           \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: expected true: %s", name, #cond);     \
		___ok;                                                           \
	})
#define ASSERT_FALSE(cond, name) ASSERT_TRUE(!(cond), name)

#define ASSERT_OK(err, name)                                                     \
	({                                                                       \
		long long ___e = (long long)(err);                               \
		bool ___ok = ___e == 0;                                          \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: unexpected error %lld (%s)", name,    \
				      ___e, strerror(___e < 0 ? -___e : ___e));  \
		___ok;                                                           \
	})

#define ASSERT_EQ(a, b, name)                                                    \
	({                                                                       \
		long long ___a = (long long)(a), ___b = (long long)(b);          \
		bool ___ok = ___a == ___b;                                       \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: %s = %lld, want %lld", name, #a,      \
				      ___a, ___b);                               \
		___ok;                                                           \
	})
#define ASSERT_NEQ(a, b, name)                                                   \
	({                                                                       \
		long long ___a = (long long)(a), ___b = (long long)(b);          \
		bool ___ok = ___a != ___b;                                       \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: %s = %lld, want anything else", name, \
				      #a, ___a);                                 \
		___ok;                                                           \
	})
#define ASSERT_GE(a, b, name)                                                    \
	({                                                                       \
		long long ___a = (long long)(a), ___b = (long long)(b);          \
		bool ___ok = ___a >= ___b;                                       \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: %s = %lld, want >= %lld", name, #a,   \
				      ___a, ___b);                               \
		___ok;                                                           \
	})
#define ASSERT_STREQ(a, b, name)                                                 \
	({                                                                       \
		const char *___a = (a), *___b = (b);                             \
		bool ___ok = ___a && ___b && strcmp(___a, ___b) == 0;            \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: got \"%s\", want \"%s\"", name,       \
				      ___a ? ___a : "(null)",                    \
				      ___b ? ___b : "(null)");                   \
		___ok;                                                           \
	})
#define ASSERT_STRSTR(hay, needle, name)                                         \
	({                                                                       \
		const char *___h = (hay), *___n = (needle);                      \
		bool ___ok = ___h && ___n && strstr(___h, ___n);                 \
		if (!___ok)                                                      \
			FG_TEST_FAILF("%s: \"%s\" not found in \"%s\"", name,    \
				      ___n ? ___n : "(null)",                    \
				      ___h ? ___h : "(null)");                   \
		___ok;                                                           \
	})

#define RUN_TEST(fn)                                                             \
	do {                                                                     \
		fg_test_failed = 0;                                              \
		fn();                                                            \
		if (fg_test_failed) {                                            \
			fg_tests_fail++;                                         \
			printf("FAIL %s\n", #fn);                                \
		} else {                                                         \
			fg_tests_pass++;                                         \
			printf("PASS %s\n", #fn);                                \
		}                                                                \
		fflush(stdout);                                                  \
	} while (0)

/* Define once per test binary (in the file with main). */
#define FG_TEST_GLOBALS int fg_test_failed, fg_tests_pass, fg_tests_fail
#define FG_TEST_EXIT() ((fg_tests_fail) ? 1 : 0)

#endif /* FG_TEST_H */
