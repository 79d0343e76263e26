/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Audit: the consumer of the datapath's fg_events ring buffer, and the one
 * place audit events go (DESIGN.md §4). Each event becomes a JSON line in
 * log.audit, a line in an in-memory ring of the last AUDIT_RING events
 * (GET /v1/events), and, for drops, a pcap record in log.pcap (sampled) and
 * in a ring of recent packets (GET /v1/capture). Followers of either ring
 * block in audit_next_*() until something new arrives.
 */
#ifndef FG_AUDIT_H
#define FG_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <jansson.h>
#include <flowgate/abi.h>

#define AUDIT_RING 1024			 /* events kept in memory */
#define AUDIT_PKT_RING 1024		 /* dropped packets kept for capture */
#define AUDIT_ROTATE_BYTES (64ULL << 20) /* log.audit / log.pcap -> .1 */
#define AUDIT_PCAP_RATE 100		 /* packets/s written to log.pcap (burst the same) */

struct audit;
struct slotmap;

struct audit_pkt {
	struct timeval ts;
	uint32_t caplen, len;
	uint8_t data[FG_EVENT_SNAP];
};

/* Open log files (either path may be NULL). ring_fd: fg_events (or -1). */
int audit_open(const char *audit_path, const char *pcap_path, int ring_fd, struct audit **out);
/* Consume fg_events (once the datapath is open). */
int audit_set_ring(struct audit *a, int ring_fd);
/* Start the ring-buffer thread (after capabilities are dropped). */
int audit_start(struct audit *a);
/* Stop the thread and wake every follower (they see the end). */
void audit_stop(struct audit *a);
void audit_free(struct audit *a);

/* Reopen both files (SIGUSR1, after an external rotation). */
void audit_reopen(struct audit *a);
/* New paths (reload of the -c file). */
int audit_set_paths(struct audit *a, const char *audit_path, const char *pcap_path);
/* Rule names by stats slot, for the "rule" field. */
int audit_set_names(struct audit *a, const struct slotmap *m);

/* Record an event made by the control plane: "ts" is added first. Steals
 * the reference to ev. */
void audit_emit(struct audit *a, json_t *ev);

/* Events lost: reported suppressed by the datapath plus lost here. */
uint64_t audit_lost(struct audit *a);

/*
 * Followers. *seq is the next sequence number wanted; start from
 * audit_seq_recent(). Returns 1 with a copy of the line (caller frees),
 * 0 on timeout, -1 when the audit module stops.
 */
uint64_t audit_seq_recent(struct audit *a, unsigned n);
int audit_next_line(struct audit *a, uint64_t *seq, char **line, int timeout_ms);
uint64_t audit_pkt_seq_now(struct audit *a);
int audit_next_pkt(struct audit *a, uint64_t *seq, struct audit_pkt *out, int timeout_ms);

/* Format one datapath event as its JSON object (tests, the consumer). */
json_t *audit_event_json(const struct fg_event *e, const char *rule, int64_t wall_ns);

#endif /* FG_AUDIT_H */
