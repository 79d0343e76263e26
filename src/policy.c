// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy file parser and validator (DESIGN.md §2, reference in
 * docs/policy.md).
 *
 * The YAML text is read with libyaml's event API into a small tree that
 * keeps every node's line and column; the tree is then walked against the
 * schema. Errors are collected instead of stopping at the first one, so that
 * `flowgate check` shows everything wrong in one pass, and are printed sorted
 * by position at the end. Set files are not YAML: they may hold millions of
 * lines, so they get a hand-written line scanner and CIDR parser.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include <yaml.h>

#include <flowgate/abi.h>
#include "policy.h"

/* Nesting deeper than this is not a policy; refuse it before it costs. */
#define MAX_DEPTH 64
/* Anchors and aliases are allowed (handy for shared backend lists) but
 * bounded: lookups are linear, and expansion must not explode. */
#define MAX_ANCHORS 1024
#define MAX_ALIASES 4096
#define ALIAS_BUDGET (1u << 20) /* nodes added by alias expansion */
/* A set file with more bad lines than this is not worth listing in full. */
#define SETFILE_MAX_ERRORS 100
/* Set files are read whole; beyond this something is wrong. */
#define SETFILE_MAX_BYTES (1ull << 30)
/* Size of a value's path in messages ("services[2].backends[0].port"). */
#define WLEN 200
/* Values quoted in messages are cut here. */
#define QUOTE_MAX 64

/* ---- small arena: the YAML tree is freed in one go -------------------- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	/* data follows; the header is 24 bytes, so data is 8-byte aligned */
};

struct arena {
	struct arena_chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *ch = a->head;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (!ch || ch->cap - ch->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		ch = malloc(sizeof(*ch) + cap);
		if (!ch)
			return NULL;
		ch->next = a->head;
		ch->used = 0;
		ch->cap = cap;
		a->head = ch;
	}
	p = (char *)(ch + 1) + ch->used;
	ch->used += n;
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* ---- the YAML tree ----------------------------------------------------- */

enum { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	int type;
	bool plain;	 /* unquoted scalar: may be null */
	int line, col;	 /* 1-based */
	size_t n;	 /* scalar: bytes; list: items; mapping: pairs */
	uint64_t weight; /* nodes in this subtree, aliases expanded */
	union {
		const char *s;
		struct ynode **kids; /* mapping: key, value, key, value, ... */
	};
};

/* ---- parse context and error list -------------------------------------- */

struct perr {
	const char *file; /* NULL: the policy itself */
	int line, col;
	int kline, kcol; /* where in the policy it sorts */
	size_t seq;
	char *msg;
};

struct frame {
	struct ynode *node;
	struct ynode **kids;
	size_t n, cap;
	char *anchor;
};

struct anchor {
	char *name;
	struct ynode *node;
};

struct pctx {
	const char *name;
	const struct policy_opts *opts;
	struct policy *p;
	struct arena arena;
	struct perr *errs;
	size_t nerrs, caperrs, seq;
	int total; /* errors, including ones not shown */
	bool oom;

	/* tree building */
	struct frame *stack;
	size_t depth, capstack;
	struct anchor *anchors;
	size_t nanchors, naliases;
	uint64_t nodes;
	struct ynode *root;

	/* sets */
	size_t *set_order; /* named sets sorted by name, first definition only */
	size_t nset_order;
	bool *set_used;
	size_t nsets_used;
	char *confine_real;
	bool confine_failed;
};

static void *xcalloc(struct pctx *c, size_t n, size_t size)
{
	void *p;

	if (!n)
		return NULL;
	p = calloc(n, size);
	if (!p)
		c->oom = true;
	return p;
}

static char *xstrdup(struct pctx *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

static void perr_add(struct pctx *c, const char *file, int line, int col, int kline, int kcol,
		     const char *fmt, va_list ap)
{
	struct perr *e;
	char *msg;

	c->total++;
	if (vasprintf(&msg, fmt, ap) < 0) {
		c->oom = true;
		return;
	}
	if (c->nerrs == c->caperrs) {
		size_t cap = c->caperrs ? 2 * c->caperrs : 16;
		struct perr *n = realloc(c->errs, cap * sizeof(*n));

		if (!n) {
			free(msg);
			c->oom = true;
			return;
		}
		c->errs = n;
		c->caperrs = cap;
	}
	e = &c->errs[c->nerrs++];
	*e = (struct perr){file, line, col, kline, kcol, c->seq++, msg};
}

__attribute__((format(printf, 4, 5))) static void perr_pos(struct pctx *c, int line, int col,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	perr_add(c, NULL, line, col, line, col, fmt, ap);
	va_end(ap);
}

/* Report at a node: the offending value, or the key for an unknown key. */
__attribute__((format(printf, 3, 4))) static void perr(struct pctx *c, const struct ynode *n,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	perr_add(c, NULL, n->line, n->col, n->line, n->col, fmt, ap);
	va_end(ap);
}

/* Report inside a set file; sorts where the file is named in the policy. */
__attribute__((format(printf, 6, 7))) static void perr_file(struct pctx *c, const char *file,
							    const struct ynode *at, int line,
							    int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	perr_add(c, file, line, col, at->line, at->col, fmt, ap);
	va_end(ap);
}

static int perr_cmp(const void *a, const void *b)
{
	const struct perr *x = a, *y = b;

	if (x->kline != y->kline)
		return x->kline < y->kline ? -1 : 1;
	if (x->kcol != y->kcol)
		return x->kcol < y->kcol ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void perr_flush(struct pctx *c, FILE *err)
{
	if (c->nerrs)
		qsort(c->errs, c->nerrs, sizeof(*c->errs), perr_cmp);
	for (size_t i = 0; i < c->nerrs; i++) {
		struct perr *e = &c->errs[i];

		if (err)
			fprintf(err, "%s:%d:%d: %s\n", e->file ? e->file : c->name, e->line, e->col,
				e->msg);
		free(e->msg);
	}
	free(c->errs);
	c->errs = NULL;
	c->nerrs = c->caperrs = 0;
}

/*
 * Quote a value for a message: control characters escaped (one error stays
 * one line) and long values cut, since they may come from anywhere.
 */
struct qbuf {
	char s[QUOTE_MAX * 4 + 8];
};

static const char *quote_n(struct qbuf *q, const char *s, size_t n)
{
	size_t o = 0;

	q->s[o++] = '"';
	for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char ch = s[i];

		if (ch == '"' || ch == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += sprintf(q->s + o, "\\x%02x", ch);
		} else {
			q->s[o++] = ch;
		}
	}
	if (n > QUOTE_MAX) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o++] = '"';
	q->s[o] = 0;
	return q->s;
}

static const char *quote(struct qbuf *q, const char *s)
{
	return quote_n(q, s, strlen(s));
}

/* Build the path of a value for messages; cut silently if too long. */
__attribute__((format(printf, 2, 3))) static const char *wfmt(char w[WLEN], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w, WLEN, fmt, ap);
	va_end(ap);
	return w;
}

/* "a, b or c" */
static const char *join_names(char *buf, size_t size, const char *const *names)
{
	size_t n = 0, o = 0;

	while (names[n])
		n++;
	buf[0] = 0;
	for (size_t i = 0; i < n && o < size; i++) {
		const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";

		o += snprintf(buf + o, size - o, "%s%s", sep, names[i]);
	}
	return buf;
}

/* ---- building the tree from libyaml events ------------------------------ */

static struct ynode *node_new(struct pctx *c, int type, const yaml_mark_t *m)
{
	struct ynode *n = arena_alloc(&c->arena, sizeof(*n));

