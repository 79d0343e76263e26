// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Human output of the CLI: the daemon's JSON answers (DESIGN.md §3 shapes)
 * as aligned tables and one-line events. Pure functions: JSON in, text
 * out, so tests/unit/test_cli.c checks them byte for byte. Fields the
 * daemon adds later are shown generically (key=value) rather than dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- small helpers ---------------------------------------------------- */

/* A number field as an integer (tolerates reals); 0 when absent. */
static long long jnum(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

static const char *jstr(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* A scalar as text into buf; NULL for objects and arrays. */
static const char *scalar_text(const json_t *v, char *buf, size_t len)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "-";
	default:
		return NULL;
	}
}

static bool in_list(const char *key, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (!strcmp(key, *skip))
			return true;
	return false;
}

/* " key=value" for every scalar field of `o` not named in `skip`. */
static void print_extra(FILE *f, const json_t *o, const char *const *skip)
{
	const char *key, *s;
	json_t *v;
	char buf[64];

	json_object_foreach((json_t *)o, key, v)
	{
		if (in_list(key, skip))
			continue;
		s = scalar_text(v, buf, sizeof(buf));
		if (s)
			fprintf(f, " %s=%s", key, s);
	}
}

/* The widest `key` string in an array of objects, at least `min`. */
static int col_width(const json_t *arr, const char *key, int min)
{
	size_t i;
	json_t *v;
	int w = min;

	json_array_foreach((json_t *)arr, i, v)
	{
		int l = (int)strlen(jstr(v, key, "-"));

		if (l > w)
			w = l;
	}
	return w;
}

