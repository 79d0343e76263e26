// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Audit events (see audit.h): the fg_events consumer thread, the audit log
 * (JSON lines, rotated by size and reopened on SIGUSR1), the sampled drop
 * pcap, and the in-memory rings the API's followers read.
 *
 * One mutex guards files, rings and names; one condition variable wakes
 * followers. Datapath timestamps are CLOCK_MONOTONIC (bpf_ktime_get_ns);
 * they are turned into wall-clock time with the offset measured at each
 * poll.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "daemon.h"
#include "log.h"
#include "names.h"

struct slot_name {
	uint32_t slot;
	char *name;
};

/* The two log files. */
struct afiles {
	char *audit_path, *pcap_path;
	int fd; /* log.audit, O_APPEND; -1 when off */
	uint64_t fsize;
	pcap_t *dead;	       /* linktype Ethernet, for dumping */
	pcap_dumper_t *dumper; /* log.pcap; NULL when off */
};

struct audit {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct afiles f;
	uint64_t pcap_last_ns; /* sampling bucket */
	uint64_t pcap_tokens;
	char *ring[AUDIT_RING]; /* recent lines, by seq % AUDIT_RING */
	uint64_t seq;		/* next line's sequence number */
	struct audit_pkt pkts[AUDIT_PKT_RING];
	uint64_t pseq;
	struct slot_name *names;
	size_t nnames;
	struct events *rb; /* fg_events (daemon.h wrappers) */
	pthread_t thread;
	bool running;
	atomic_bool stop;
	bool ended;	     /* followers: no more data */
	uint64_t suppressed; /* reported by the datapath */
	uint64_t lost;	     /* lost here (write errors) */
	int64_t wall_off_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
};

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void rfc3339_ns(int64_t wall_ns, char *buf, size_t len)
{
	time_t secs = wall_ns / 1000000000LL;
	struct tm tm;
	char base[32];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(wall_ns % 1000000000LL / 1000000));
}

/* ---- files ---- */

static void mkdir_parent(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0750) && errno != EEXIST)
		pr_warn("cannot create %s: %s\n", dir, strerror(errno));
}

static int log_open(struct afiles *f)
{
	struct stat st;

	if (!f->audit_path)
		return 0;
	mkdir_parent(f->audit_path);
	f->fd = open(f->audit_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (f->fd < 0) {
		int err = -errno;

		pr_err("cannot open the audit log %s: %s\n", f->audit_path, strerror(-err));
		return err;
	}
	f->fsize = fstat(f->fd, &st) ? 0 : st.st_size;
	return 0;
}

static int pcap_file_open(struct afiles *f)
{
	if (!f->pcap_path)
		return 0;
	mkdir_parent(f->pcap_path);
	f->dumper = pcap_dump_open_append(f->dead, f->pcap_path);
	if (!f->dumper) {
		pr_err("cannot open the pcap file %s: %s\n", f->pcap_path, pcap_geterr(f->dead));
		return -EIO;
	}
	return 0;
}

static void files_close(struct afiles *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->dumper)
		pcap_dump_close(f->dumper);
	f->dumper = NULL;
}

static int files_open(struct afiles *f)
{
	int rc = log_open(f);

	if (!rc)
		rc = pcap_file_open(f);
	return rc;
}

/* path -> path.1 (replacing it), then a new file. */
static void rotate(const char *path)
{
	char old[PATH_MAX + 4];

	snprintf(old, sizeof(old), "%s.1", path);
	if (rename(path, old))
		pr_warn("cannot rotate %s: %s\n", path, strerror(errno));
}

static void log_write(struct audit *a, const char *line)
{
	struct iovec iov[2] = {{(void *)line, strlen(line)}, {"\n", 1}};
	struct afiles *f = &a->f;
	ssize_t n;

	if (f->fd < 0)
		return;
	n = writev(f->fd, iov, 2);
	if (n < 0) {
		a->lost++;
		return;
	}
	f->fsize += n;
	if (f->fsize >= AUDIT_ROTATE_BYTES) {
		close(f->fd);
		f->fd = -1;
		rotate(f->audit_path);
		log_open(f);
	}
}