	if (!n) {
		c->oom = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->type = type;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->weight = 1;
	c->nodes++;
	return n;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Attach a finished node to the open list or mapping (or make it the root). */
static int tree_attach(struct pctx *c, struct ynode *n)
{
	struct frame *f;

	if (!c->depth) {
		c->root = n;
		return 0;
	}
	f = &c->stack[c->depth - 1];
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		struct ynode **k = realloc(f->kids, cap * sizeof(*k));

		if (!k) {
			c->oom = true;
			return -ENOMEM;
		}
		f->kids = k;
		f->cap = cap;
	}
	f->kids[f->n++] = n;
	f->node->weight = sat_add(f->node->weight, n->weight);
	/* Shared (aliased) subtrees count once per use: stop a "billion
	 * laughs" document before walking it costs anything. */
	if (f->node->weight > c->nodes + ALIAS_BUDGET) {
		perr(c, n, "aliases expand to too many nodes (more than %u added)", ALIAS_BUDGET);
		return -EINVAL;
	}
	return 0;
}

static int anchor_add(struct pctx *c, char *name, struct ynode *n, const yaml_mark_t *m)
{
	if (c->nanchors == MAX_ANCHORS) {
		perr_pos(c, (int)m->line + 1, (int)m->column + 1, "more than %d YAML anchors",
			 MAX_ANCHORS);
		free(name);
		return -EINVAL;
	}
	if (!c->anchors) {
		c->anchors = calloc(MAX_ANCHORS, sizeof(*c->anchors));
		if (!c->anchors) {
			free(name);
			c->oom = true;
			return -ENOMEM;
		}
	}
	c->anchors[c->nanchors++] = (struct anchor){name, n};
	return 0;
}

static int anchor_take(struct pctx *c, const yaml_char_t *a, struct ynode *n, const yaml_mark_t *m)
{
	char *name;

	if (!a)
		return 0;
	name = strdup((const char *)a);
	if (!name) {
		c->oom = true;
		return -ENOMEM;
	}
	return anchor_add(c, name, n, m);
}

static int on_alias(struct pctx *c, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct qbuf q;

	if (++c->naliases > MAX_ALIASES) {
		perr_pos(c, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			 "more than %d YAML aliases", MAX_ALIASES);
		return -EINVAL;
	}
	/* Latest definition wins, as YAML says; an anchor is registered only
	 * when its node is complete, so a node cannot contain itself. */
	for (size_t i = c->nanchors; i-- > 0;)
		if (!strcmp(c->anchors[i].name, name))
			return tree_attach(c, c->anchors[i].node);
	perr_pos(c, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		 "alias %s refers to no anchor defined before it", quote(&q, name));
	return -EINVAL;
}

static int on_scalar(struct pctx *c, const yaml_event_t *ev)
{
	struct ynode *n = node_new(c, Y_SCALAR, &ev->start_mark);
	char *s;

	if (!n)
		return -ENOMEM;
	s = arena_alloc(&c->arena, ev->data.scalar.length + 1);
	if (!s) {
		c->oom = true;
		return -ENOMEM;
	}
	memcpy(s, ev->data.scalar.value, ev->data.scalar.length);
	s[ev->data.scalar.length] = 0;
	n->s = s;
	n->n = ev->data.scalar.length;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (anchor_take(c, ev->data.scalar.anchor, n, &ev->start_mark))
		return -EINVAL;
	return tree_attach(c, n);
}

static int on_open(struct pctx *c, const yaml_event_t *ev, int type)
{
	const yaml_char_t *anchor =
	    type == Y_SEQ ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
	struct ynode *n;
	struct frame *f;

	if (c->depth == MAX_DEPTH) {
		perr_pos(c, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			 "nesting deeper than %d levels", MAX_DEPTH);
		return -EINVAL;
	}
	if (c->depth == c->capstack) {
		size_t cap = c->capstack ? 2 * c->capstack : 16;
		struct frame *s = realloc(c->stack, cap * sizeof(*s));

		if (!s) {
			c->oom = true;
			return -ENOMEM;
		}
		c->stack = s;
		c->capstack = cap;
	}
	n = node_new(c, type, &ev->start_mark);
	if (!n)
		return -ENOMEM;
	f = &c->stack[c->depth++];
	*f = (struct frame){.node = n};
	if (anchor) {
		f->anchor = strdup((const char *)anchor);
		if (!f->anchor) {
			c->oom = true;
			return -ENOMEM;
		}
	}
	return 0;
}

static int on_close(struct pctx *c, const yaml_event_t *ev)
{
	struct frame *f = &c->stack[--c->depth];
	struct ynode *n = f->node;
	int err = 0;

	n->n = n->type == Y_MAP ? f->n / 2 : f->n;
	if (f->n) {
		n->kids = arena_alloc(&c->arena, f->n * sizeof(*n->kids));
		if (n->kids)
			memcpy(n->kids, f->kids, f->n * sizeof(*n->kids));
		else
			c->oom = true;
	}
	free(f->kids);
	if (c->oom) {
		free(f->anchor);
		return -ENOMEM;
	}
	if (f->anchor)
		err = anchor_add(c, f->anchor, n, &ev->start_mark);
	return err ? err : tree_attach(c, n);
}

static void yaml_error(struct pctx *c, const yaml_parser_t *yp, const char *buf, size_t len)
{
	int line = (int)yp->problem_mark.line + 1, col = (int)yp->problem_mark.column + 1;
	const char *problem = yp->problem ? yp->problem : "unknown error";

	if (yp->error == YAML_MEMORY_ERROR) {
		c->oom = true;
		return;
	}
	if (yp->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		size_t end = yp->problem_offset < len ? yp->problem_offset : len;

		line = col = 1;
		for (size_t i = 0; i < end; i++, col++)
			if (buf[i] == '\n') {
				line++;
				col = 0;
			}
	}
	if (yp->context)
		perr_pos(c, line, col, "YAML syntax error: %s (%s at line %zu, column %zu)",
			 problem, yp->context, yp->context_mark.line + 1,
			 yp->context_mark.column + 1);
	else
		perr_pos(c, line, col, "YAML syntax error: %s", problem);
}

static int on_event(struct pctx *c, const yaml_event_t *ev, int *ndocs)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*ndocs > 1) {
			perr_pos(c, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
				 "a policy file holds one YAML document; found a second one");
			return -EINVAL;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		return on_alias(c, ev);
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(c, ev, Y_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_open(c, ev, Y_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return on_close(c, ev);
	default:
		return 0;
	}
}

/* Build c->root from the text; errors are reported, -EINVAL/-ENOMEM. */
static int tree_build(struct pctx *c, const char *buf, size_t len)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int ndocs = 0, err = 0;
	bool done = false;

	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)buf, len);
	while (!done && !err) {
		if (!yaml_parser_parse(&yp, &ev)) {
			yaml_error(c, &yp, buf, len);
			err = c->oom ? -ENOMEM : -EINVAL;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		err = on_event(c, &ev, &ndocs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	/* On error, unwind open frames (their nodes live in the arena). */
	while (c->depth) {
		struct frame *f = &c->stack[--c->depth];

		free(f->kids);
		free(f->anchor);
	}
	return c->oom ? -ENOMEM : err;
}

/* ---- tree access helpers -------------------------------------------------- */

static bool is_null(const struct ynode *n)
{
	if (!n)
		return true;
	if (n->type != Y_SCALAR || !n->plain)
		return false;
	return !n->n || !strcmp(n->s, "~") || !strcmp(n->s, "null") || !strcmp(n->s, "Null") ||
	       !strcmp(n->s, "NULL");
}

static const char *kind(const struct ynode *n)
{
	if (is_null(n))
		return "nothing";
	if (n->type == Y_MAP)
		return "a mapping";
	if (n->type == Y_SEQ)
		return "a list";
	return "a string";
}

static const struct ynode *map_key(const struct ynode *m, size_t i)
{
	return m->kids[2 * i];
}

static const struct ynode *map_val(const struct ynode *m, size_t i)
{
	return m->kids[2 * i + 1];
}

static bool key_is(const struct ynode *k, const char *name)
{
	return k->type == Y_SCALAR && !strcmp(k->s, name) && strlen(name) == k->n;
}

/* The value of `key` in mapping m (first one if repeated), or NULL. */
static const struct ynode *map_get(const struct ynode *m, const char *key)
{
	if (!m || m->type != Y_MAP)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (key_is(map_key(m, i), key))
			return map_val(m, i);
	return NULL;
}

static const char *sep(const char *where)
{
	return *where ? ": " : "";
}

/* Edit distance with transpositions (optimal string alignment), for "did
 * you mean": "dprot" is one edit from "dport". Names are short. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[32][32];

	if (la >= 32 || lb >= 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* A known name close enough to be a typo of s: at most two edits, and fewer
 * than half of s (or "foo" would suggest "log"). */
static const char *closest(const char *s, const char *const *names)
{
	const char *best = NULL;
	size_t bd = 3, len = strlen(s);

	for (size_t i = 0; names[i]; i++) {
		size_t d = edit_distance(s, names[i]);

		if (d < bd && 2 * d < len) {
			bd = d;
			best = names[i];
		}
	}
	return best;
}

/*
 * Check that m is a mapping whose keys are all in `keys`, each at most once.
 * Returns false (after reporting) when m is not a mapping at all.
 */
static bool check_keys(struct pctx *c, const struct ynode *m, const char *where,
		       const char *const *keys, const char *what)
{
	/* Line each allowed key was first seen on (0: not yet): duplicate
	 * checks stay linear however many keys a hostile mapping has. */
	int first[32] = {0};
	char alts[512];

	if (!m || m->type != Y_MAP) {
		perr(c, m, "%s%sexpected %s, got %s", where, sep(where), what, kind(m));
		return false;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct ynode *k = map_key(m, i);
		const char *near;
		struct qbuf q;
		size_t j;

		if (k->type != Y_SCALAR) {
			perr(c, k, "%s%skeys must be plain words, got %s", where, sep(where),
			     kind(k));
			continue;
		}
		for (j = 0; keys[j]; j++)
			if (key_is(k, keys[j]))
				break;
		if (!keys[j]) {
			near = closest(k->s, keys);
			perr(c, k, "%s%sunknown key %s%s%s%s; expected %s", where, sep(where),
			     quote_n(&q, k->s, k->n), near ? " (did you mean \"" : "",
			     near ? near : "", near ? "\"?)" : "",
			     join_names(alts, sizeof(alts), keys));
			continue;
		}
		if (first[j])
			perr(c, k, "%s%sduplicate key \"%s\" (first at line %d)", where, sep(where),
			     keys[j], first[j]);
		else
			first[j] = k->line;
	}
	return true;
}

/* A scalar's text, or NULL after reporting what was expected instead. */
static const char *scalar(struct pctx *c, const struct ynode *n, const char *where,
			  const char *expect)
{
	if (n->type != Y_SCALAR) {
		perr(c, n, "%s: expected %s, got %s", where, expect, kind(n));
		return NULL;
	}
	if (is_null(n)) {
		perr(c, n, "%s: missing value; expected %s", where, expect);
		return NULL;
	}
	if (strlen(n->s) != n->n) {
		perr(c, n, "%s: value contains a NUL byte", where);
		return NULL;
	}
	return n->s;
}

static const struct ynode *require(struct pctx *c, const struct ynode *m, const char *where,
				   const char *key, const char *expect)
{
	const struct ynode *v = map_get(m, key);

	if (!v)
		perr(c, m, "%s%smissing key \"%s\" (%s)", where, sep(where), key, expect);
	return v;
}

/* One of names[], storing vals[i]; false after reporting. */
static bool get_enum(struct pctx *c, const struct ynode *n, const char *where,
		     const char *const *names, const int *vals, int *out)
{
	char alts[256];
	const char *s;
	struct qbuf q;

	join_names(alts, sizeof(alts), names);
	s = scalar(c, n, where, alts);
	if (!s)
		return false;
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = vals[i];
			return true;
		}
	perr(c, n, "%s: unknown value %s; expected %s", where, quote(&q, s), alts);
	return false;
}

/*
 * Decimal digits only: no sign, no hex, no spaces. -EINVAL (no digits) or
 * -ERANGE; *end is past the digits in every case, so callers can look at a
 * unit suffix even for a number that is too large.
 */
static int scan_u64(const char *s, uint64_t *v, const char **end)
{
	bool range = false;
	const char *p = s;
	uint64_t x = 0;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (UINT64_MAX - (*p - '0')) / 10)
			range = true;
		x = x * 10 + (*p - '0');
	}
	*end = p;
	if (p == s)
		return -EINVAL;
	*v = x;
	return range ? -ERANGE : 0;
}

static bool get_uint(struct pctx *c, const struct ynode *n, const char *where, uint64_t lo,
		     uint64_t hi, uint64_t *out)
{
	char expect[64];
	const char *s, *end;
	struct qbuf q;
	uint64_t v;
	int err;

	snprintf(expect, sizeof(expect), "a whole number %llu-%llu", (unsigned long long)lo,
		 (unsigned long long)hi);
	s = scalar(c, n, where, expect);
	if (!s)
		return false;
	err = scan_u64(s, &v, &end);
	if (!err && *end)
		err = -EINVAL;
	if (err == -EINVAL) {
		perr(c, n, "%s: expected %s, got %s", where, expect, quote(&q, s));
		return false;
	}
	if (err || v < lo || v > hi) {
		perr(c, n, "%s: %s out of range; expected %llu-%llu", where, s,
		     (unsigned long long)lo, (unsigned long long)hi);
		return false;
	}
	*out = v;
	return true;
}

