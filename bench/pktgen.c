// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pktgen: a packet generator for the benchmarks. Loads gen.bpf.c and runs it
 * with BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES: the kernel builds
 * frames from our template and sends every frame the program returns XDP_TX
 * for out of --dev, at several Mpps on one core, with no sockets involved.
 *
 * Timing: each BPF_PROG_TEST_RUN call costs a fixed ~25 ms of setup and
 * teardown here (measured: 1024 frames take as long as 16384), so a rate
 * taken over many short calls would mostly measure that. A worker thread
 * makes one long call; the main thread watches the program's frame counter
 * (its .bss, mmapped) and takes the rate over the window from the first
 * frame to --count or --duration, then stops the call with a signal.
 *
 * Only ever point it at a veth whose peer you own: the frames go to the wire.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gen.h"
#include "gen.skel.h"

/* How often the main thread looks at the frame counter. */
#define POLL_NS 1000000
/* Live frames live in one page with XDP headroom and skb_shared_info. */
#define MAX_FRAME 3520
#define DEFAULT_COUNT 10000000ULL
#define DEFAULT_DURATION 10.0
/* Hard bounds: a typo must not flood for hours. */
#define MAX_COUNT 2000000000ULL
#define MAX_DURATION 600.0

static const char usage[] =
    "Usage: pktgen --dev IFACE [options]\n"
    "Send generated UDP (or TCP SYN) frames out of IFACE with XDP live frames.\n"
    "\n"
    "  -i, --dev IFACE        device to send from (required; a veth whose peer you own)\n"
    "  -n, --count N          frames to send (default 10000000, max 2000000000)\n"
    "  -d, --duration SEC     stop after SEC seconds even if --count is not reached\n"
    "                         (default 10, max 600)\n"
    "  -s, --size BYTES       frame size without FCS, 60..3520 (default 60)\n"
    "  -t, --tcp              TCP SYN frames instead of UDP\n"
    "      --src IP           source IPv4 address (default 10.99.0.2)\n"
    "      --dst IP           destination IPv4 address (default 10.99.1.2)\n"
    "      --src-mac MAC      default: IFACE's address\n"
    "      --dst-mac MAC      default: ff:ff:ff:ff:ff:ff (give the peer's for unicast)\n"
    "      --sport PORT       first source port (default 1024)\n"
    "      --dport PORT       first destination port (default 9)\n"
    "  -r, --src-range N      vary the source address over N addresses from --src\n"
    "      --sport-range N    vary the source port over N ports from --sport\n"
    "      --dport-range N    vary the destination port over N ports from --dport\n"
    "      --random           pick each varied field at random (default: an\n"
    "                         odometer: source address fastest, then sport, dport,\n"
    "                         so consecutive frames belong to different flows)\n"
    "  -c, --cpu N            run the generator on CPU N (the receiving veth's NAPI\n"
    "                         poll runs there too)\n"
    "  -q, --quiet            print only the result line\n"
    "  -v, --verbose          libbpf debug output\n"
    "  -h, --help             this help\n"
    "\n"
    "Output: one line\n"
    "  pktgen: sent TOTAL packets; N in S s: M Mpps (SIZE B PROTO, F flows)\n"
    "TOTAL counts every frame the program returned XDP_TX for; N of them were\n"
    "sent in the measured window of S seconds (first frame to the end, without\n"
    "the kernel's per-call setup and teardown). Frames the peer could not take\n"
    "(its ring full, or no XDP program on it) are counted by the veth, see\n"
    "`ethtool -S`.\n"
    "\n"
    "Examples:\n"
    "  pktgen --dev fgb0 --count 20000000 --src 10.99.0.2 --dst 10.99.1.2 \\\n"
    "         --dst-mac 02:00:00:00:00:02 --src-range 256 --sport-range 64\n"
    "  pktgen --dev fgb0 --tcp --dport 80 --duration 3\n";

static int verbose;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	stopping = sig;
}

/* Interrupts the worker's BPF_PROG_TEST_RUN: the kernel checks for pending
 * signals between batches and returns -EINTR. */