static void pcap_write(struct audit *a, const struct audit_pkt *p, uint64_t now)
{
	struct pcap_pkthdr h = {.ts = p->ts, .caplen = p->caplen, .len = p->len};
	uint64_t refill;

	if (!a->f.dumper)
		return;
	/* sampled: AUDIT_PCAP_RATE packets/s, burst the same */
	refill = (now - a->pcap_last_ns) * AUDIT_PCAP_RATE / 1000000000ULL;
	if (refill) {
		a->pcap_tokens = a->pcap_tokens + refill > AUDIT_PCAP_RATE
				     ? AUDIT_PCAP_RATE
				     : a->pcap_tokens + refill;
		a->pcap_last_ns = now;
	}
	if (!a->pcap_tokens)
		return;
	a->pcap_tokens--;
	pcap_dump((u_char *)a->f.dumper, &h, p->data);
	if (pcap_dump_ftell64(a->f.dumper) >= (int64_t)AUDIT_ROTATE_BYTES) {
		pcap_dump_close(a->f.dumper);
		a->f.dumper = NULL;
		rotate(a->f.pcap_path);
		pcap_file_open(&a->f);
	}
}

/* ---- events ---- */

static void ring_push(struct audit *a, char *line)
{
	char **slot = &a->ring[a->seq % AUDIT_RING];

	free(*slot);
	*slot = line;
	a->seq++;
}

/* Write and keep one line (locked); takes the line over. */
static void emit_line(struct audit *a, char *line)
{
	log_write(a, line);
	ring_push(a, line);
	pthread_cond_broadcast(&a->cond);
}

static char *with_ts(json_t *ev, int64_t wall_ns)
{
	char ts[48], *line;
	json_t *o;

	rfc3339_ns(wall_ns, ts, sizeof(ts));
	o = json_pack("{s:s}", "ts", ts);
	json_object_update(o, ev);
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return line;
}

void audit_emit(struct audit *a, json_t *ev)
{
	char *line;

	if (!a || !ev) {
		json_decref(ev);
		return;
	}
	line = with_ts(ev, clock_ns(CLOCK_REALTIME));
	json_decref(ev);
	pthread_mutex_lock(&a->lock);
	if (line)
		emit_line(a, line);
	else
		a->lost++;
	pthread_mutex_unlock(&a->lock);
}

static void addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
	inet_ntop(family == FG_FAM_V4 ? AF_INET : AF_INET6, addr, buf, len);
}

static void event_flow(json_t *o, const struct fg_pkt *p)
{
	char buf[INET6_ADDRSTRLEN], proto[16];
	bool ports = (p->flags & FG_PKT_L4) && (p->proto == 6 || p->proto == 17);
	bool icmp = (p->flags & FG_PKT_L4) && (p->proto == 1 || p->proto == 58);

	if (p->family != FG_FAM_V4 && p->family != FG_FAM_V6)
		return;
	addr_str(p->family, p->src, buf, sizeof(buf));
	json_object_set_new(o, "src", json_string(buf));
	addr_str(p->family, p->dst, buf, sizeof(buf));
	json_object_set_new(o, "dst", json_string(buf));
	if (ports) {
		json_object_set_new(o, "sport", json_integer(p->sport));
		json_object_set_new(o, "dport", json_integer(p->dport));
	}
	json_object_set_new(o, "proto", json_string(fg_proto_name(p->proto, proto, sizeof(proto))));
	if (icmp) {
		json_object_set_new(o, "icmp_type", json_integer(p->icmp_type));
		json_object_set_new(o, "icmp_code", json_integer(p->icmp_code));
	}
}

json_t *audit_event_json(const struct fg_event *e, const char *rule, int64_t wall_ns)
{
	char ts[48], ifname[IF_NAMESIZE + 8];
	json_t *o;

	rfc3339_ns(wall_ns, ts, sizeof(ts));
	if (!if_indextoname(e->ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "if%u", e->ifindex);
	o = json_pack("{s:s,s:s,s:s}", "ts", ts, "event", e->type == FG_EV_LOG ? "log" : "drop",
		      "reason", fg_reason_name(e->reason));
	if (!o)
		return NULL;
	if (rule)
		json_object_set_new(o, "rule", json_string(rule));
	event_flow(o, &e->pkt);
	json_object_set_new(o, "iface", json_string(ifname));
	json_object_set_new(o, "len", json_integer(e->pkt_len));
	if (e->suppressed)
		json_object_set_new(o, "suppressed", json_integer(e->suppressed));
	return o;
}

static int slot_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct slot_name *)a)->slot, y = ((const struct slot_name *)b)->slot;

	return x < y ? -1 : x > y;
}

