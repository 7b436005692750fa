/*
 * sessions.h - what larsctl shows of larsd's measuring sessions: the
 * reply of "stats sessions" as a table, as JSON, and as Prometheus
 * counters, gauges and histograms; and the figures larsctl watch needs.
 *
 * The reply (larsctl(8), CONTROL PROTOCOL; larsd(8), MEASURING):
 * "sessions N", "sessions_send_error_us P50,P99,MAX" and the rows
 * "session_<i>:<field>" of the fields below.  A value larsd does not know is "-".  format.c
 * leaves these items to this module and prints every other one.
 */
#ifndef LARSCTL_SESSIONS_H
#define LARSCTL_SESSIONS_H

#include "reply.h"

#include <stdio.h>

/* A row's fields, in larsd's order (JSON keeps it): X(field, kind, metric,
 * help).  Kinds: a label of every sample (name, peer), a plain value
 * (JSON only), a counter (larsd_session_<field>_total), a flag (a gauge
 * 0/1, true/false in JSON), a distribution in microseconds
 * ("p50,p90,p99,max,min,mean"), and the histogram behind it
 * ("count,sum_ns,n_0,...,n_19", buckets not cumulative), exported as
 * larsd_session_<metric>. */
#define SESSION_FIELDS(X)                                                               \
	X(name, SK_LABEL, NULL, NULL)                                                   \
	X(peer, SK_LABEL, NULL, NULL)                                                   \
	X(port, SK_VALUE, NULL, NULL)                                                   \
	X(rate, SK_VALUE, NULL, NULL)                                                   \
	X(sent, SK_COUNTER, "sent", "Test packets the session sent")                    \
	X(received, SK_COUNTER, "received",                                             \
	  "First replies within the session's timeout")                                 \
	X(lost, SK_COUNTER, "lost", "Test packets without a reply within the timeout")  \
	X(late, SK_COUNTER, "late",                                                     \
	  "Replies that came after their packet was counted lost")                      \
	X(duplicates, SK_COUNTER, "duplicates",                                         \
	  "Second and later replies to one packet")                                     \
	X(reordered, SK_COUNTER, "reordered",                                           \
	  "Replies that came after a reply to a later packet")                          \
	X(corrupt, SK_COUNTER, "corrupt",                                               \
	  "Replies that cannot be read as the session's")                               \
	X(send_errors, SK_COUNTER, "send_errors",                                       \
	  "Test packets the kernel refused to send")                                    \
	X(forward_lost, SK_COUNTER, "forward_lost",                                     \
	  "Lost test packets that never reached the reflector")                         \
	X(backward_lost, SK_COUNTER, "backward_lost",                                   \
	  "Replies of the reflector that never came back")                              \
	X(synced, SK_FLAG, "synced",                                                    \
	  "1 when the latest reply said both clocks were synchronised")                 \
	X(rtt_us, SK_US, NULL, NULL)                                                    \
	X(rtt_hist, SK_HIST, "rtt_seconds",                                             \
	  "Round trip time less the time in the reflector")                             \
	X(residence_us, SK_US, NULL, NULL)                                              \
	X(residence_hist, SK_HIST, "residence_seconds",                                 \
	  "Time the test packets spent in the reflector")                               \
	X(forward_us, SK_US, NULL, NULL)                                                \
	X(forward_hist, SK_HIST, "forward_delay_seconds",                               \
	  "One-way delay out, packets sent while both clocks were synchronised")        \
	X(backward_us, SK_US, NULL, NULL)                                               \
	X(backward_hist, SK_HIST, "backward_delay_seconds",                             \
	  "One-way delay back, packets sent while both clocks were synchronised")       \
	X(ipdv_forward_us, SK_US, NULL, NULL)                                           \
	X(ipdv_forward_hist, SK_HIST, "ipdv_forward_seconds",                           \
	  "Inter-packet delay variation, absolute, on the way out")                     \
	X(ipdv_backward_us, SK_US, NULL, NULL)                                          \
	X(ipdv_backward_hist, SK_HIST, "ipdv_backward_seconds",                         \
	  "Inter-packet delay variation, absolute, on the way back")

enum session_field {
#define X(field, kind, metric, help) SESSION_##field,
	SESSION_FIELDS(X)
#undef X
	SESSION_NFIELDS
};

/* A reply's sessions, indexed once: row[i][f] is session i's field f, or
 * NULL where larsd did not send it. */
struct sessions {
	size_t n;
	const char *(*row)[SESSION_NFIELDS];
	const char *send_error_us; /* "p50,p99,max" or "-"; NULL if absent */
};

/* Index r's sessions (n is 0 when it has none); 0, or -1 with errno
 * (ENOMEM).  The strings stay r's. */
int sessions_index(const struct reply *r, struct sessions *s);
void sessions_free(struct sessions *s);

/* Is the item named name one this module prints? */
bool sessions_owns(const char *name);

/* The k-th (from 0) of the comma-separated numbers of v ("95.2,130.0,...")
 * into buf; false when there is none ("-", too few) or it is no number. */
bool sessions_item(const char *v, unsigned k, char *buf, size_t len);

/* The three forms, for a reply that has "sessions".  sessions_json prints
 * the members "sessions" and "send_error_us" of the enclosing object,
 * after sep.  0, or -1 (ENOMEM) having printed nothing. */
int sessions_text(FILE *out, const struct reply *r);
int sessions_json(FILE *out, const struct reply *r, const char *sep);
int sessions_prometheus(FILE *out, const struct reply *r);

#endif /* LARSCTL_SESSIONS_H */