static void on_wakeup(int sig)
{
	(void)sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pktgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static unsigned long long parse_num(const char *opt, const char *s, unsigned long long min,
				    unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die("%s: '%s' is not a number in %llu..%llu", opt, s, min, max);
	return v;
}

static void parse_mac(const char *opt, const char *s, __u8 mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
	    ETH_ALEN)
		die("%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", opt, s);
	for (int i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			die("%s: '%s' is not a MAC address", opt, s);
		mac[i] = b[i];
	}
}

static __u32 parse_ip(const char *opt, const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("%s: '%s' is not an IPv4 address", opt, s);
	return ntohl(a.s_addr);
}

static int dev_mac(const char *dev, __u8 mac[ETH_ALEN])
{
	struct ifreq ifr = {0};
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		err = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
	return err;
}

/* Unfolded one's-complement sum of 16-bit words loaded in host order, the
 * way gen.bpf.c adds the varied words to it. */
static __u32 sum16(const void *p, size_t len)
{
	const __u8 *b = p;
	__u32 sum = 0;
	__u16 w;

	for (size_t i = 0; i + 1 < len; i += 2) {
		memcpy(&w, b + i, 2);
		sum += w;
	}
	if (len & 1) {
		w = 0;
		memcpy(&w, b + len - 1, 1);
		sum += w;
	}
	return sum;
}

struct opts {
	const char *dev;
	unsigned long long count;
	double duration;
	unsigned int size;
	int tcp, random, quiet, cpu;
	__u32 src, dst;
	__u16 sport, dport;
	__u32 src_range, sport_range, dport_range;
	__u8 src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
	int have_src_mac;
};

/* The whole frame (template headers + zero payload) and the sums pktgen
 * needs; varied fields stay zero here and are written by the program. */