static bool get_u32(struct pctx *c, const struct ynode *n, const char *where, uint64_t lo,
		    uint64_t hi, uint32_t *out)
{
	uint64_t v;

	if (!get_uint(c, n, where, lo, hi, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool get_bool(struct pctx *c, const struct ynode *n, const char *where, bool *out)
{
	static const char *const names[] = {"true", "false", "yes", "no", "on", "off", NULL};
	static const int vals[] = {1, 0, 1, 0, 1, 0};
	int v;

	if (!get_enum(c, n, where, names, vals, &v))
		return false;
	*out = v;
	return true;
}

static bool get_string(struct pctx *c, const struct ynode *n, const char *where, const char *expect,
		       char **out)
{
	const char *s = scalar(c, n, where, expect);

	if (!s)
		return false;
	free(*out);
	*out = xstrdup(c, s);
	return *out != NULL;
}

/* A duration > 0; `ms` untouched on error. */
static bool get_duration(struct pctx *c, const struct ynode *n, const char *where, uint64_t *ms)
{
	static const char expect[] = "a duration like 500ms, 30s, 10m or 1h (plain number = "
				     "seconds)";
	const char *s = scalar(c, n, where, expect);
	struct qbuf q;
	uint64_t v;
	int err;

	if (!s)
		return false;
	err = parse_duration_ms(s, &v);
	if (err == -ERANGE) {
		perr(c, n, "%s: duration %s too long", where, quote(&q, s));
		return false;
	}
	if (err) {
		perr(c, n, "%s: bad duration %s; expected %s", where, quote(&q, s), expect);
		return false;
	}
	if (!v) {
		perr(c, n, "%s: duration must be above zero", where);
		return false;
	}
	*ms = v;
	return true;
}

/* "N/s": packets per second, 1..2^32-1. */
static bool get_pps(struct pctx *c, const struct ynode *n, const char *where, uint32_t *out)
{
	static const char expect[] = "packets per second like \"1000/s\"";
	const char *s = scalar(c, n, where, expect), *end;
	struct qbuf q;
	uint64_t v;

	if (!s)
		return false;
	if (scan_u64(s, &v, &end) || strcmp(end, "/s")) {
		perr(c, n, "%s: bad rate %s; expected %s", where, quote(&q, s), expect);
		return false;
	}
	if (!v || v > UINT32_MAX) {
		perr(c, n, "%s: rate %s out of range; expected 1/s-%u/s", where, s, UINT32_MAX);
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* ---- CIDRs ----------------------------------------------------------------- */

enum { CIDR_OK, CIDR_SYNTAX, CIDR_PREFIX, CIDR_HOSTBITS };

/* Dotted quad, each part 0-255 without leading zeros (they read as octal
 * to some tools, so they are refused rather than guessed). */
static int v4_scan(const char *s, size_t n, uint8_t *addr)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		while (i < n && i - start < 3 && s[i] >= '0' && s[i] <= '9')
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return -1;
		addr[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == n ? 0 : -1;
}

/* Clear host bits; true when some were set. */
static bool cidr_mask(struct fg_cidr *c)
{
	int bytes = c->family == 4 ? 4 : 16;
	bool dirty = false;

	for (int i = 0; i < bytes; i++) {
		int bits = c->len - i * 8;
		uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));

		if (c->addr[i] & ~m)
			dirty = true;
		c->addr[i] &= m;
	}
	return dirty;
}

/*
 * The one CIDR parser (policy, set files, CLI). Hand-written for IPv4 since
 * set files may hold millions of lines; IPv6 goes through inet_pton. On
 * CIDR_HOSTBITS *out holds the masked network, for "did you mean".
 */
static int cidr_scan(const char *s, size_t n, struct fg_cidr *out)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	int max;

	memset(out, 0, sizeof(*out));
	if (!alen)
		return CIDR_SYNTAX;
	if (memchr(s, ':', alen)) {
		char tmp[INET6_ADDRSTRLEN];

		if (alen >= sizeof(tmp))
			return CIDR_SYNTAX;
		memcpy(tmp, s, alen);
		tmp[alen] = 0;
		if (inet_pton(AF_INET6, tmp, out->addr) != 1)
			return CIDR_SYNTAX;
		out->family = 6;
		max = 128;
	} else {
		if (v4_scan(s, alen, out->addr))
			return CIDR_SYNTAX;
		out->family = 4;
		max = 32;
	}
	out->len = (uint8_t)max;
	if (slash) {
		const char *p = slash + 1, *end = s + n;
		unsigned v = 0;

		if (p == end || (*p == '0' && end - p > 1))
			return CIDR_SYNTAX;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return CIDR_SYNTAX;
			if (v < 1000)
				v = v * 10 + (*p - '0');
		}
		if (v > (unsigned)max)
			return CIDR_PREFIX;
		out->len = (uint8_t)v;
	}
	return cidr_mask(out) ? CIDR_HOSTBITS : CIDR_OK;
}

/* The message for a cidr_scan() failure; `echo` false keeps the text out. */
static void cidr_msg(char *msg, size_t size, int rc, const char *s, size_t n,
		     const struct fg_cidr *masked, bool echo)
{
	char net[64];
	struct qbuf q;

	switch (rc) {
	case CIDR_PREFIX:
		if (echo)
			snprintf(msg, size, "bad CIDR %s: prefix length above %d",
				 quote_n(&q, s, n), masked->family == 4 ? 32 : 128);
		else
			snprintf(msg, size, "bad CIDR: prefix length above %d",
				 masked->family == 4 ? 32 : 128);
		break;
	case CIDR_HOSTBITS:
		format_cidr(masked, net, sizeof(net));
		/* Valid CIDR text, so safe to show unquoted. */
		if (echo)
			snprintf(msg, size, "%.*s has host bits set; did you mean %s?", (int)n, s,
				 net);
		else
			snprintf(msg, size, "CIDR has host bits set");
		break;
	default:
		if (echo)
			snprintf(msg, size,
				 "bad CIDR %s; expected an IPv4 or IPv6 address, optionally with "
				 "/len",
				 quote_n(&q, s, n));
		else
			snprintf(msg, size,
				 "bad CIDR; expected an IPv4 or IPv6 address, "
				 "optionally with /len");
	}
}

int parse_cidr_msg(const char *s, struct fg_cidr *out, char *msg, size_t msglen)
{
	struct fg_cidr c;
	int rc;

	if (!s)
		return -EINVAL;
	rc = cidr_scan(s, strlen(s), &c);
	if (rc == CIDR_OK) {
		*out = c;
		return 0;
	}
	if (msg && msglen)
		cidr_msg(msg, msglen, rc, s, strlen(s), &c, true);
	return -EINVAL;
}

int parse_cidr(const char *s, struct fg_cidr *out)
{
	return parse_cidr_msg(s, out, NULL, 0);
}

int format_cidr(const struct fg_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (c->family != 4 && c->family != 6)
		return -EINVAL;
	if (!inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a)))
		return -errno;
	n = snprintf(buf, len, "%s/%u", a, c->len);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

bool cidr_contains(const struct fg_cidr *net, int family, const uint8_t *addr)
{
	int full = net->len / 8, rest = net->len % 8;

	if (net->family != family)
		return false;
	if (memcmp(net->addr, addr, full))
		return false;
	if (!rest)
		return true;
	return !((net->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest)));
}

int parse_duration_ms(const char *s, uint64_t *ms)
{
	uint64_t v, mult;
	const char *end;
	int err;

	if (!s)
		return -EINVAL;
	err = scan_u64(s, &v, &end);
	if (err)
		return err;
	if (!*end || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60 * 1000;
	else if (!strcmp(end, "h"))
		mult = 3600 * 1000;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ms = v * mult;
	return 0;
}

/* A CIDR scalar of the policy; false after reporting. */
static bool get_cidr(struct pctx *c, const struct ynode *n, const char *where, struct fg_cidr *out)
{
	const char *s = scalar(c, n, where, "a CIDR like 10.0.0.0/8 or 2001:db8::/32");
	char msg[256];
	int rc;

	if (!s)
		return false;
	rc = cidr_scan(s, n->n, out);
	if (rc == CIDR_OK)
		return true;
	cidr_msg(msg, sizeof(msg), rc, s, n->n, out, true);
	perr(c, n, "%s: %s", where, msg);
	return false;
}

/* One host address (service VIPs, backends). */
static bool get_host(struct pctx *c, const struct ynode *n, const char *where, struct fg_cidr *out)
{
	const char *s = scalar(c, n, where, "an IPv4 or IPv6 address");
	struct qbuf q;

	if (!s)
		return false;
	if (memchr(s, '/', n->n) || cidr_scan(s, n->n, out) != CIDR_OK) {
		perr(c, n, "%s: bad address %s; expected one IPv4 or IPv6 address", where,
		     quote(&q, s));
		return false;
	}
	return true;
}

/* ---- sorting helpers for duplicate checks ----------------------------------- */

/* Names compared through an index array: O(n log n) duplicate checks, since
 * rule counts go to hundreds of thousands. Equal names keep file order. */
struct name_sort {
	char *const *names; /* names[i * stride] */
	size_t stride;
};

static const char *name_at(const struct name_sort *ns, size_t i)
{
	return *(char *const *)((const char *)ns->names + i * ns->stride);
}

static int name_cmp(const void *a, const void *b, void *arg)
{
	const struct name_sort *ns = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const char *sx = name_at(ns, x), *sy = name_at(ns, y);
	int r;

	if (!sx || !sy)
		r = !sx - !sy;
	else
		r = strcmp(sx, sy);
	return r ? r : (x > y) - (x < y);
}

/*
 * Sort indices 0..n-1 by the name found at `names` + i * stride (NULL names
 * first). Returns the malloc'd order, or NULL on OOM or n == 0.
 */
static size_t *sort_names(struct pctx *c, const void *names, size_t stride, size_t n)
{
	struct name_sort ns = {names, stride};
	size_t *order = xcalloc(c, n, sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), name_cmp, &ns);
	return order;
}

/*
 * Report every later item whose name equals an earlier one's. `what` is
 * e.g. "rule name"; pos[] gives each item's name position.
 */
static void report_dups(struct pctx *c, const void *names, size_t stride, size_t n,
			const struct fg_srcpos *pos, const char *section, const char *key,
			const char *what)
{
	struct name_sort ns = {names, stride};
	size_t *order = sort_names(c, names, stride, n);
	struct qbuf q;

	size_t first = order ? order[0] : 0; /* earliest of the current run of equal names */

	for (size_t i = 1; order && i < n; i++) {
		size_t dup = order[i];
		const char *a = name_at(&ns, order[i - 1]), *b = name_at(&ns, dup);

		if (!a || !b || strcmp(a, b)) {
			first = dup;
			continue;
		}
		perr_pos(c, pos[dup].line, pos[dup].col,
			 "%s[%zu]%s: duplicate %s %s (first used by %s[%zu] at line %d)", section,
			 dup, key, what, quote(&q, b), section, first, pos[first].line);
	}
	free(order);
}

/* ---- sets -------------------------------------------------------------------- */

static bool set_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

static int set_push(struct pctx *c, struct fg_set_spec *s, size_t *cap, const struct fg_cidr *x)
{
	if (s->ncidrs == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		struct fg_cidr *n = realloc(s->cidrs, ncap * sizeof(*n));

		if (!n) {
			c->oom = true;
			return -ENOMEM;
		}
		s->cidrs = n;
		*cap = ncap;
	}
	s->cidrs[s->ncidrs++] = *x;
	return 0;
}

static void set_inline(struct pctx *c, struct fg_set_spec *s, const struct ynode *v,
		       const char *where)
{
	size_t cap = 0;

	for (size_t i = 0; i < v->n && !c->oom; i++) {
		char w[WLEN];
		struct fg_cidr x;

		wfmt(w, "%s[%zu]", where, i);
		if (get_cidr(c, v->kids[i], w, &x))
			set_push(c, s, &cap, &x);
	}
}

/* Lexically clean an absolute path: no ".", "..", or repeated slashes. */
static void path_clean(char *path)
{
	char *out = path, *p = path;

	while (*p) {
		char *seg;
		size_t len;

		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		len = p - seg;
		if (!len || (len == 1 && seg[0] == '.'))
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			while (out > path && *--out != '/')
				;
			continue;
		}
		*out++ = '/';
		memmove(out, seg, len);
		out += len;
	}
	if (out == path)
		*out++ = '/';
	*out = 0;
}

