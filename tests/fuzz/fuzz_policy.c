// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for the policy parser (tests/fuzz.sh builds and runs it).
 *
 * An input is a policy, optionally followed by a line "#@setfile" and the
 * text of a set file: that part is written to set.txt in a private temporary
 * folder, so the set-file scanner is fuzzed too. Set files are confined to
 * that folder, so no input can make the parser read anything else.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy.h"

static char dir[64];
static char setfile[96];
static FILE *devnull;
static struct policy_opts opts;

static void cleanup(void)
{
	unlink(setfile);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(dir, "/tmp/fg-fuzz.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(setfile, sizeof(setfile), "%s/set.txt", dir);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	opts.confine_dir = dir;
	opts.base_dir = dir;
	atexit(cleanup);
	return 0;
}

static void write_setfile(const uint8_t *data, size_t size)
{
	FILE *f = fopen(setfile, "w");

	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char mark[] = "\n#@setfile\n";
	const uint8_t *split = memmem(data, size, mark, sizeof(mark) - 1);
	size_t ylen = split ? (size_t)(split - data) : size;
	struct policy p;
	int n;

	if (split)
		write_setfile(split + sizeof(mark) - 1, size - ylen - (sizeof(mark) - 1));
	else
		unlink(setfile);
	policy_parse("fuzz.yaml", (const char *)data, ylen, &opts, &p, devnull, &n);
	policy_free(&p);
	return 0;
}