void fmt_duration(char *buf, size_t len, long long secs)
{
	static const struct {
		long long unit;
		char suffix;
	} parts[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	size_t i, off = 0;

	if (secs < 0) {
		snprintf(buf, len, "-");
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && off < len; i++) {
		long long n = secs / parts[i].unit;

		secs %= parts[i].unit;
		if (n || (!off && parts[i].unit == 1))
			off += snprintf(buf + off, len - off, "%lld%c", n, parts[i].suffix);
	}
}

/* Bits per second, 1000-based as in policy rates. */
static void fmt_bitrate(char *buf, size_t len, double bps)
{
	if (bps >= 1e9)
		snprintf(buf, len, "%.1fGbit", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(buf, len, "%.1fMbit", bps / 1e6);
	else if (bps >= 1e3)
		snprintf(buf, len, "%.1fkbit", bps / 1e3);
	else
		snprintf(buf, len, "%.0fbit", bps);
}

/* ---- stats ------------------------------------------------------------ */

static void stats_rules(FILE *f, const json_t *st)
{
	const json_t *rules = json_object_get(st, "rules");
	const json_t *dflt = json_object_get(st, "default");
	int w = col_width(rules, "name", 9);
	size_t i;
	json_t *r;

	fprintf(f, "%-*s  %-6s  %12s  %14s\n", w, "RULE", "ACTION", "PACKETS", "BYTES");
	json_array_foreach((json_t *)rules, i, r)
	    fprintf(f, "%-*s  %-6s  %12lld  %14lld\n", w, jstr(r, "name", "-"),
		    jstr(r, "action", "-"), jnum(r, "packets"), jnum(r, "bytes"));
	if (dflt)
		fprintf(f, "%-*s  %-6s  %12lld  %14lld\n", w, "(default)", jstr(dflt, "action", ""),
			jnum(dflt, "packets"), jnum(dflt, "bytes"));
}

static void stats_drops(FILE *f, const json_t *st)
{
	const json_t *drops = json_object_get(st, "drops");
	const char *reason;
	json_t *v;
	int n = 0;

	fprintf(f, "\n%-22s  %12s\n", "DROP REASON", "PACKETS");
	json_object_foreach((json_t *)drops, reason, v)
	{
		if (!json_integer_value(v))
			continue;
		fprintf(f, "%-22s  %12lld\n", reason, (long long)json_integer_value(v));
		n++;
	}
	if (!n)
		fprintf(f, "(no drops)\n");
}

static void stats_ifaces(FILE *f, const json_t *st)
{
	const json_t *ifs = json_object_get(st, "interfaces");
	int w = col_width(ifs, "name", 9);
	size_t i;
	json_t *v;

	if (!json_array_size(ifs))
		return;
	fprintf(f, "\n%-*s  %-7s  %12s\n", w, "INTERFACE", "MODE", "RX_PACKETS");
	json_array_foreach((json_t *)ifs, i, v)
	    fprintf(f, "%-*s  %-7s  %12lld\n", w, jstr(v, "name", "-"), jstr(v, "mode", "-"),
		    jnum(v, "rx_packets"));
}

/* Per-service counters, when the daemon reports them. */
static void stats_services(FILE *f, const json_t *st)
{
	const json_t *svcs = json_object_get(st, "services");
	int w = col_width(svcs, "name", 7);
	size_t i;
	json_t *v;

	if (!json_array_size(svcs))
		return;
	fprintf(f, "\n%-*s  %12s  %14s\n", w, "SERVICE", "PACKETS", "BYTES");
	json_array_foreach((json_t *)svcs, i, v)
	    fprintf(f, "%-*s  %12lld  %14lld\n", w, jstr(v, "name", "-"), jnum(v, "packets"),
		    jnum(v, "bytes"));
}

void fmt_stats(FILE *f, const json_t *stats)
{
	stats_rules(f, stats);
	stats_drops(f, stats);
	stats_ifaces(f, stats);
	stats_services(f, stats);
}

/* ---- status ----------------------------------------------------------- */

static void status_policy(FILE *f, const json_t *pol)
{
	if (!json_is_object(pol)) {
		fprintf(f, "%-13s (none)\n", "policy");
		return;
	}
	fprintf(f, "%-13s generation %lld", "policy", jnum(pol, "generation"));
	if (json_object_get(pol, "rules"))
		fprintf(f, ", %lld rules", jnum(pol, "rules"));
	if (json_object_get(pol, "loaded_at"))
		fprintf(f, ", loaded %s", jstr(pol, "loaded_at", "-"));
	if (json_object_get(pol, "source"))
		fprintf(f, " from %s", jstr(pol, "source", "-"));
	fputc('\n', f);
}

static void status_ifaces(FILE *f, const json_t *ifs)
{
	static const char *const skip[] = {"name", "mode", NULL};
	size_t i;
	json_t *v;

	fprintf(f, "%-13s", "interfaces");
	if (!json_array_size(ifs))
		fprintf(f, " (none)");
	json_array_foreach((json_t *)ifs, i, v)
	{
		fprintf(f, "%s %s (%s", i ? "\n             " : "", jstr(v, "name", "-"),
			jstr(v, "mode", "-"));
		print_extra(f, v, skip);
		fputc(')', f);
	}
	fputc('\n', f);
}

static void status_list(FILE *f, const char *label, const json_t *arr)
{
	size_t i;
	json_t *v;

	fprintf(f, "%-13s", label);
	json_array_foreach((json_t *)arr, i, v)
	    fprintf(f, "%s%s", i ? ", " : " ", json_string_value(v) ?: "?");
	fputc('\n', f);
}

/* "programs": [{"name","id"}, ...] as "name (id N), ..." */
static void status_progs(FILE *f, const json_t *progs)
{
	size_t i, n = 0;
	json_t *p;

	json_array_foreach((json_t *)progs, i, p)
	{
		if (!json_is_object(p))
			continue;
		fprintf(f, "%s%s (id %lld)", n++ ? ", " : "programs      ", jstr(p, "name", "?"),
			jnum(p, "id"));
	}
	if (n)
		fputc('\n', f);
}

/* Top-level scalars the daemon adds beyond the documented shape. */
static void status_extra(FILE *f, const json_t *st)
{
	static const char *const known[] = {"version",	    "uptime_s", "policy",   "interfaces",
					    "not_enforced", "programs", "detached", NULL};
	const char *key, *s;
	char buf[64];
	json_t *v;

	json_object_foreach((json_t *)st, key, v)
	{
		s = in_list(key, known) ? NULL : scalar_text(v, buf, sizeof(buf));
		if (s)
			fprintf(f, "%-13s %s\n", key, s);
	}
}

void fmt_status(FILE *f, const json_t *st)
{
	const json_t *ne = json_object_get(st, "not_enforced");
	char buf[64];

	fprintf(f, "%-13s %s\n", "flowgated", jstr(st, "version", "?"));
	if (json_object_get(st, "uptime_s")) {
		fmt_duration(buf, sizeof(buf), jnum(st, "uptime_s"));
		fprintf(f, "%-13s %s\n", "uptime", buf);
	}
	if (json_is_true(json_object_get(st, "detached")))
		fprintf(f, "%-13s detached, exiting\n", "state");
	status_policy(f, json_object_get(st, "policy"));
	status_ifaces(f, json_object_get(st, "interfaces"));
	status_progs(f, json_object_get(st, "programs"));
	if (json_array_size(ne))
		status_list(f, "not enforced", ne);
	status_extra(f, st);
}

/* ---- bans ------------------------------------------------------------- */

void fmt_bans(FILE *f, const json_t *bans)
{
	int w = col_width(bans, "cidr", 18);
	const json_t *exp;
	char buf[32];
	size_t i;
	json_t *b;

	if (!json_array_size(bans)) {
		fprintf(f, "no bans\n");
		return;
	}
	fprintf(f, "%-*s  %-10s  %s\n", w, "CIDR", "REASON", "EXPIRES IN");
	json_array_foreach((json_t *)bans, i, b)
	{
		exp = json_object_get(b, "expires_in_s");
		if (!json_is_number(exp) || jnum(b, "expires_in_s") < 0)
			snprintf(buf, sizeof(buf), "never");
		else
			fmt_duration(buf, sizeof(buf), jnum(b, "expires_in_s"));
		fprintf(f, "%-*s  %-10s  %s\n", w, jstr(b, "cidr", "?"), jstr(b, "reason", "-"),
			buf);
	}
}

/* ---- services --------------------------------------------------------- */

/* "10.0.0.1:80" or "[fd00::1]:80" */
static void fmt_hostport(char *buf, size_t len, const char *host, long long port)
{
	bool v6 = strchr(host, ':') != NULL;

	if (port)
		snprintf(buf, len, "%s%s%s:%lld", v6 ? "[" : "", host, v6 ? "]" : "", port);
	else
		snprintf(buf, len, "%s", host);
}

static void service_backends(FILE *f, const json_t *bes)
{
	static const char *const skip[] = {"address", "port", NULL};
	char hp[80];
	size_t i;
	json_t *b;

	json_array_foreach((json_t *)bes, i, b)
	{
		fmt_hostport(hp, sizeof(hp), jstr(b, "address", "?"), jnum(b, "port"));
		fprintf(f, "  -> %-24s", hp);
		print_extra(f, b, skip);
		fputc('\n', f);
	}
}

void fmt_services(FILE *f, const json_t *services)
{
	static const char *const skip[] = {"name", "vip", "port", "proto", "backends", NULL};
	const json_t *arr =
	    json_is_array(services) ? services : json_object_get(services, "services");
	char hp[80];
	size_t i;
	json_t *s;

	if (!json_array_size(arr)) {
		fprintf(f, "no services\n");
		return;
	}
	json_array_foreach((json_t *)arr, i, s)
	{
		fmt_hostport(hp, sizeof(hp), jstr(s, "vip", "?"), jnum(s, "port"));
		fprintf(f, "%s%s %s/%s", i ? "\n" : "", jstr(s, "name", "?"), hp,
			jstr(s, "proto", "tcp"));
		print_extra(f, s, skip);
		fputc('\n', f);
		service_backends(f, json_object_get(s, "backends"));
	}
}

/* ---- events ----------------------------------------------------------- */

static void event_flow(FILE *f, const json_t *ev)
{
	char a[80], b[80];

	if (!json_object_get(ev, "src") && !json_object_get(ev, "dst"))
		return;
	fmt_hostport(a, sizeof(a), jstr(ev, "src", "?"), jnum(ev, "sport"));
	fmt_hostport(b, sizeof(b), jstr(ev, "dst", "?"), jnum(ev, "dport"));
	fprintf(f, " %s -> %s", a, b);
}

void fmt_event(FILE *f, const json_t *ev)
{
	static const char *const skip[] = {"ts",  "event", "rule",  "reason", "proto",
					   "src", "dst",   "sport", "dport",  NULL};

	fprintf(f, "%s %s", jstr(ev, "ts", "-"), jstr(ev, "event", "?"));
	if (json_object_get(ev, "rule"))
		fprintf(f, " rule=%s", jstr(ev, "rule", "?"));
	if (json_object_get(ev, "reason"))
		fprintf(f, " reason=%s", jstr(ev, "reason", "?"));
	if (json_object_get(ev, "proto"))
		fprintf(f, " %s", jstr(ev, "proto", "?"));
	event_flow(f, ev);
	print_extra(f, ev, skip);
	fputc('\n', f);
}

/* ---- doctor ----------------------------------------------------------- */

/* true/false from "ok" (bool) or "status" ("ok", "pass", ...). */
static const char *check_verdict(const json_t *c)
{
	const json_t *ok = json_object_get(c, "ok");
	const char *st = jstr(c, "status", NULL);

	if (json_is_boolean(ok))
		return json_is_true(ok) ? "ok" : "FAIL";
	if (st && (!strcmp(st, "ok") || !strcmp(st, "pass")))
		return "ok";
	return st ? st : "?";
}

static void doctor_check(FILE *f, const json_t *c, int w)
{
	const char *detail = jstr(c, "detail", jstr(c, "message", ""));
	const char *hint = jstr(c, "hint", NULL);

	fprintf(f, "%-5s %-*s %s", check_verdict(c), w, jstr(c, "name", "?"), detail);
	if (hint && *hint)
		fprintf(f, " (%s)", hint);
	fputc('\n', f);
}

/* Anything else: nested keys flattened, one "a.b: value" a line. */
static void print_tree(FILE *f, const char *prefix, const json_t *v)
{
	char key[256], buf[64];
	const char *k, *s;
	json_t *c;
	size_t i;

	s = scalar_text(v, buf, sizeof(buf));
	if (s) {
		fprintf(f, "%s: %s\n", prefix, s);
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, c)
		{
			snprintf(key, sizeof(key), "%s[%zu]", prefix, i);
			print_tree(f, key, c);
		}
		return;
	}
	json_object_foreach((json_t *)v, k, c)
	{
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
		print_tree(f, key, c);
	}
}

void fmt_doctor(FILE *f, const json_t *doc)
{
	const json_t *checks = json_is_array(doc) ? doc : json_object_get(doc, "checks");
	int w = col_width(checks, "name", 10);
	size_t i;
	json_t *c;

	if (!json_is_array(checks)) {
		print_tree(f, "", doc);
		return;
	}
	json_array_foreach((json_t *)checks, i, c) doctor_check(f, c, w);
	if (json_is_boolean(json_object_get(doc, "ok")))
		fprintf(f, "%s\n",
			json_is_true(json_object_get(doc, "ok"))
			    ? "summary: flowgate can run here"
			    : "summary: something flowgate needs is missing (see FAIL above)");
}

/* ---- policy errors from the API --------------------------------------- */

/* Does "LINE:COL:" start at p? */
static bool at_linecol(const char *p)
{
	if (*p < '0' || *p > '9')
		return false;
	p += strspn(p, "0123456789");
	if (*p++ != ':' || *p < '0' || *p > '9')
		return false;
	p += strspn(p, "0123456789");
	return *p == ':';
}

/* Where "LINE:COL: " starts in `s` (at its start or after a ':'), or NULL. */
static const char *find_linecol(const char *s)
{
	const char *p;

	if (at_linecol(s))
		return s;
	for (p = strchr(s, ':'); p; p = strchr(p + 1, ':'))
		if (at_linecol(p + 1))
			return p + 1;
	return NULL;
}

char *fmt_policy_error(const char *line, const char *file)
{
	const char *lc = find_linecol(line);
	char *out = NULL;

	if (lc && asprintf(&out, "%s:%s", file, lc) < 0)
		out = NULL;
	else if (!lc && asprintf(&out, "%s: %s", file, line) < 0)
		out = NULL;
	return out;
}

static int policy_error_one(FILE *f, const json_t *e, const char *file)
{
	char *s = NULL;

	if (json_is_string(e)) {
		const char *txt = json_string_value(e);
		const char *nl;
		int n = 0;

		/* one string may carry several lines */
		while (*txt) {
			nl = strchrnul(txt, '\n');
			if (nl > txt) {
				char *l = strndup(txt, nl - txt);

				s = l ? fmt_policy_error(l, file) : NULL;
				if (s)
					fprintf(f, "%s\n", s);
				free(s);
				free(l);
				n++;
			}
			txt = *nl ? nl + 1 : nl;
		}
		return n;
	}
	if (!json_is_object(e))
		return 0;
	fprintf(f, "%s:%lld:%lld: %s\n", file, jnum(e, "line"), jnum(e, "col") ?: jnum(e, "column"),
		jstr(e, "message", jstr(e, "error", "?")));
	return 1;
}

int fmt_policy_errors(FILE *f, const json_t *answer, const char *file)
{
	const json_t *list = json_object_get(answer, "errors");
	size_t i;
	json_t *e;
	int n = 0;

	if (!list)
		list = json_object_get(answer, "detail");
	if (json_is_array(list)) {
		json_array_foreach((json_t *)list, i, e) n += policy_error_one(f, e, file);
	} else if (list) {
		n += policy_error_one(f, list, file);
	}
	return n;
}

/* ---- top -------------------------------------------------------------- */

/* The element of `arr` whose "name" is `name`, or NULL. */
static const json_t *find_named(const json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach((json_t *)arr, i, v) if (!strcmp(jstr(v, "name", ""), name)) return v;
	return NULL;
}

/* Rate of counter `key` between two samples; counters that went back
 * (a restart, a renamed rule) count from zero. */
static double rate(const json_t *prev, const json_t *cur, const char *key, double dt)
{
	long long a = prev ? jnum(prev, key) : 0, b = jnum(cur, key);

	if (b < a)
		a = 0;
	return dt > 0 ? (double)(b - a) / dt : 0;
}

static void top_rules(FILE *f, const json_t *prev, const json_t *cur, double dt)
{
	const json_t *rules = json_object_get(cur, "rules");
	int w = col_width(rules, "name", 9);
	char bps[32];
	size_t i;
	json_t *r;

	fprintf(f, "%-*s  %-6s  %10s  %12s  %12s\n", w, "RULE", "ACTION", "PPS", "BITRATE",
		"PACKETS");
	json_array_foreach((json_t *)rules, i, r)
	{
		const json_t *p = find_named(json_object_get(prev, "rules"), jstr(r, "name", ""));

		fmt_bitrate(bps, sizeof(bps), 8 * rate(p, r, "bytes", dt));
		fprintf(f, "%-*s  %-6s  %10.0f  %12s  %12lld\n", w, jstr(r, "name", "-"),
			jstr(r, "action", "-"), rate(p, r, "packets", dt), bps, jnum(r, "packets"));
	}
	r = json_object_get(cur, "default");
	fmt_bitrate(bps, sizeof(bps), 8 * rate(json_object_get(prev, "default"), r, "bytes", dt));
	fprintf(f, "%-*s  %-6s  %10.0f  %12s  %12lld\n", w, "(default)", jstr(r, "action", ""),
		rate(json_object_get(prev, "default"), r, "packets", dt), bps, jnum(r, "packets"));
}

static void top_drops(FILE *f, const json_t *prev, const json_t *cur, double dt)
{
	const json_t *pd = json_object_get(prev, "drops");
	const char *reason;
	json_t *v;

	fprintf(f, "\n%-22s  %10s  %12s\n", "DROP REASON", "PPS", "PACKETS");
	json_object_foreach(json_object_get(cur, "drops"), reason, v)
	{
		if (!json_integer_value(v))
			continue;
		fprintf(f, "%-22s  %10.0f  %12lld\n", reason,
			rate(pd, json_object_get(cur, "drops"), reason, dt),
			(long long)json_integer_value(v));
	}
}

static void top_ifaces(FILE *f, const json_t *prev, const json_t *cur, double dt)
{
	const json_t *ifs = json_object_get(cur, "interfaces");
	int w = col_width(ifs, "name", 9);
	size_t i;
	json_t *v;

	fprintf(f, "\n%-*s  %-7s  %10s  %12s\n", w, "INTERFACE", "MODE", "RX_PPS", "RX_PACKETS");
	json_array_foreach((json_t *)ifs, i, v)
	{
		const json_t *p =
		    find_named(json_object_get(prev, "interfaces"), jstr(v, "name", ""));

		fprintf(f, "%-*s  %-7s  %10.0f  %12lld\n", w, jstr(v, "name", "-"),
			jstr(v, "mode", "-"), rate(p, v, "rx_packets", dt), jnum(v, "rx_packets"));
	}
}

void fmt_top(FILE *f, const json_t *prev, const json_t *cur, double dt)
{
	top_rules(f, prev, cur, dt);
	top_drops(f, prev, cur, dt);
	top_ifaces(f, prev, cur, dt);
}