/* The set file's path as the user would find it: the name in messages. */
static char *set_path_join(struct pctx *c, const char *file)
{
	const char *base = c->opts->base_dir, *slash;
	char *out;
	int n;

	if (file[0] == '/')
		return xstrdup(c, file);
	if (base) {
		n = asprintf(&out, "%s/%s", base, file);
	} else {
		slash = strrchr(c->name, '/');
		if (!slash)
			return xstrdup(c, file);
		n = asprintf(&out, "%.*s/%s", (int)(slash - c->name + (slash == c->name)), c->name,
			     file);
	}
	if (n < 0) {
		c->oom = true;
		return NULL;
	}
	return out;
}

/* Absolute, lexically cleaned form of a path (no file system access). */
static char *path_absolute(struct pctx *c, const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/') {
		out = xstrdup(c, path);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			strcpy(cwd, "/");
		if (asprintf(&out, "%s/%s", cwd, path) < 0) {
			c->oom = true;
			out = NULL;
		}
	}
	if (out)
		path_clean(out);
	return out;
}

static bool path_inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/*
 * Root gets EACCES only without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH:
 * flowgated drops them (docs/daemon.md), so say what to do.
 */
static const char *eacces_hint(int err)
{
	return err == -EACCES && geteuid() == 0
		   ? " (flowgated keeps no DAC capability: make it readable by root)"
		   : "";
}

/* realpath of opts->confine_dir, once per parse. */
static const char *confine_dir(struct pctx *c, const struct ynode *at, const char *where)
{
	if (!c->confine_real && !c->confine_failed) {
		c->confine_real = realpath(c->opts->confine_dir, NULL);
		if (!c->confine_real) {
			c->confine_failed = true;
			perr(c, at, "%s: cannot use the folder set files are confined to: %s",
			     where, strerror(errno));
		}
	}
	return c->confine_real;
}

/*
 * Open a set file, enforcing confinement. Returns an fd or -errno after
 * reporting. Under confinement nothing about a file outside the folder
 * (not even whether it exists) is revealed.
 */
static int set_file_open(struct pctx *c, struct fg_set_spec *s, const char *shown,
			 const struct ynode *at, const char *where)
{
	const char *dir = c->opts->confine_dir ? confine_dir(c, at, where) : NULL;
	char *real = realpath(shown, NULL), link[64], opened[PATH_MAX];
	struct qbuf q;
	struct stat st;
	ssize_t n;
	int fd, err;

	if (c->opts->confine_dir && !dir) {
		free(real);
		return -EACCES;
	}
	if (dir && !path_inside(real ? real : s->file_resolved, dir))
		goto outside;
	if (!real) {
		err = -errno;
		perr(c, at, "%s: cannot read set file %s: %s%s", where, quote(&q, s->file),
		     strerror(-err), eacces_hint(err));
		return err;
	}
	free(s->file_resolved);
	s->file_resolved = real;
	real = NULL;
	/* O_NOFOLLOW and the /proc check close the window between realpath()
	 * and open() in which a path component could be swapped for a link.
	 * O_NONBLOCK: opening a FIFO must not block (the daemon parses under
	 * its lock); anything but a regular file is refused below, before a
	 * byte is read. */
	fd = open(s->file_resolved,
		  O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (dir ? O_NOFOLLOW : 0));
	if (fd < 0) {
		err = -errno;
		perr(c, at, "%s: cannot read set file %s: %s%s", where, quote(&q, s->file),
		     strerror(-err), eacces_hint(err));
		return err;
	}
	if (dir) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, opened, sizeof(opened) - 1);
		if (n > 0) {
			opened[n] = 0;
			if (!path_inside(opened, dir)) {
				close(fd);
				goto outside;
			}
		}
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		perr(c, at, "%s: set file %s is not a regular file", where, quote(&q, s->file));
		return -EINVAL;
	}
	return fd;
outside:
	free(real);
	perr(c, at, "%s: set file %s is outside %s, the only folder set files may be read from",
	     where, quote(&q, s->file), dir);
	return -EACCES;
}