/* The "rule" of an event (locked): a rule's name, "default", or none. */
static const char *event_rule(struct audit *a, const struct fg_event *e)
{
	struct slot_name key = {.slot = e->stat_slot}, *hit;

	if (e->reason == FG_R_DEFAULT ||
	    (e->reason == FG_R_FRAGMENT && e->stat_slot == FG_SLOT_DEFAULT))
		return "default";
	if (e->reason != FG_R_RULE && e->reason != FG_R_RATE && e->reason != FG_R_FRAGMENT)
		return NULL;
	hit = bsearch(&key, a->names, a->nnames, sizeof(key), slot_cmp);
	return hit ? hit->name : NULL;
}

static void pkt_push(struct audit *a, const struct fg_event *e, int64_t wall_ns)
{
	struct audit_pkt *p = &a->pkts[a->pseq % AUDIT_PKT_RING];

	p->ts.tv_sec = wall_ns / 1000000000LL;
	p->ts.tv_usec = wall_ns % 1000000000LL / 1000;
	p->caplen = e->cap_len < FG_EVENT_SNAP ? e->cap_len : FG_EVENT_SNAP;
	p->len = e->pkt_len;
	memcpy(p->data, e->data, p->caplen);
	a->pseq++;
	pcap_write(a, p, e->ts_ns);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct fg_event *e = data;
	struct audit *a = ctx;
	int64_t wall;
	json_t *o;
	char *line;

	if (size < sizeof(*e))
		return 0;
	wall = e->ts_ns + a->wall_off_ns;
	pthread_mutex_lock(&a->lock);
	a->suppressed += e->suppressed;
	o = audit_event_json(e, event_rule(a, e), wall);
	line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (line)
		emit_line(a, line);
	else
		a->lost++;
	if (e->type == FG_EV_DROP && e->cap_len)
		pkt_push(a, e, wall);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void *consumer(void *arg)
{
	struct audit *a = arg;

	while (!atomic_load(&a->stop)) {
		a->wall_off_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
		if (events_poll(a->rb, 200) < 0 && errno != EINTR)
			usleep(100000);
		pthread_mutex_lock(&a->lock);
		if (a->f.dumper)
			pcap_dump_flush(a->f.dumper);
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

/* ---- life cycle ---- */

static int set_paths(struct afiles *f, const char *audit_path, const char *pcap_path)
{
	free(f->audit_path);
	free(f->pcap_path);
	f->audit_path = audit_path ? strdup(audit_path) : NULL;
	f->pcap_path = pcap_path ? strdup(pcap_path) : NULL;
	if ((audit_path && !f->audit_path) || (pcap_path && !f->pcap_path))
		return -ENOMEM;
	return 0;
}

int audit_open(const char *audit_path, const char *pcap_path, int ring_fd, struct audit **out)
{
	struct audit *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return -ENOMEM;
	a->f.fd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->pcap_tokens = AUDIT_PCAP_RATE;
	a->f.dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (!a->f.dead) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = set_paths(&a->f, audit_path, pcap_path)) || (rc = files_open(&a->f)))
		goto fail;
	if (ring_fd >= 0 && (rc = audit_set_ring(a, ring_fd)))
		goto fail;
	*out = a;
	return 0;
fail:
	audit_free(a);
	return rc;
}

int audit_set_ring(struct audit *a, int ring_fd)
{
	int rc;

	a->rb = events_open(ring_fd, on_event, a);
	if (!a->rb) {
		rc = errno ? -errno : -EINVAL;
		pr_err("cannot read the event ring buffer: %s\n", strerror(-rc));
		return rc;
	}
	return 0;
}

int audit_start(struct audit *a)
{
	int rc;

	if (!a->rb)
		return 0;
	rc = pthread_create(&a->thread, NULL, consumer, a);
	if (rc)
		return -rc;
	a->running = true;
	return 0;
}

void audit_stop(struct audit *a)
{
	if (!a)
		return;
	atomic_store(&a->stop, true);
	if (a->running)
		pthread_join(a->thread, NULL);
	a->running = false;
	pthread_mutex_lock(&a->lock);
	a->ended = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

static void names_clear(struct audit *a)
{
	size_t i;

	for (i = 0; i < a->nnames; i++)
		free(a->names[i].name);
	free(a->names);
	a->names = NULL;
	a->nnames = 0;
}

void audit_free(struct audit *a)
{
	size_t i;

	if (!a)
		return;
	audit_stop(a);
	events_free(a->rb);
	files_close(&a->f);
	if (a->f.dead)
		pcap_close(a->f.dead);
	for (i = 0; i < AUDIT_RING; i++)
		free(a->ring[i]);
	names_clear(a);
	free(a->f.audit_path);
	free(a->f.pcap_path);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void audit_reopen(struct audit *a)
{
	pthread_mutex_lock(&a->lock);
	files_close(&a->f);
	files_open(&a->f);
	pthread_mutex_unlock(&a->lock);
}

/* New files are opened before the old ones close: on error nothing changes. */
int audit_set_paths(struct audit *a, const char *audit_path, const char *pcap_path)
{
	struct afiles n = {.fd = -1, .dead = a->f.dead};
	int rc = set_paths(&n, audit_path, pcap_path);

	if (!rc)
		rc = files_open(&n);
	if (rc) {
		files_close(&n);
		free(n.audit_path);
		free(n.pcap_path);
		return rc;
	}
	pthread_mutex_lock(&a->lock);
	files_close(&a->f);
	free(a->f.audit_path);
	free(a->f.pcap_path);
	a->f = n;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int audit_set_names(struct audit *a, const struct slotmap *m)
{
	struct slot_name *v = calloc(m->n + 1, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < m->n; i++) {
		v[i].slot = m->slots[i];
		v[i].name = strdup(m->names[i]);
	}
	qsort(v, m->n, sizeof(*v), slot_cmp);
	pthread_mutex_lock(&a->lock);
	names_clear(a);
	a->names = v;
	a->nnames = m->n;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

uint64_t audit_lost(struct audit *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->lock);
	n = a->suppressed + a->lost;
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* ---- followers ---- */

uint64_t audit_seq_recent(struct audit *a, unsigned n)
{
	uint64_t s;

	pthread_mutex_lock(&a->lock);
	if (n > AUDIT_RING)
		n = AUDIT_RING;
	s = a->seq > n ? a->seq - n : 0;
	pthread_mutex_unlock(&a->lock);
	return s;
}

/* Wait (locked) until *cur moves past *seq; 1 ready, 0 timeout, -1 end. */
static int wait_for(struct audit *a, const uint64_t *cur, uint64_t seq, int timeout_ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	while (seq >= *cur && !a->ended)
		if (pthread_cond_timedwait(&a->cond, &a->lock, &dl) == ETIMEDOUT)
			break;
	if (seq < *cur)
		return 1;
	return a->ended ? -1 : 0;
}

int audit_next_line(struct audit *a, uint64_t *seq, char **line, int timeout_ms)
{
	int rc;

	pthread_mutex_lock(&a->lock);
	if (a->seq > AUDIT_RING && *seq < a->seq - AUDIT_RING)
		*seq = a->seq - AUDIT_RING; /* overwritten meanwhile */
	rc = wait_for(a, &a->seq, *seq, timeout_ms);
	if (rc == 1) {
		*line = strdup(a->ring[*seq % AUDIT_RING]);
		(*seq)++;
		if (!*line)
			rc = -1;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

uint64_t audit_pkt_seq_now(struct audit *a)
{
	uint64_t s;

	pthread_mutex_lock(&a->lock);
	s = a->pseq;
	pthread_mutex_unlock(&a->lock);
	return s;
}

int audit_next_pkt(struct audit *a, uint64_t *seq, struct audit_pkt *out, int timeout_ms)
{
	int rc;

	pthread_mutex_lock(&a->lock);
	if (a->pseq > AUDIT_PKT_RING && *seq < a->pseq - AUDIT_PKT_RING)
		*seq = a->pseq - AUDIT_PKT_RING;
	rc = wait_for(a, &a->pseq, *seq, timeout_ms);
	if (rc == 1) {
		*out = a->pkts[*seq % AUDIT_PKT_RING];
		(*seq)++;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}