static void frame_build(const struct opts *o, __u8 *frame, struct gen_cfg *cfg)
{
	struct ethhdr *eth = (struct ethhdr *)frame;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	__u16 l4_len = o->size - sizeof(*eth) - sizeof(*ip);

	memset(frame, 0, o->size);
	memcpy(eth->h_dest, o->dst_mac, ETH_ALEN);
	memcpy(eth->h_source, o->src_mac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(o->size - sizeof(*eth));
	ip->id = htons(1);
	ip->frag_off = htons(0x4000); /* DF */
	ip->ttl = 64;
	ip->protocol = o->tcp ? IPPROTO_TCP : IPPROTO_UDP;
	ip->daddr = htonl(o->dst);
	cfg->ip_sum = sum16(ip, sizeof(*ip));

	if (o->tcp) {
		struct tcphdr *tcp = (struct tcphdr *)(ip + 1);
		struct {
			__be32 daddr;
			__u8 zero, proto;
			__be16 len;
		} __attribute__((packed)) pseudo = {ip->daddr, 0, IPPROTO_TCP, htons(l4_len)};

		tcp->seq = htonl(1);
		tcp->doff = 5;
		tcp->syn = 1;
		tcp->window = htons(64240);
		cfg->tcp_sum = sum16(&pseudo, sizeof(pseudo)) + sum16(tcp, l4_len);
	} else {
		struct udphdr *udp = (struct udphdr *)(ip + 1);

		udp->len = htons(l4_len);
		udp->check = 0; /* none: valid for UDP over IPv4 */
	}
	memcpy(cfg->tmpl, frame, GEN_HDR_LEN);
	cfg->flags = (o->tcp ? GEN_F_TCP : 0) | (o->random ? GEN_F_RANDOM : 0);
	cfg->saddr = o->src;
	cfg->src_range = o->src_range;
	cfg->sport = o->sport;
	cfg->dport = o->dport;
	cfg->sport_range = o->sport_range;
	cfg->dport_range = o->dport_range;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct worker {
	int prog_fd;
	int ifindex;
	const struct opts *o;
	const __u8 *frame;
	volatile int done;
	int err;
};

/* One long test run (split only where `repeat`, an int, runs out). */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	unsigned long long left = w->o->count;
	/* The kernel wants data_end to be the frame size. */
	struct xdp_md ctx = {.data_end = w->o->size, .ingress_ifindex = w->ifindex};

	while (left && !stopping) {
		LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = w->frame, .data_size_in = w->o->size,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
			    .repeat = left < INT32_MAX ? left : INT32_MAX,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		w->err = bpf_prog_test_run_opts(w->prog_fd, &run);
		if (w->err)
			break;
		left -= run.repeat;
	}
	w->done = 1;
	return NULL;
}

static void sleep_ns(long ns)
{
	struct timespec ts = {ns / 1000000000L, ns % 1000000000L};

	nanosleep(&ts, NULL);
}

static void opts_parse(int argc, char **argv, struct opts *o)
{
	enum {
		O_SRC = 256,
		O_DST,
		O_SRC_MAC,
		O_DST_MAC,
		O_SPORT,
		O_DPORT,
		O_SPORT_RANGE,
		O_DPORT_RANGE,
		O_RANDOM
	};
	static const struct option longopts[] = {
	    {"dev", required_argument, NULL, 'i'},
	    {"count", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"size", required_argument, NULL, 's'},
	    {"tcp", no_argument, NULL, 't'},
	    {"src", required_argument, NULL, O_SRC},
	    {"dst", required_argument, NULL, O_DST},
	    {"src-mac", required_argument, NULL, O_SRC_MAC},
	    {"dst-mac", required_argument, NULL, O_DST_MAC},
	    {"sport", required_argument, NULL, O_SPORT},
	    {"dport", required_argument, NULL, O_DPORT},
	    {"src-range", required_argument, NULL, 'r'},
	    {"sport-range", required_argument, NULL, O_SPORT_RANGE},
	    {"dport-range", required_argument, NULL, O_DPORT_RANGE},
	    {"random", no_argument, NULL, O_RANDOM},
	    {"cpu", required_argument, NULL, 'c'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	char *end;
	int c;

	*o = (struct opts){
	    .count = DEFAULT_COUNT,
	    .duration = DEFAULT_DURATION,
	    .size = GEN_MIN_FRAME,
	    .src = parse_ip("--src", "10.99.0.2"),
	    .dst = parse_ip("--dst", "10.99.1.2"),
	    .sport = 1024,
	    .dport = 9,
	    .src_range = 1,
	    .sport_range = 1,
	    .dport_range = 1,
	    .dst_mac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	    .cpu = -1,
	};
	while ((c = getopt_long(argc, argv, "i:n:d:s:tr:c:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->dev = optarg;
			break;
		case 'n':
			o->count = parse_num("--count", optarg, 1, MAX_COUNT);
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->duration > 0) ||
			    o->duration > MAX_DURATION)
				die("--duration: '%s' is not a number of seconds in (0, %.0f]",
				    optarg, MAX_DURATION);
			break;
		case 's':
			o->size = parse_num("--size", optarg, GEN_MIN_FRAME, MAX_FRAME);
			break;
		case 't':
			o->tcp = 1;
			break;
		case O_SRC:
			o->src = parse_ip("--src", optarg);
			break;
		case O_DST:
			o->dst = parse_ip("--dst", optarg);
			break;
		case O_SRC_MAC:
			parse_mac("--src-mac", optarg, o->src_mac);
			o->have_src_mac = 1;
			break;
		case O_DST_MAC:
			parse_mac("--dst-mac", optarg, o->dst_mac);
			break;
		case O_SPORT:
			o->sport = parse_num("--sport", optarg, 0, 65535);
			break;
		case O_DPORT:
			o->dport = parse_num("--dport", optarg, 0, 65535);
			break;
		case 'r':
			o->src_range = parse_num("--src-range", optarg, 1, 1U << 24);
			break;
		case O_SPORT_RANGE:
			o->sport_range = parse_num("--sport-range", optarg, 1, 65536);
			break;
		case O_DPORT_RANGE:
			o->dport_range = parse_num("--dport-range", optarg, 1, 65536);
			break;
		case O_RANDOM:
			o->random = 1;
			break;
		case 'c':
			o->cpu = parse_num("--cpu", optarg, 0, CPU_SETSIZE - 1);
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(1);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
	if (!o->dev)
		die("--dev IFACE is required (see --help)");
	if ((unsigned long long)o->src + o->src_range - 1 > 0xffffffffULL)
		die("--src-range %u runs past 255.255.255.255", o->src_range);
}

int main(int argc, char **argv)
{
	__u8 frame[MAX_FRAME];
	struct opts o;
	struct gen *skel;
	struct worker w = {0};
	volatile __u64 *frames;
	unsigned long long c0 = 0, c1 = 0, total;
	double t0 = 0, t1 = 0, start;
	struct sigaction sa = {.sa_handler = on_wakeup};
	sigset_t block, old;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	opts_parse(argc, argv, &o);
	libbpf_set_print(libbpf_print);

	w.ifindex = if_nametoindex(o.dev);
	if (!w.ifindex)
		die("no device %s in this network namespace", o.dev);
	if (!o.have_src_mac && (err = dev_mac(o.dev, o.src_mac)))
		die("cannot read the MAC address of %s: %s; give --src-mac", o.dev, strerror(-err));

	skel = gen__open();
	if (!skel)
		die("cannot open the generator program: %s", strerror(errno));
	frame_build(&o, frame, &skel->bss->fg_gen_cfg);
	err = gen__load(skel);
	if (err) {
		gen__destroy(skel);
		die("cannot load the generator program: %s (run as root; -v shows the verifier "
		    "log)",
		    strerror(-err));
	}
	w.prog_fd = bpf_program__fd(skel->progs.fg_gen);
	w.o = &o;
	w.frame = frame;
	frames = &skel->bss->fg_gen_state.frames;

	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Only the main thread takes SIGINT/SIGTERM; the worker gets SIGUSR1. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_attr_init(&attr);
	if (o.cpu >= 0) {
		cpu_set_t set;

		/* Before it starts: a running test run only migrates between batches. */
		CPU_ZERO(&set);
		CPU_SET(o.cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	pthread_sigmask(SIG_BLOCK, &block, &old);
	err = pthread_create(&tid, &attr, worker_run, &w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		gen__destroy(skel);
		die("cannot start the generator thread%s: %s", o.cpu >= 0 ? " on that --cpu" : "",
		    strerror(err));
	}

	/* The window opens at the first frame (after the kernel's setup) and
	 * closes at --count, --duration, a signal or an error. */
	start = now_s();
	while (!w.done && !stopping) {
		unsigned long long c = *frames;
		double t = now_s();

		if (!t0 && c) {
			t0 = t;
			c0 = c;
		}
		if (t0) {
			t1 = t;
			c1 = c;
			if (c >= o.count || t - t0 >= o.duration)
				break;
		} else if (t - start > 10.0) {
			fprintf(stderr, "pktgen: no frame sent after 10 s; giving up\n");
			break;
		}
		sleep_ns(POLL_NS);
	}
	stopping = stopping ? stopping : -1;
	while (!w.done) {
		pthread_kill(tid, SIGUSR1);
		sleep_ns(POLL_NS);
	}
	pthread_join(tid, NULL);
	total = *frames;

	if (w.err && w.err != -EINTR)
		fprintf(stderr,
			"pktgen: BPF_PROG_TEST_RUN with live frames failed on %s: %s "
			"(needs root and kernel >= 5.18)\n",
			o.dev, strerror(-w.err));
	if (!o.quiet && stopping > 0)
		fprintf(stderr, "pktgen: stopped by signal %d\n", (int)stopping);
	if (c1 == c0) {
		/* Over before the first look: all frames, wall time. */
		c0 = 0;
		c1 = total;
		t0 = start;
		t1 = now_s();
	}
	printf("pktgen: sent %llu packets; %llu in %.4f s: %.3f Mpps (%u B %s, %llu flows)\n",
	       total, c1 - c0, t1 - t0, t1 > t0 ? (c1 - c0) / (t1 - t0) / 1e6 : 0.0, o.size,
	       o.tcp ? "TCP SYN" : "UDP",
	       (unsigned long long)o.src_range * o.sport_range * o.dport_range);
	gen__destroy(skel);
	return w.err && w.err != -EINTR ? 2 : 0;
}