static int read_fd(int fd, char **out, size_t *outlen, size_t max)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	struct stat st;

	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size + 2;
	for (;;) {
		ssize_t n;

		if (!buf || len + 1 >= cap) {
			char *nb;

			/* First round: the file's size (+2: room to see EOF without a
			 * realloc); then double. */
			cap = !cap ? 65536 : buf ? 2 * cap : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			free(buf);
			return err;
		}
		if (!n)
			break;
		len += n;
		if (len > max) {
			free(buf);
			return -EFBIG;
		}
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	return 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

struct set_scan {
	struct pctx *c;
	struct fg_set_spec *s;
	const char *file; /* name in messages */
	const struct ynode *at;
	bool echo; /* may quote the file's text in messages */
	size_t cap, bad;
};

static void set_line_error(struct set_scan *ss, int line, int col, const char *msg)
{
	if (++ss->bad <= SETFILE_MAX_ERRORS)
		perr_file(ss->c, ss->file, ss->at, line, col, "%s", msg);
	else
		ss->c->total++;
}

/* One line [p, eol) of a set file: blank, comment, or CIDR [# comment]. */
static void set_line(struct set_scan *ss, int line, const char *p, const char *eol)
{
	const char *bol = p, *t;
	struct fg_cidr x;
	char msg[256];
	int rc;

	while (p < eol && is_blank(*p))
		p++;
	if (p == eol || *p == '#')
		return;
	for (t = p; t < eol && !is_blank(*t) && *t != '#'; t++)
		;
	rc = cidr_scan(p, t - p, &x);
	if (rc != CIDR_OK) {
		cidr_msg(msg, sizeof(msg), rc, p, t - p, &x, ss->echo);
		set_line_error(ss, line, (int)(p - bol) + 1, msg);
		return;
	}
	while (t < eol && is_blank(*t))
		t++;
	if (t < eol && *t != '#') {
		set_line_error(ss, line, (int)(t - bol) + 1,
			       "unexpected text after the CIDR; one CIDR a line, '#' starts a "
			       "comment");
		return;
	}
	set_push(ss->c, ss->s, &ss->cap, &x);
}

static void set_file_scan(struct set_scan *ss, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int line = 0;

	while (p < end && !ss->c->oom) {
		const char *eol = memchr(p, '\n', end - p);

		if (!eol)
			eol = end;
		set_line(ss, ++line, p, eol);
		if (eol == end)
			break;
		p = eol + 1;
	}
	if (ss->bad > SETFILE_MAX_ERRORS) {
		perr_file(ss->c, ss->file, ss->at, line, 1,
			  "%zu more bad lines in this file not shown (%zu in total)",
			  ss->bad - SETFILE_MAX_ERRORS, ss->bad);
		ss->c->total--; /* a note, not another error */
	}
}

static void set_file(struct pctx *c, struct fg_set_spec *s, const struct ynode *fnode,
		     const char *where)
{
	struct set_scan ss = {.c = c, .s = s, .at = fnode};
	char *shown, *buf;
	struct qbuf q;
	size_t len;
	int fd, err;

	if (!get_string(c, fnode, where, "a path", &s->file))
		return;
	shown = set_path_join(c, s->file);
	if (!shown)
		return;
	s->file_resolved = path_absolute(c, shown);
	if (!s->file_resolved || c->opts->skip_set_files) {
		free(shown);
		return;
	}
	fd = set_file_open(c, s, shown, fnode, where);
	if (fd < 0) {
		free(shown);
		return;
	}
	err = read_fd(fd, &buf, &len, SETFILE_MAX_BYTES);
	close(fd);
	if (err) {
		if (err == -ENOMEM)
			c->oom = true;
		else
			perr(c, fnode, "%s: cannot read set file %s: %s", where, quote(&q, s->file),
			     strerror(-err));
		free(shown);
		return;
	}
	/* Messages name the file; the name must outlive this function. */
	ss.file = arena_alloc(&c->arena, strlen(shown) + 1);
	if (ss.file) {
		strcpy((char *)ss.file, shown);
		ss.echo = !c->opts->confine_dir;
		set_file_scan(&ss, buf, len);
	} else {
		c->oom = true;
	}
	free(buf);
	free(shown);
}

static void set_body(struct pctx *c, struct fg_set_spec *s, const struct ynode *v,
		     const char *where)
{
	static const char *const keys[] = {"file", NULL};
	static const char expect[] = "a list of CIDRs or {file: PATH}";
	char w[WLEN];

	if (v->type == Y_SEQ) {
		set_inline(c, s, v, where);
	} else if (v->type == Y_MAP) {
		check_keys(c, v, where, keys, expect);
		v = require(c, v, where, "file", "a path to a file of CIDRs, one a line");
		wfmt(w, "%s.file", where);
		if (v)
			set_file(c, s, v, w);
	} else {
		perr(c, v, "%s: expected %s, got %s", where, expect, kind(v));
	}
}

/*
 * Report duplicate set names and build c->set_order: the sets sorted by
 * name, only the first definition of each name kept, for set_find().
 */
static void sets_index(struct pctx *c, const struct fg_srcpos *pos)
{
	struct policy *p = c->p;
	struct name_sort ns = {&p->sets[0].name, sizeof(*p->sets)};
	size_t *order = sort_names(c, &p->sets[0].name, sizeof(*p->sets), p->nsets), n = 0;

	for (size_t i = 0; order && i < p->nsets; i++) {
		const char *name = name_at(&ns, order[i]);
		const char *prev = n ? name_at(&ns, order[n - 1]) : NULL;

		if (!name)
			continue; /* unnamed: already reported */
		if (prev && !strcmp(prev, name)) {
			perr_pos(c, pos[order[i]].line, pos[order[i]].col,
				 "sets: duplicate set name \"%s\" (first defined at line %d)", name,
				 pos[order[n - 1]].line);
			continue;
		}
		order[n++] = order[i];
	}
	c->set_order = order;
	c->nset_order = n;
	c->set_used = xcalloc(c, p->nsets, sizeof(*c->set_used));
}

static void parse_sets(struct pctx *c, const struct ynode *m)
{
	struct policy *p = c->p;
	struct fg_srcpos *pos;

	if (is_null(m))
		return;
	if (m->type != Y_MAP) {
		perr(c, m,
		     "sets: expected a mapping of set names to a list of CIDRs or "
		     "{file: PATH}, got %s",
		     kind(m));
		return;
	}
	p->sets = xcalloc(c, m->n, sizeof(*p->sets));
	pos = xcalloc(c, m->n, sizeof(*pos));
	for (size_t i = 0; i < m->n && p->sets && pos; i++) {
		const struct ynode *k = map_key(m, i);
		struct fg_set_spec *s = &p->sets[p->nsets++];
		struct qbuf q;
		char w[WLEN];

		s->pos = pos[i] = (struct fg_srcpos){k->line, k->col};
		wfmt(w, "sets[%zu]", i);
		if (k->type != Y_SCALAR || is_null(k) || strlen(k->s) != k->n) {
			perr(c, k, "sets: set names must be plain words, got %s", kind(k));
		} else if (!set_name_ok(k->s)) {
			perr(c, k, "sets: bad set name %s; use letters, digits, '_', '-' and '.'",
			     quote(&q, k->s));
		} else {
			s->name = xstrdup(c, k->s);
			wfmt(w, "sets.%s", k->s);
		}
		set_body(c, s, map_val(m, i), w);
	}
	if (p->nsets && pos)
		sets_index(c, pos);
	free(pos);
}

/* Index of set `name`, or -1. */
static int set_find(struct pctx *c, const char *name)
{
	const struct policy *p = c->p;
	size_t lo = 0, hi = c->nset_order;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = c->set_order[mid];
		int r = strcmp(p->sets[i].name, name);

		if (!r)
			return (int)i;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- interfaces ---------------------------------------------------------------- */

/* As the kernel's dev_valid_name(). */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= 16 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || (unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static bool get_ifname(struct pctx *c, const struct ynode *n, const char *where, char **out)
{
	struct qbuf q;

	if (!get_string(c, n, where, "an interface name", out))
		return false;
	if (ifname_ok(*out))
		return true;
	perr(c, n,
	     "%s: bad interface name %s; names are 1-15 characters without '/', ':' or "
	     "spaces",
	     where, quote(&q, *out));
	free(*out);
	*out = NULL;
	return false;
}

static void parse_iface(struct pctx *c, struct fg_iface_spec *f, const struct ynode *n,
			const char *where)
{
	static const char *const keys[] = {"name", "mode", NULL};
	static const char *const modes[] = {"auto", "native", "generic", NULL};
	static const int mvals[] = {FG_MODE_AUTO, FG_MODE_NATIVE, FG_MODE_GENERIC};
	const struct ynode *v;
	char w[WLEN];

	f->pos = (struct fg_srcpos){n->line, n->col};
	if (n->type == Y_SCALAR) {
		get_ifname(c, n, where, &f->name);
		return;
	}
	if (!check_keys(c, n, where, keys, "an interface name or {name, mode}"))
		return;
	v = require(c, n, where, "name", "the interface name");
	if (v) {
		wfmt(w, "%s.name", where);
		get_ifname(c, v, w, &f->name);
	}
	v = map_get(n, "mode");
	if (v) {
		wfmt(w, "%s.mode", where);
		get_enum(c, v, w, modes, mvals, &f->mode);
	}
}

static void parse_ifaces(struct pctx *c, const struct ynode *l)
{
	struct policy *p = c->p;
	struct fg_srcpos *pos;

	if (is_null(l))
		return;
	if (l->type != Y_SEQ) {
		perr(c, l, "interfaces: expected a list of interface names or {name, mode}, got %s",
		     kind(l));
		return;
	}
	if (l->n > FG_MAX_IFACES)
		perr(c, l->kids[FG_MAX_IFACES], "interfaces: more than %d interfaces",
		     FG_MAX_IFACES);
	p->ifaces = xcalloc(c, l->n, sizeof(*p->ifaces));
	pos = xcalloc(c, l->n, sizeof(*pos));
	for (size_t i = 0; i < l->n && p->ifaces && pos; i++) {
		char w[WLEN];

		wfmt(w, "interfaces[%zu]", i);
		parse_iface(c, &p->ifaces[i], l->kids[i], w);
		pos[i] = p->ifaces[i].pos;
		p->nifaces++;
	}
	if (pos)
		report_dups(c, &p->ifaces[0].name, sizeof(*p->ifaces), p->nifaces, pos,
			    "interfaces", "", "interface name");
	free(pos);
}

/* ---- rules ----------------------------------------------------------------------- */

static const char *const proto_names[] = {"tcp", "udp", "icmp", "icmpv6", "any", NULL};
static const int proto_vals[] = {6, 17, 1, 58, -1};

/* proto: a name or 0-255. *num = -1 for any. */
static bool get_proto(struct pctx *c, const struct ynode *n, const char *where, int *num)
{
	const char *s = scalar(c, n, where, "tcp, udp, icmp, icmpv6, any or a number 0-255");
	const char *end;
	struct qbuf q;
	uint64_t v;

	if (!s)
		return false;
	for (size_t i = 0; proto_names[i]; i++)
		if (!strcmp(s, proto_names[i])) {
			*num = proto_vals[i];
			return true;
		}
	if (scan_u64(s, &v, &end) || *end) {
		perr(c, n,
		     "%s: unknown value %s; expected tcp, udp, icmp, icmpv6, any or a "
		     "protocol number 0-255",
		     where, quote(&q, s));
		return false;
	}
	if (v > 255) {
		perr(c, n, "%s: protocol number %s out of range; expected 0-255", where, s);
		return false;
	}
	*num = (int)v;
	return true;
}

static bool port_num(struct pctx *c, const struct ynode *n, const char *where, const char *s,
		     size_t len, uint16_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++) {
		if (v < 100000)
			v = v * 10 + (s[i] - '0');
	}
	if (v > 65535) {
		perr(c, n, "%s: port %.*s out of range; expected 0-65535", where, (int)len, s);
		return false;
	}
	*out = (uint16_t)v;
	return true;
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* One port or "lo-hi". */
static bool get_port_item(struct pctx *c, const struct ynode *n, const char *where,
			  struct fg_port_range *r)
{
	static const char expect[] = "a port 0-65535, a range \"lo-hi\" or a list of those";
	const char *s = scalar(c, n, where, expect), *dash;
	struct qbuf q;
	size_t len;
	bool lo_ok;

	if (!s)
		return false;
	len = strlen(s);
	dash = strchr(s, '-');
	if (!dash) {
		if (!all_digits(s, len))
			goto bad;
		if (!port_num(c, n, where, s, len, &r->lo))
			return false;
		r->hi = r->lo;
		return true;
	}
	if (!all_digits(s, dash - s) || !all_digits(dash + 1, strlen(dash + 1)))
		goto bad;
	/* Both ends checked, so both get reported. */
	lo_ok = port_num(c, n, where, s, dash - s, &r->lo);
	if (!port_num(c, n, where, dash + 1, strlen(dash + 1), &r->hi) || !lo_ok)
		return false;
	if (r->lo > r->hi) {
		perr(c, n, "%s: port range upside down: %s; did you mean \"%u-%u\"?", where,
		     quote(&q, s), r->hi, r->lo);
		return false;
	}
	return true;
bad:
	perr(c, n, "%s: expected %s, got %s", where, expect, quote(&q, s));
	return false;
}

static void get_ports(struct pctx *c, const struct ynode *n, const char *where,
		      struct fg_port_range **out, size_t *nout)
{
	size_t cnt = n->type == Y_SEQ ? n->n : 1;
	struct fg_port_range *r;
	char w[WLEN];

	if (n->type == Y_SEQ && !n->n) {
		perr(c, n, "%s: empty list; leave the key out to match any port", where);
		return;
	}
	r = xcalloc(c, cnt, sizeof(*r));
	if (!r)
		return;
	*out = r;
	if (n->type != Y_SEQ) {
		*nout = get_port_item(c, n, where, r);
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		wfmt(w, "%s[%zu]", where, i);
		if (get_port_item(c, n->kids[i], w, &r[*nout]))
			(*nout)++;
	}
}

/* A scalar or a list of scalars: calls fn on each; false for an empty list. */
static bool each_item(struct pctx *c, const struct ynode *n, const char *where,
		      void (*fn)(struct pctx *, const struct ynode *, const char *, void *),
		      void *arg)
{
	char w[WLEN];

	if (n->type != Y_SEQ) {
		fn(c, n, where, arg);
		return true;
	}
	if (!n->n) {
		perr(c, n, "%s: empty list; leave the key out to match anything", where);
		return false;
	}
	for (size_t i = 0; i < n->n; i++) {
		wfmt(w, "%s[%zu]", where, i);
		fn(c, n->kids[i], w, arg);
	}
	return true;
}

static void set_ref(struct pctx *c, const struct ynode *n, const char *where,
		    struct fg_addr_match *m)
{
	struct qbuf q;
	int idx = set_find(c, n->s + 1);

	if (idx < 0) {
		perr(c, n, "%s: undefined set %s; define it under sets:", where, quote(&q, n->s));
		return;
	}
	m->set = idx;
	if (!c->set_used || c->set_used[idx])
		return;
	c->set_used[idx] = true;
	if (++c->nsets_used == FG_MAX_SETS + 1)
		perr(c, n, "%s: rules reference more than %d distinct sets", where, FG_MAX_SETS);
}

static void addr_item(struct pctx *c, const struct ynode *n, const char *where, void *arg)
{
	struct fg_addr_match *m = arg;

	if (n->type == Y_SCALAR && n->s[0] == '@') {
		perr(c, n, "%s: a set reference must stand alone, not inside a list", where);
		return;
	}
	if (get_cidr(c, n, where, &m->cidrs[m->ncidrs]))
		m->ncidrs++;
}

static void get_addr(struct pctx *c, const struct ynode *n, const char *where,
		     struct fg_addr_match *m)
{
	m->any = false;
	if (n->type == Y_SCALAR && n->s[0] == '@') {
		set_ref(c, n, where, m);
		return;
	}
	m->cidrs = xcalloc(c, n->type == Y_SEQ ? n->n + 1 : 1, sizeof(*m->cidrs));
	if (m->cidrs)
		each_item(c, n, where, addr_item, m);
}

struct flag_arg {
	struct fg_rule_spec *r;
};

static void flag_item(struct pctx *c, const struct ynode *n, const char *where, void *arg)
{
	static const char *const names[] = {"fin", "syn", "rst", "psh", "ack",
					    "urg", "ece", "cwr", NULL};
	static const char alts[] = "fin, syn, rst, psh, ack, urg, ece or cwr, each with an "
				   "optional \"!\" for must-be-clear";
	struct fg_rule_spec *r = arg;
	const char *s = scalar(c, n, where, alts);
	bool neg;
	struct qbuf q;

	if (!s)
		return;
	neg = s[0] == '!';
	for (int i = 0; names[i]; i++) {
		uint8_t bit = (uint8_t)(1u << i); /* FG_TCP_FIN is bit 0, ... CWR bit 7 */

		if (strcmp(s + neg, names[i]))
			continue;
		if ((neg ? r->tcp_set : r->tcp_clear) & bit)
			perr(c, n, "%s: %s is required both set and clear", where, names[i]);
		if (neg)
			r->tcp_clear |= bit;
		else
			r->tcp_set |= bit;
		return;
	}
	perr(c, n, "%s: unknown value %s; expected %s", where, quote(&q, s), alts);
}

static void state_item(struct pctx *c, const struct ynode *n, const char *where, void *arg)
{
	static const char *const names[] = {"established", "new", "related", "invalid", NULL};
	static const int vals[] = {FG_CT_ESTABLISHED, FG_CT_NEW, FG_CT_RELATED, FG_CT_INVALID};
	struct fg_rule_spec *r = arg;
	int v;

	if (get_enum(c, n, where, names, vals, &v))
		r->state_mask |= (uint8_t)v;
}

static void iface_item(struct pctx *c, const struct ynode *n, const char *where, void *arg)
{
	struct fg_rule_spec *r = arg;

	if (get_ifname(c, n, where, &r->ifaces[r->nifaces]))
		r->nifaces++;
}

/* What a rule said about its protocol, for the cross-field checks. */
struct rule_proto {
	const struct ynode *proto, *ports, *flags;
	const char *ports_key;
	int num; /* -1 any */
	bool ok;
};

static void rule_proto_check(struct pctx *c, struct fg_rule_spec *r, struct rule_proto *rp,
			     const char *base)
{
	struct qbuf q;

	if (rp->proto && !rp->ok)
		return; /* already reported */
	if (rp->proto && rp->num >= 0) {
		r->proto_kind = FG_PROTO_NUM;
		r->proto = (uint8_t)rp->num;
	}
	/* tcp_flags means TCP: without proto the rule becomes a TCP rule. */
	if (rp->flags && !rp->proto) {
		r->proto_kind = FG_PROTO_NUM;
		r->proto = 6;
	} else if (rp->flags && rp->num != 6) {
		perr(c, rp->flags, "%s.tcp_flags: needs proto tcp, not %s", base,
		     quote(&q, rp->proto->s));
	}
	if (!rp->ports)
		return;
	if (!rp->proto && !rp->flags)
		r->proto_kind = FG_PROTO_TCPUDP;
	else if (rp->proto && rp->num != 6 && rp->num != 17)
		perr(c, rp->ports, "%s.%s: ports need proto tcp or udp, not %s", base,
		     rp->ports_key, quote(&q, rp->proto->s));
}

static void rule_rate(struct pctx *c, struct fg_rule_spec *r, const struct ynode *m,
		      const char *base)
{
	const struct ynode *rate = map_get(m, "rate"), *burst = map_get(m, "burst");
	char w[WLEN];

	if (rate) {
		wfmt(w, "%s.rate", base);
		get_pps(c, rate, w, &r->rate_pps);
		r->rate_burst = r->rate_pps;
	}
	if (!burst)
		return;
	wfmt(w, "%s.burst", base);
	if (!rate)
		perr(c, burst, "%s: burst needs a rate", w);
	else
		get_u32(c, burst, w, 1, UINT32_MAX, &r->rate_burst);
}

static void parse_rule_match(struct pctx *c, struct fg_rule_spec *r, const struct ynode *m,
			     const char *base)
{
	struct rule_proto rp = {.num = -1};
	const struct ynode *v;
	char w[WLEN];

/* FIELD(key): the rule has `key`; v is its value and w its path for messages.
 * (HFIELD, SFIELD and OFIELD below do the same for other mappings; SFIELD
 * reports a missing required key.) */
#define FIELD(key) (v = map_get(m, key)) && wfmt(w, "%s.%s", base, key)
	if (FIELD("src"))
		get_addr(c, v, w, &r->src);
	if (FIELD("dst"))
		get_addr(c, v, w, &r->dst);
	if (FIELD("proto")) {
		rp.proto = v;
		rp.ok = get_proto(c, v, w, &rp.num);
	}
	if (FIELD("sport")) {
		rp.ports = v;
		rp.ports_key = "sport";
		get_ports(c, v, w, &r->sports, &r->nsports);
	}
	if (FIELD("dport")) {
		if (!rp.ports) {
			rp.ports = v;
			rp.ports_key = "dport";
		}
		get_ports(c, v, w, &r->dports, &r->ndports);
	}
	if (FIELD("tcp_flags")) {
		rp.flags = v;
		each_item(c, v, w, flag_item, r);
	}
	if (FIELD("state"))
		each_item(c, v, w, state_item, r);
	if (FIELD("iface")) {
		r->ifaces = xcalloc(c, v->type == Y_SEQ ? v->n + 1 : 1, sizeof(*r->ifaces));
		if (r->ifaces)
			each_item(c, v, w, iface_item, r);
	}
#undef FIELD
	rule_proto_check(c, r, &rp, base);
}

static void parse_rule(struct pctx *c, struct fg_rule_spec *r, const struct ynode *m, size_t idx,
		       struct fg_srcpos *namepos)
{
	static const char *const keys[] = {"name",  "action", "src",	   "dst",   "proto",
					   "sport", "dport",  "tcp_flags", "state", "iface",
					   "rate",  "burst",  NULL};
	static const char *const actions[] = {"allow", "drop", "log", NULL};
	static const int avals[] = {FG_ACT_ALLOW, FG_ACT_DROP, FG_ACT_LOG};
	const struct ynode *v;
	char base[48], w[200];

	snprintf(base, sizeof(base), "rules[%zu]", idx);
	r->pos = (struct fg_srcpos){m->line, m->col};
	r->src = r->dst = (struct fg_addr_match){.any = true, .set = -1};
	*namepos = r->pos;
	if (!check_keys(c, m, base, keys, "a rule mapping (name, action, ...)"))
		return;
	v = require(c, m, base, "name", "a unique name for stats and logs");
	if (v) {
		wfmt(w, "%s.name", base);
		*namepos = (struct fg_srcpos){v->line, v->col};
		get_string(c, v, w, "a rule name", &r->name);
	}
	v = require(c, m, base, "action", "allow, drop or log");
	if (v) {
		wfmt(w, "%s.action", base);
		get_enum(c, v, w, actions, avals, &r->action);
	}
	parse_rule_match(c, r, m, base);
	rule_rate(c, r, m, base);
}

static void parse_rules(struct pctx *c, const struct ynode *l)
{
	struct policy *p = c->p;
	struct fg_srcpos *pos;

	if (is_null(l))
		return;
	if (l->type != Y_SEQ) {
		perr(c, l, "rules: expected a list of rules, got %s", kind(l));
		return;
	}
	if (l->n > FG_MAX_RULES)
		perr(c, l->kids[FG_MAX_RULES], "rules: more than %d rules", FG_MAX_RULES);
	p->rules = xcalloc(c, l->n, sizeof(*p->rules));
	pos = xcalloc(c, l->n, sizeof(*pos));
	for (size_t i = 0; i < l->n && p->rules && pos && !c->oom; i++) {
		parse_rule(c, &p->rules[i], l->kids[i], i, &pos[i]);
		p->nrules++;
	}
	if (pos && !c->oom)
		report_dups(c, &p->rules[0].name, sizeof(*p->rules), p->nrules, pos, "rules",
			    ".name", "rule name");
	free(pos);
}

/* ---- protect ---------------------------------------------------------------------- */

static void protect_per_source(struct pctx *c, struct fg_protect_spec *pr, const struct ynode *m)
{
	static const char *const keys[] = {"pps", "ban", NULL};
	const struct ynode *v;

	if (!check_keys(c, m, "protect.per_source", keys, "{pps: N, ban: DURATION}"))
		return;
	pr->per_source = true;
	pr->ps_ban_ms = 60 * 1000;
	v = require(c, m, "protect.per_source", "pps", "packets per second per source");
	if (v)
		get_u32(c, v, "protect.per_source.pps", 1, UINT32_MAX, &pr->ps_pps);
	v = map_get(m, "ban");
	if (v)
		get_duration(c, v, "protect.per_source.ban", &pr->ps_ban_ms);
}

static void protect_syn(struct pctx *c, struct fg_protect_spec *pr, const struct ynode *m)
{
	static const char *const keys[] = {"cookies", "threshold", NULL};
	static const char *const names[] = {"on", "off", "auto", NULL};
	static const int vals[] = {1, 0, 2};
	const struct ynode *v;

	if (!check_keys(c, m, "protect.syn_flood", keys, "{cookies: on|off|auto, threshold: N/s}"))
		return;
	pr->syn_flood = true;
	pr->syn_cookies = 2;
	pr->syn_threshold_pps = 20000;
	v = map_get(m, "cookies");
	if (v)
		get_enum(c, v, "protect.syn_flood.cookies", names, vals, &pr->syn_cookies);
	v = map_get(m, "threshold");
	if (v)
		get_pps(c, v, "protect.syn_flood.threshold", &pr->syn_threshold_pps);
}

static void protect_scan(struct pctx *c, struct fg_protect_spec *pr, const struct ynode *m)
{
	static const char *const keys[] = {"ports", "window", "action", "ban", NULL};
	static const char *const names[] = {"drop", "log", "ban", NULL};
	static const int vals[] = {FG_ACT_DROP, FG_ACT_LOG, 4};
	const struct ynode *v;

	if (!check_keys(c, m, "protect.port_scan", keys,
			"{ports: N, window: DURATION, action: drop|log|ban, ban: DURATION}"))
		return;
	pr->port_scan = true;
	pr->scan_ports = 64;
	pr->scan_window_ms = 10 * 1000;
	pr->scan_action = 4;
	pr->scan_ban_ms = 10 * 60 * 1000;
	v = map_get(m, "ports");
	if (v)
		get_u32(c, v, "protect.port_scan.ports", 1, 65536, &pr->scan_ports);
	v = map_get(m, "window");
	if (v)
		get_duration(c, v, "protect.port_scan.window", &pr->scan_window_ms);
	v = map_get(m, "action");
	if (v)
		get_enum(c, v, "protect.port_scan.action", names, vals, &pr->scan_action);
	v = map_get(m, "ban");
	if (v && pr->scan_action != 4)
		perr(c, v, "protect.port_scan.ban: only used with action: ban");
	else if (v)
		get_duration(c, v, "protect.port_scan.ban", &pr->scan_ban_ms);
}

static void protect_auto(struct pctx *c, struct fg_protect_spec *pr, const struct ynode *m)
{
	static const char *const keys[] = {"enabled", NULL};
	const struct ynode *v;

	if (!check_keys(c, m, "protect.auto", keys, "{enabled: true|false}"))
		return;
	v = require(c, m, "protect.auto", "enabled", "true or false");
	if (v)
		get_bool(c, v, "protect.auto.enabled", &pr->auto_enabled);
}

static void parse_protect(struct pctx *c, const struct ynode *m)
{
	static const char *const keys[] = {"per_source", "syn_flood", "port_scan", "auto", NULL};
	struct fg_protect_spec *pr = &c->p->protect;
	const struct ynode *v;

	if (is_null(m))
		return;
	if (!check_keys(c, m, "protect", keys, "a mapping (per_source, syn_flood, ...)"))
		return;
	pr->present = m->n > 0;
	if ((v = map_get(m, "per_source")))
		protect_per_source(c, pr, v);
	if ((v = map_get(m, "syn_flood")))
		protect_syn(c, pr, v);
	if ((v = map_get(m, "port_scan")))
		protect_scan(c, pr, v);
	if ((v = map_get(m, "auto")))
		protect_auto(c, pr, v);
}

/* ---- services ---------------------------------------------------------------------- */

static void parse_backend(struct pctx *c, struct fg_service_spec *s, struct fg_backend_spec *b,
			  const struct ynode *m, const char *base)
{
	static const char *const keys[] = {"address", "port", "weight", NULL};
	const struct ynode *v;
	char w[WLEN];

	b->port = s->port;
	b->weight = 1;
	if (!check_keys(c, m, base, keys, "{address, port, weight}"))
		return;
	v = require(c, m, base, "address", "the backend's IP address");
	wfmt(w, "%s.address", base);
	if (v && get_host(c, v, w, &b->addr) && s->vip.family && b->addr.family != s->vip.family)
		perr(c, v, "%s: backend is IPv%d but the vip is IPv%d", w, b->addr.family,
		     s->vip.family);
	v = map_get(m, "port");
	wfmt(w, "%s.port", base);
	if (v) {
		uint32_t port;

		if (get_u32(c, v, w, 1, 65535, &port))
			b->port = (uint16_t)port;
	}
	v = map_get(m, "weight");
	wfmt(w, "%s.weight", base);
	if (v)
		get_u32(c, v, w, 0, 65535, &b->weight);
}

static int backend_cmp(const void *a, const void *b, void *arg)
{
	const struct fg_backend_spec *bs = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int r = memcmp(&bs[i].addr, &bs[j].addr, sizeof(bs[i].addr));

	if (!r)
		r = (bs[i].port > bs[j].port) - (bs[i].port < bs[j].port);
	return r ? r : (i > j) - (i < j);
}

/* The same backend twice would skew the weights; sorted, as lists may be long. */
static void backends_clash(struct pctx *c, const struct fg_service_spec *s, const struct ynode *l,
			   const char *base)
{
	size_t *order = xcalloc(c, s->nbackends, sizeof(*order));

	if (!order)
		return;
	for (size_t i = 0; i < s->nbackends; i++)
		order[i] = i;
	qsort_r(order, s->nbackends, sizeof(*order), backend_cmp, s->backends);
	for (size_t i = 1; i < s->nbackends; i++) {
		const struct fg_backend_spec *a = &s->backends[order[i - 1]];
		const struct fg_backend_spec *b = &s->backends[order[i]];

		if (a->addr.family && a->port == b->port &&
		    !memcmp(&a->addr, &b->addr, sizeof(a->addr)))
			perr(c, l->kids[order[i]],
			     "%s.backends[%zu]: same address and port as "
			     "backends[%zu]",
			     base, order[i], order[i - 1]);
	}
	free(order);
}

static void parse_backends(struct pctx *c, struct fg_service_spec *s, const struct ynode *l,
			   const char *base)
{
	char w[WLEN];
	bool any_weight = false;

	wfmt(w, "%s.backends", base);
	if (l->type != Y_SEQ || !l->n) {
		perr(c, l, "%s: expected a non-empty list of {address, port, weight}, got %s", w,
		     l->type == Y_SEQ ? "an empty list" : kind(l));
		return;
	}
	s->backends = xcalloc(c, l->n, sizeof(*s->backends));
	for (size_t i = 0; i < l->n && s->backends; i++) {
		struct fg_backend_spec *b = &s->backends[i];

		wfmt(w, "%s.backends[%zu]", base, i);
		parse_backend(c, s, b, l->kids[i], w);
		s->nbackends++;
		any_weight |= b->weight > 0;
	}
	if (s->nbackends && !any_weight)
		perr(c, l, "%s.backends: every backend has weight 0; nothing would be served",
		     base);
	backends_clash(c, s, l, base);
}

static void parse_health(struct pctx *c, struct fg_service_spec *s, const struct ynode *m,
			 const char *base)
{
	static const char *const keys[] = {"type", "interval", "timeout", "rise", "fall", NULL};
	static const char *const types[] = {"tcp", "http", NULL};
	static const int tvals[] = {0, 1};
	const struct ynode *v;
	char w[WLEN];

	wfmt(w, "%s.health", base);
	if (!check_keys(c, m, w, keys, "{type, interval, timeout, rise, fall}"))
		return;
	s->health = true;
	s->health_interval_ms = 1000;
	s->health_rise = 2;
	s->health_fall = 3;
#define HFIELD(key) (v = map_get(m, key)) && wfmt(w, "%s.health.%s", base, key)
	if (HFIELD("type"))
		get_enum(c, v, w, types, tvals, &s->health_type);
	if (HFIELD("interval"))
		get_duration(c, v, w, &s->health_interval_ms);
	s->health_timeout_ms = s->health_interval_ms < 500 ? s->health_interval_ms : 500;
	if (HFIELD("timeout") && get_duration(c, v, w, &s->health_timeout_ms) &&
	    s->health_timeout_ms > s->health_interval_ms)
		perr(c, v, "%s: longer than the interval", w);
	if (HFIELD("rise"))
		get_u32(c, v, w, 1, 1000, &s->health_rise);
	if (HFIELD("fall"))
		get_u32(c, v, w, 1, 1000, &s->health_fall);
#undef HFIELD
}

static void parse_service(struct pctx *c, struct fg_service_spec *s, const struct ynode *m,
			  size_t idx, struct fg_srcpos *namepos)
{
	static const char *const keys[] = {"name",	"vip",	    "port",   "proto",
					   "scheduler", "backends", "health", NULL};
	static const char *const protos[] = {"tcp", "udp", NULL};
	static const int pvals[] = {6, 17};
	static const char *const scheds[] = {"maglev", "round_robin", "least_conn", NULL};
	static const int svals[] = {0, 1, 2};
	const struct ynode *v;
	char base[48], w[200];
	int proto = 6;

	snprintf(base, sizeof(base), "services[%zu]", idx);
	s->pos = *namepos = (struct fg_srcpos){m->line, m->col};
	s->proto = 6;
	if (!check_keys(c, m, base, keys, "a service mapping (name, vip, port, backends, ...)"))
		return;
#define SFIELD(key, what) (v = require(c, m, base, key, what)) && wfmt(w, "%s.%s", base, key)
#define OFIELD(key) (v = map_get(m, key)) && wfmt(w, "%s.%s", base, key)
	if (SFIELD("name", "a unique name")) {
		*namepos = (struct fg_srcpos){v->line, v->col};
		get_string(c, v, w, "a service name", &s->name);
	}
	if (SFIELD("vip", "the virtual IP address"))
		get_host(c, v, w, &s->vip);
	if (SFIELD("port", "the virtual port")) {
		uint32_t port;

		if (get_u32(c, v, w, 1, 65535, &port))
			s->port = (uint16_t)port;
	}
	if (OFIELD("proto") && get_enum(c, v, w, protos, pvals, &proto))
		s->proto = (uint8_t)proto;
	if (OFIELD("scheduler"))
		get_enum(c, v, w, scheds, svals, &s->scheduler);
	if ((v = require(c, m, base, "backends", "a list of {address, port, weight}")))
		parse_backends(c, s, v, base);
	if ((v = map_get(m, "health")))
		parse_health(c, s, v, base);
#undef SFIELD
#undef OFIELD
}

static int svc_cmp(const void *a, const void *b, void *arg)
{
	const struct fg_service_spec *s = arg;
	const struct fg_service_spec *x = &s[*(const size_t *)a], *y = &s[*(const size_t *)b];
	int r = memcmp(&x->vip, &y->vip, sizeof(x->vip));

	if (!r)
		r = (x->port > y->port) - (x->port < y->port);
	if (!r)
		r = (x->proto > y->proto) - (x->proto < y->proto);
	if (!r)
		r = (x > y) - (x < y);
	return r;
}

/* Two services on one vip:port/proto would fight over the same packets. */
static void services_clash(struct pctx *c)
{
	struct policy *p = c->p;
	size_t *order = xcalloc(c, p->nservices, sizeof(*order));

	if (!order)
		return;
	for (size_t i = 0; i < p->nservices; i++)
		order[i] = i;
	qsort_r(order, p->nservices, sizeof(*order), svc_cmp, p->services);
	for (size_t i = 1; i < p->nservices; i++) {
		const struct fg_service_spec *a = &p->services[order[i - 1]];
		const struct fg_service_spec *b = &p->services[order[i]];

		if (!a->vip.family || !a->port || a->port != b->port || a->proto != b->proto ||
		    memcmp(&a->vip, &b->vip, sizeof(a->vip)))
			continue;
		perr_pos(c, b->pos.line, b->pos.col,
			 "services[%zu]: same vip, port and proto as services[%zu] (line %d)",
			 order[i], order[i - 1], a->pos.line);
	}
	free(order);
}

static void parse_services(struct pctx *c, const struct ynode *l)
{
	struct policy *p = c->p;
	struct fg_srcpos *pos;

	if (is_null(l))
		return;
	if (l->type != Y_SEQ) {
		perr(c, l, "services: expected a list of services, got %s", kind(l));
		return;
	}
	p->services = xcalloc(c, l->n, sizeof(*p->services));
	pos = xcalloc(c, l->n, sizeof(*pos));
	for (size_t i = 0; i < l->n && p->services && pos && !c->oom; i++) {
		parse_service(c, &p->services[i], l->kids[i], i, &pos[i]);
		p->nservices++;
	}
	if (pos && !c->oom) {
		report_dups(c, &p->services[0].name, sizeof(*p->services), p->nservices, pos,
			    "services", ".name", "service name");
		services_clash(c);
	}
	free(pos);
}

/* ---- shaping ------------------------------------------------------------------------ */

/* Bits per second: N, Nbit, Nkbit, Nmbit, Ngbit (1000-based). */
static bool get_bitrate(struct pctx *c, const struct ynode *n, const char *where, uint64_t *bps)
{
	static const char expect[] = "a rate like 10mbit (bit, kbit, mbit, gbit; 1000-based) "
				     "or a number of bit/s";
	static const char *const units[] = {"", "bit", "kbit", "mbit", "gbit", NULL};
	static const uint64_t mult[] = {1, 1, 1000, 1000000, 1000000000};
	const char *s = scalar(c, n, where, expect), *end;
	struct qbuf q;
	uint64_t v;

	if (!s)
		return false;
	if (scan_u64(s, &v, &end) == -EINVAL)
		goto bad;
	for (size_t i = 0; units[i]; i++) {
		if (strcasecmp(end, units[i]))
			continue;
		if (scan_u64(s, &v, &end) || v > UINT64_MAX / mult[i]) {
			perr(c, n, "%s: rate %s too large", where, quote(&q, s));
			return false;
		}
		if (!v) {
			perr(c, n, "%s: rate must be above zero", where);
			return false;
		}
		*bps = v * mult[i];
		return true;
	}
bad:
	perr(c, n, "%s: bad rate %s; expected %s", where, quote(&q, s), expect);
	return false;
}

/* Bytes: N, Nk, Nm, Ng (1024-based). */
static bool get_size(struct pctx *c, const struct ynode *n, const char *where, uint64_t *bytes)
{
	static const char expect[] = "a size like 64k (k, m, g; 1024-based) or a number of bytes";
	static const char *const units[] = {"", "k", "m", "g", NULL};
	const char *s = scalar(c, n, where, expect), *end;
	struct qbuf q;
	uint64_t v;

	if (!s)
		return false;
	if (scan_u64(s, &v, &end) == -EINVAL)
		goto bad;
	for (size_t i = 0; units[i]; i++) {
		if (strcasecmp(end, units[i]))
			continue;
		if (scan_u64(s, &v, &end) || v > (UINT64_MAX >> (10 * i))) {
			perr(c, n, "%s: size %s too large", where, quote(&q, s));
			return false;
		}
		if (!v) {
			perr(c, n, "%s: size must be above zero", where);
			return false;
		}
		*bytes = v << (10 * i);
		return true;
	}
bad:
	perr(c, n, "%s: bad size %s; expected %s", where, quote(&q, s), expect);
	return false;
}

static void shaping_match(struct pctx *c, struct fg_shaping_spec *s, const struct ynode *m,
			  const char *base)
{
	static const char *const keys[] = {"proto", "dport", "sport", NULL};
	const struct ynode *v, *ports = NULL;
	char w[WLEN];
	int num = -1;
	bool proto_ok = true;
	struct qbuf q;

	wfmt(w, "%s.match", base);
	if (!check_keys(c, m, w, keys, "{proto, dport, sport}"))
		return;
	if ((v = map_get(m, "proto"))) {
		wfmt(w, "%s.match.proto", base);
		proto_ok = get_proto(c, v, w, &num);
		if (proto_ok && num >= 0) {
			s->has_proto = true;
			s->proto = (uint8_t)num;
		}
	}
	if ((v = map_get(m, "sport"))) {
		wfmt(w, "%s.match.sport", base);
		get_ports(c, v, w, &s->sports, &s->nsports);
		ports = v;
	}
	if ((v = map_get(m, "dport"))) {
		wfmt(w, "%s.match.dport", base);
		get_ports(c, v, w, &s->dports, &s->ndports);
		ports = ports ? ports : v;
	}
	v = map_get(m, "proto");
	if (ports && v && proto_ok && num != 6 && num != 17)
		perr(c, ports, "%s.match: ports need proto tcp or udp, not %s", base,
		     quote(&q, v->s));
}

static void parse_shape(struct pctx *c, struct fg_shaping_spec *s, const struct ynode *m,
			size_t idx, struct fg_srcpos *namepos)
{
	static const char *const keys[] = {"name", "interface", "match", "rate", "burst", NULL};
	const struct ynode *v;
	char base[48], w[200];

	snprintf(base, sizeof(base), "shaping[%zu]", idx);
	s->pos = *namepos = (struct fg_srcpos){m->line, m->col};
	if (!check_keys(c, m, base, keys, "a shaping mapping (name, interface, rate, ...)"))
		return;
#define SFIELD(key, what) (v = require(c, m, base, key, what)) && wfmt(w, "%s.%s", base, key)
	if (SFIELD("name", "a unique name")) {
		*namepos = (struct fg_srcpos){v->line, v->col};
		get_string(c, v, w, "a name", &s->name);
	}
	if (SFIELD("interface", "the egress interface"))
		get_ifname(c, v, w, &s->iface);
	if (SFIELD("rate", "a rate like 10mbit"))
		get_bitrate(c, v, w, &s->rate_bps);
#undef SFIELD
	if ((v = map_get(m, "match")))
		shaping_match(c, s, v, base);
	/* Default burst: 10 ms at the rate, but at least one full frame. */
	s->burst_bytes = s->rate_bps / 8 / 100;
	if (s->burst_bytes < 1514)
		s->burst_bytes = 1514;
	if ((v = map_get(m, "burst"))) {
		wfmt(w, "%s.burst", base);
		get_size(c, v, w, &s->burst_bytes);
	}
}

static void parse_shaping(struct pctx *c, const struct ynode *l)
{
	struct policy *p = c->p;
	struct fg_srcpos *pos;

	if (is_null(l))
		return;
	if (l->type != Y_SEQ) {
		perr(c, l, "shaping: expected a list of shaping entries, got %s", kind(l));
		return;
	}
	p->shaping = xcalloc(c, l->n, sizeof(*p->shaping));
	pos = xcalloc(c, l->n, sizeof(*pos));
	for (size_t i = 0; i < l->n && p->shaping && pos && !c->oom; i++) {
		parse_shape(c, &p->shaping[i], l->kids[i], i, &pos[i]);
		p->nshaping++;
	}
	if (pos && !c->oom)
		report_dups(c, &p->shaping[0].name, sizeof(*p->shaping), p->nshaping, pos,
			    "shaping", ".name", "shaping name");
	free(pos);
}

/* ---- log, metrics, api, and the top level ------------------------------------------ */

static void parse_log(struct pctx *c, const struct ynode *m)
{
	static const char *const keys[] = {"audit", "pcap", NULL};
	const struct ynode *v;

	if (is_null(m) || !check_keys(c, m, "log", keys, "{audit: PATH, pcap: PATH}"))
		return;
	if ((v = map_get(m, "audit")))
		get_string(c, v, "log.audit", "a file path", &c->p->log_audit);
	if ((v = map_get(m, "pcap")))
		get_string(c, v, "log.pcap", "a file path", &c->p->log_pcap);
}

/* host:port, [v6]:port, or :port (all addresses). */
static bool listen_ok(const char *s)
{
	const char *colon, *end;
	uint64_t port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char tmp[INET6_ADDRSTRLEN];
		uint8_t a[16];

		if (!close || close - s - 1 >= (long)sizeof(tmp) || close[1] != ':')
			return false;
		memcpy(tmp, s + 1, close - s - 1);
		tmp[close - s - 1] = 0;
		if (inet_pton(AF_INET6, tmp, a) != 1)
			return false;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			return false;
		for (const char *p = s; p < colon; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return false;
	}
	if (scan_u64(colon + 1, &port, &end) || *end || !port || port > 65535)
		return false;
	return true;
}

static void parse_metrics(struct pctx *c, const struct ynode *m)
{
	static const char *const keys[] = {"listen", NULL};
	const struct ynode *v;
	struct qbuf q;

	if (is_null(m) || !check_keys(c, m, "metrics", keys, "{listen: HOST:PORT}"))
		return;
	v = map_get(m, "listen");
	if (!v || !get_string(c, v, "metrics.listen", "HOST:PORT", &c->p->metrics_listen))
		return;
	if (!listen_ok(c->p->metrics_listen)) {
		perr(c, v,
		     "metrics.listen: bad address %s; expected HOST:PORT like "
		     "127.0.0.1:9464 or [::1]:9464",
		     quote(&q, c->p->metrics_listen));
		free(c->p->metrics_listen);
		c->p->metrics_listen = NULL;
	}
}

static void parse_api(struct pctx *c, const struct ynode *m)
{
	static const char *const keys[] = {"socket", NULL};
	const struct ynode *v;

	if (is_null(m) || !check_keys(c, m, "api", keys, "{socket: PATH}"))
		return;
	if ((v = map_get(m, "socket")))
		get_string(c, v, "api.socket", "a socket path", &c->p->api_socket);
}

static void parse_version(struct pctx *c, const struct ynode *root)
{
	const struct ynode *v = map_get(root, "version");
	const char *s;
	struct qbuf q;

	if (!v) {
		perr(c, root, "version: missing; the file must start with \"version: 1\"");
		return;
	}
	s = scalar(c, v, "version", "1");
	if (!s)
		return;
	if (strcmp(s, "1"))
		perr(c, v, "version: unsupported version %s; expected 1", quote(&q, s));
	else
		c->p->version = 1;
}

static void parse_default(struct pctx *c, const struct ynode *v)
{
	static const char *const names[] = {"allow", "drop", NULL};
	static const int vals[] = {FG_ACT_ALLOW, FG_ACT_DROP};

	if (v)
		get_enum(c, v, "default", names, vals, &c->p->default_action);
}

static void parse_root(struct pctx *c, const struct ynode *root)
{
	static const char *const keys[] = {"version", "interfaces", "default",	"sets",
					   "rules",   "protect",    "services", "shaping",
					   "log",     "metrics",    "api",	NULL};

	if (is_null(root)) {
		perr_pos(c, root ? root->line : 1, root ? root->col : 1,
			 "empty policy; expected a mapping that starts with \"version: 1\"");
		return;
	}
	if (!check_keys(c, root, "", keys, "a mapping of policy sections (version, rules, ...)"))
		return;
	parse_version(c, root);
	/* Sets first: rules refer to them wherever they sit in the file. */
	parse_sets(c, map_get(root, "sets"));
	parse_ifaces(c, map_get(root, "interfaces"));
	parse_default(c, map_get(root, "default"));
	parse_rules(c, map_get(root, "rules"));
	parse_protect(c, map_get(root, "protect"));
	parse_services(c, map_get(root, "services"));
	parse_shaping(c, map_get(root, "shaping"));
	parse_log(c, map_get(root, "log"));
	parse_metrics(c, map_get(root, "metrics"));
	parse_api(c, map_get(root, "api"));
}

/* ---- public entry points ------------------------------------------------------------ */

int policy_parse(const char *name, const char *buf, size_t len, const struct policy_opts *opts,
		 struct policy *out, FILE *err, int *nerrors)
{
	static const struct policy_opts defaults;
	struct pctx c = {
	    .name = name ? name : "<policy>", .opts = opts ? opts : &defaults, .p = out};
	int rc;

	memset(out, 0, sizeof(*out));
	out->default_action = FG_ACT_ALLOW;
	out->path = xstrdup(&c, c.name);
	rc = c.oom ? -ENOMEM : tree_build(&c, buf ? buf : "", buf ? len : 0);
	if (!rc)
		parse_root(&c, c.root);
	free(c.stack);
	for (size_t i = 0; i < c.nanchors; i++)
		free(c.anchors[i].name);
	free(c.anchors);
	free(c.set_order);
	free(c.set_used);
	free(c.confine_real);
	perr_flush(&c, err);
	arena_free(&c.arena);
	if (nerrors)
		*nerrors = c.total;
	if (c.oom)
		rc = -ENOMEM;
	else if (c.total)
		rc = -EINVAL;
	if (rc)
		policy_free(out);
	return rc;
}

int policy_load(const char *path, const struct policy_opts *opts, struct policy *out, FILE *err,
		int *nerrors)
{
	bool std = !strcmp(path, "-");
	int fd = std ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = fd < 0 ? -errno : read_fd(fd, &buf, &len, SETFILE_MAX_BYTES);
	if (!std && fd >= 0)
		close(fd);
	if (rc) {
		if (err)
			fprintf(err, "cannot read %s: %s\n", path, strerror(-rc));
		if (nerrors)
			*nerrors = 1;
		return rc;
	}
	rc = policy_parse(path, buf, len, opts, out, err, nerrors);
	free(buf);
	return rc;
}

static void addr_match_free(struct fg_addr_match *m)
{
	free(m->cidrs);
}

static void rule_free(struct fg_rule_spec *r)
{
	free(r->name);
	addr_match_free(&r->src);
	addr_match_free(&r->dst);
	free(r->sports);
	free(r->dports);
	for (size_t i = 0; i < r->nifaces; i++)
		free(r->ifaces[i]);
	free(r->ifaces);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nifaces; i++)
		free(p->ifaces[i].name);
	for (size_t i = 0; i < p->nsets; i++) {
		free(p->sets[i].name);
		free(p->sets[i].file);
		free(p->sets[i].file_resolved);
		free(p->sets[i].cidrs);
	}
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	for (size_t i = 0; i < p->nservices; i++) {
		free(p->services[i].name);
		free(p->services[i].backends);
	}
	for (size_t i = 0; i < p->nshaping; i++) {
		free(p->shaping[i].name);
		free(p->shaping[i].iface);
		free(p->shaping[i].dports);
		free(p->shaping[i].sports);
	}
	free(p->ifaces);
	free(p->sets);
	free(p->rules);
	free(p->services);
	free(p->shaping);
	free(p->path);
	free(p->log_audit);
	free(p->log_pcap);
	free(p->metrics_listen);
	free(p->api_socket);
	memset(p, 0, sizeof(*p));
}

size_t policy_unenforced(const struct policy *p, const char **names, size_t max)
{
	size_t n = 0;

	if (p->protect.present && n < max)
		names[n++] = "protect";
	if (p->nservices && n < max)
		names[n++] = "services";
	if (p->nshaping && n < max)
		names[n++] = "shaping";
	if (n < max)
		names[n] = NULL;
	return n;
}
