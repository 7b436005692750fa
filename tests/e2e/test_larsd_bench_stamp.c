/*
 * test_larsd_bench_stamp.c - larsd-bench --stamp, the STAMP Session-Sender,
 * end to end.
 *
 * Against larsd's own Session-Reflector (mode = "stamp", started on a free
 * loopback port by tests/harness/larsd_harness.c): closed loop and paced
 * runs, both timestamp formats, padding, the SSID, the TTL the reflector
 * saw, residence, forward and backward delays in the JSON summary; then
 * each mode of the sender against the listener made for it, the JSON
 * summary and larsd's counters checked side by side: TWAMP-Light requests
 * (base replies), authenticated mode with the listener's key, another key
 * and none, RFC 8972 TLVs with a DSCP (plain and authenticated: the HMAC
 * TLV), and a stateful listener.
 *
 * Against small reflectors on a thread of the test, built on the shared
 * wire module (src/stamp/stamp_wire.h) so they reflect correctly except
 * where they are meant not to: one that answers every packet twice
 * (duplicates, not errors), one that swaps each pair of packets
 * (reordered), one that drops every fourth (losses), a plain echo
 * server, which is no reflector at all (every reply corrupt, exit 1),
 * a stateful one that loses packets on the way in and replies on the
 * way out (the loss split by direction), two that answer with 38 bytes,
 * a reply cut short and an echo cut short (each corrupt once, no packet
 * also lost), and one that goes away
 * for a while (ICMP port unreachable) and comes back on its port.
 *
 * And, as units: the signed distributions of stamp_stats.c (forward and
 * backward delays may be negative when the clocks are not synchronised)
 * and the host clock's Error Estimate (src/stamp/stamp_clock.c).
 *
 * Every run is bounded (-n with -t 2, or -t under a second) on loopback.
 */
#include "config.h"

#include "bench_util.h"
#include "larsd_harness.h"
#include "stamp_clock.h"
#include "stamp_stats.h"
#include "stamp_wire.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- larsd's reflector ------------------------------------------------------ */

/* One worker: replies leave in the order requests arrived, so a sender's
 * packets come back in order (with two workers sharing the socket, one
 * may overtake another: how often depends only on the scheduler).  keys:
 * more keys of the listener's group (NULL: none); lh_init() was called. */
static void start_larsd_keys(struct lh_daemon *d, char *port, size_t len, const char *keys)
{
	snprintf(d->settings, sizeof(d->settings), "  threads = 1;\n");
	size_t i = lh_add(d, "udp", "127.0.0.1", "stamp", true);
	d->ls[i].keys = keys;
	if (!lh_start(d)) {
		char *err = lh_read_file(d->err_path);
		ck_abort_msg("larsd did not become ready; stderr:\n%s", err);
	}
	snprintf(port, len, "%u", (unsigned)d->ls[i].port);
}

static void start_larsd(struct lh_daemon *d, char *port, size_t len)
{
	lh_init(d);
	start_larsd_keys(d, port, len, NULL);
}

static void stop_larsd(struct lh_daemon *d)
{
	ck_assert_int_eq(lh_stop(d, LH_STOP_MS), 0);
	lh_cleanup(d);
}

/* What every clean STAMP run of n packets against a reflector on this host
 * shows. */
static void assert_stamp_clean(const struct lh_exec *b, long n)
{
	ck_assert_code(b, 0);
	ck_assert_num(b, "replies", ==, n);
	ck_assert_num(b, "errors", ==, 0);
	ck_assert_num(b, "losses", ==, 0);
	ck_assert_num(b, "late", ==, 0);
	ck_assert_num(b, "duplicates", ==, 0);
	ck_assert_ptr_nonnull(strstr(b->out, "\"mode\":\"stamp\""));
	/* Round trip T4 - T1 covers the reflector's T3 - T2. */
	ck_assert_msg(num_in(b, "latency_us", "p50") > 0, "%s", b->out);
	ck_assert_msg(num_in(b, "residence_us", "max") > 0, "%s", b->out);
	ck_assert_msg(num_in(b, "latency_us", "max") >= num_in(b, "residence_us", "min"), "%s",
		      b->out);
	/* One host, one clock: T1 <= T2 and T3 <= T4, within the resolution. */
	ck_assert_msg(num_in(b, "forward_us", "min") >= -0.001, "%s", b->out);
	ck_assert_msg(num_in(b, "backward_us", "min") >= -0.001, "%s", b->out);
	ck_assert_ptr_nonnull(strstr(b->out, "\"note\":\"forward and backward delays need"));
}

START_TEST(test_stamp_larsd)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d, port, sizeof(port));
	const char *args[] = {"--stamp", "-P", port, "-n", "2000", "-c", "2", "-d", "4", "-T",
			      "2", "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_stamp_clean(&b, 2000);
	ck_assert_num(&b, "reordered", ==, 0);
	ck_assert_num(&b, "size", ==, 44);
	ck_assert_num(&b, "ssid", ==, 1);
	ck_assert_ptr_nonnull(strstr(b.out, "\"timestamps\":\"ntp\""));
	/* larsd reads the TTL of each request: 64 on loopback. */
	ck_assert_num(&b, "ttl_min", ==, 64);
	ck_assert_num(&b, "ttl_max", ==, 64);

	/* PTPv2 timestamps, padding, another SSID: the reflector answers in
	 * kind, and the reply is as long as the request. */
	const char *ptp[] = {"--stamp", "-P", port, "-n", "500", "--ptp", "-s", "200", "--ssid",
			     "4242", "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, ptp);
	assert_stamp_clean(&b, 500);
	ck_assert_num(&b, "reordered", ==, 0); /* one in flight at a time */
	ck_assert_num(&b, "frame_bytes", ==, 200);
	ck_assert_ptr_nonnull(strstr(b.out, "\"reflector_ptp\":true"));

	/* Paced: 2000 packets/s for half a second, about 1000 packets. */
	const char *paced[] = {"--stamp", "-P", port, "--rate", "2000", "-t", "0.5", "--timeout",
			       "1000", "--json", NULL};
	run_bench(&b, paced);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "rate_pps", ==, 2000);
	ck_assert_num(&b, "sent", >=, 900);
	ck_assert_num(&b, "sent", <=, 1100);
	ck_assert_num(&b, "errors", ==, 0);

	/* The text summary says what the one-way delays are worth. */
	const char *text[] = {"--stamp", "-P", port, "-n", "200", "-t", "2", NULL};
	run_bench(&b, text);
	ck_assert_code(&b, 0);
	ck_assert_ptr_nonnull(strstr(b.out, "residence   T3-T2 us:"));
	ck_assert_ptr_nonnull(strstr(b.out, "forward and backward delays need synchronised clocks"));
	stop_larsd(&d);
}
END_TEST

/* ---- larsd in each mode ---------------------------------------------------------- */

/* A key file of 32 bytes in hex in the daemon's folder. */
static void write_key(struct lh_daemon *d, const char *name, char fill, mode_t mode, char *path,
		      size_t len)
{
	char hex[66];

	memset(hex, fill, 64);
	hex[64] = '\n';
	hex[65] = '\0';
	snprintf(path, len, "%s/%s", d->dir, name);
	lh_write_file(path, hex);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* --twamp-light: 14-byte requests, each answered with the 44-byte base
 * reply (RFC 8762 §4.6), which the sender takes as a good reply. */
START_TEST(test_stamp_twamp_light)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d, port, sizeof(port));
	const char *args[] = {"--stamp", "-P", port, "--twamp-light", "-n", "500", "-d", "2",
			      "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_stamp_clean(&b, 500);
	ck_assert_num(&b, "size", ==, 14);
	ck_assert_num(&b, "sent", ==, 500);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 500), 500);
	ck_assert_int_eq(lh_stat(&d, "stamp_replies_short"), 500);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_short"), 0);
	stop_larsd(&d);
}
END_TEST

/* --auth-key-file against authentication = "hmac-sha256": with the
 * listener's key every packet is answered; with another key, or none,
 * none is, and larsd counts each one dropped for its reason.  With TLVs
 * the packets end in an HMAC TLV, which larsd checks and signs back. */
START_TEST(test_stamp_auth)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8], key[PATH_MAX], other[PATH_MAX], open_key[PATH_MAX], keys[PATH_MAX + 64];

	lh_init(&d);
	write_key(&d, "stamp.key", 'a', 0600, key, sizeof(key));
	write_key(&d, "other.key", 'b', 0600, other, sizeof(other));
	write_key(&d, "open.key", 'a', 0644, open_key, sizeof(open_key));
	snprintf(keys, sizeof(keys), "authentication = \"hmac-sha256\"; key_file = \"%s\";", key);
	start_larsd_keys(&d, port, sizeof(port), keys);

	const char *good[] = {"--stamp", "-P", port, "--auth-key-file", key, "-n", "300", "-d", "2",
			      "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, good);
	assert_stamp_clean(&b, 300);
	ck_assert_num(&b, "size", ==, 112);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 300), 300);

	const char *wrong[] = {"--stamp", "-P", port, "--auth-key-file", other, "-n", "20", "-d",
			       "20", "--timeout", "50", "-t", "5", "--json", NULL};
	run_bench(&b, wrong);
	ck_assert_code(&b, 0); /* losses are not errors */
	ck_assert_num(&b, "replies", ==, 0);
	ck_assert_num(&b, "losses", ==, 20);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_int_eq(lh_stat_reaching(&d, "stamp_dropped_hmac", 20), 20);

	const char *none[] = {"--stamp", "-P", port, "-n", "20", "-d", "20", "--timeout", "50",
			      "-t", "5", "--json", NULL};
	run_bench(&b, none);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "replies", ==, 0);
	ck_assert_num(&b, "losses", ==, 20);
	ck_assert_int_eq(lh_stat_reaching(&d, "stamp_dropped_unauth", 20), 20);

	/* Base packet, Class of Service, Timestamp Information, Extra
	 * Padding and the HMAC TLV: 112 + 8 + 8 + 4 + 20 octets. */
	const char *tlvs[] = {"--stamp", "-P", port, "--auth-key-file", key, "--tlv",
			      "ssid,padding,cos,timestamp", "--dscp", "46", "-n", "200", "--timeout",
			      "1000", "-t", "2", "--json", NULL};
	run_bench(&b, tlvs);
	assert_stamp_clean(&b, 200);
	ck_assert_num(&b, "size", ==, 152);
	ck_assert_msg(num_in(&b, "cos", "replies") == 200, "%s", b.out);
	ck_assert_msg(num_in(&b, "tlv_flags", "integrity") == 0, "%s", b.out);
	ck_assert_msg(num_in(&b, "timestamp_info", "replies") == 200, "%s", b.out);
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 500), 500);
	ck_assert_int_eq(lh_stat(&d, "stamp_tlv_integrity"), 0);
	ck_assert_int_eq(lh_stat(&d, "stamp_dropped_hmac"), 20);

	/* A key file others may read is refused, as larsd refuses it. */
	const char *readable[] = {"--stamp", "-P", port, "--auth-key-file", open_key, "-n", "1",
				  NULL};
	run_bench(&b, readable);
	ck_assert_code(&b, 2);
	ck_assert_msg(strstr(b.err, "group or others"), "stderr: %s", b.err);
	stop_larsd(&d);
}
END_TEST

/* --tlv ssid,padding,cos,timestamp --dscp 46: every reply carries the
 * TLVs back; the summary says what larsd put in them: the DSCP it
 * received (Class of Service), the DSCP of the reply itself, and how it
 * took T2 and T3 (Timestamp Information: software, clock synchronised or
 * free-running as its Error Estimate says). */
START_TEST(test_stamp_tlvs)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	start_larsd(&d, port, sizeof(port));
	const char *args[] = {"--stamp", "-P", port, "--tlv", "ssid,padding,cos,timestamp",
			      "--dscp", "46", "-s", "100", "-n", "200", "--ssid", "777", "--timeout",
			      "1000", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_stamp_clean(&b, 200);
	ck_assert_num(&b, "size", ==, 100);
	ck_assert_num(&b, "ssid", ==, 777);
	ck_assert_msg(num_in(&b, "cos", "replies") == 200, "%s", b.out);
	ck_assert_msg(num_in(&b, "cos", "forward_kept") == 200, "%s", b.out);
	ck_assert_msg(num_in(&b, "cos", "reverse_kept") == 200, "%s", b.out);
	ck_assert_msg(num_in(&b, "tlv_flags", "unknown") == 0, "%s", b.out);
	ck_assert_msg(num_in(&b, "tlv_flags", "malformed") == 0, "%s", b.out);
	ck_assert_msg(num_in(&b, "tlv_flags", "integrity") == 0, "%s", b.out);
	double sync = strstr(b.out, "\"reflector_synced\":true") ? 1 : 5; /* NTP, or local */
	ck_assert_msg(num_in(&b, "timestamp_info", "replies") == 200, "%s", b.out);
	ck_assert_msg(num_in(&b, "timestamp_info", "t2_sync") == sync, "%s", b.out);
	ck_assert_msg(num_in(&b, "timestamp_info", "t2_method") == 2, "%s", b.out);
	ck_assert_msg(num_in(&b, "timestamp_info", "t3_sync") == sync, "%s", b.out);
	ck_assert_msg(num_in(&b, "timestamp_info", "t3_method") == 2, "%s", b.out);
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 200), 200);
	ck_assert_int_eq(lh_stat(&d, "stamp_tlv_unknown"), 0);
	ck_assert_int_eq(lh_stat(&d, "stamp_tlv_malformed"), 0);
	stop_larsd(&d);
}
END_TEST

/* Against stateful = true: nothing lost either way, and the reflector's
 * numbers match the sender's, so there is no loss to split; one session
 * a socket. */
START_TEST(test_stamp_stateful_larsd)
{
	struct lh_daemon d;
	struct lh_exec b;
	char port[8];

	lh_init(&d);
	start_larsd_keys(&d, port, sizeof(port), "stateful = true;");
	const char *args[] = {"--stamp", "-P", port, "-n", "400", "-c", "2", "-d", "2",
			      "--timeout", "1000", "-t", "2", "--json", NULL};
	run_bench(&b, args);
	assert_stamp_clean(&b, 400);
	ck_assert_ptr_nonnull(strstr(b.out, "\"loss_split\":null"));
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_new"), 2);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_evicted"), 0);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_expired"), 0);
	stop_larsd(&d);
}
END_TEST

/* ---- reflectors on a thread ------------------------------------------------------ */

enum refl_kind {
	R_TWICE,    /* every packet reflected twice */
	R_SWAP,     /* packets 2k and 2k+1 reflected in the other order */
	R_DROP,     /* every fourth packet not reflected */
	R_ECHO,     /* the packet sent back as it came: not a reflector */
	R_STATEFUL, /* its own numbers; loses some packets before numbering
	               them (forward loss), some replies after (backward) */
	R_SHORT,    /* replies cut to 38 bytes: the sender sequence is in,
	               not the rest */
	R_ECHO38,   /* the first 38 bytes of the packet sent back: where a
	               reply has the sender sequence, they say 0 every time */
	R_RESTART,  /* after RESTART_AFTER replies, the socket closed for
	               RESTART_GAP_MS, then bound again on the same port */
};

/* R_STATEFUL's losses: the packets arriving n-th (0 first) that it drops
 * unnumbered, and the replies it numbers and drops. */
static const uint32_t fwd_drops[] = {5, 17};
static const uint32_t bwd_drops[] = {9, 20, 30};
#define STATEFUL_COUNT 60 /* the last few are answered */

#define RESTART_AFTER 40
#define RESTART_GAP_MS 300

struct refl {
	enum refl_kind kind;
	int fd;
	uint16_t port;
	char port_text[8];
	atomic_bool stop;
	pthread_t thread;
	/* R_RESTART: replies sent before and after the gap; rebind failed */
	atomic_uint before, after;
	atomic_bool rebind_failed;
};

static bool listed(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* R_RESTART: away for RESTART_GAP_MS, datagrams to the port answered with
 * ICMP port unreachable, then back on the same port. */
static void refl_restart(struct refl *h)
{
	uint16_t port;

	close(h->fd);
	h->fd = -1;
	lh_sleep_ms(RESTART_GAP_MS);
	for (uint64_t end = lh_now_ms() + 2000; h->fd < 0 && lh_now_ms() < end;) {
		h->fd = lh_bind("udp", "127.0.0.1", h->port, &port);
		if (h->fd < 0)
			lh_sleep_ms(10);
	}
	if (h->fd < 0)
		atomic_store(&h->rebind_failed, true);
}

/* A correct RFC 8762 reply to the sender packet in buf, in place. */
static void refl_answer(unsigned char *buf, size_t len, uint32_t seq)
{
	struct stamp_sender s;
	struct timespec t;

	ck_assert_int_eq(stamp_sender_parse(buf, len, false, &s), 0);
	clock_gettime(CLOCK_REALTIME, &t);
	bool ptp = stamp_err_ptp(s.err);
	struct stamp_reflector r = {
		.seq = seq,
		.ts = stamp_ts_from_timespec(&t, ptp),
		.err = stamp_err_make(false, ptp, 1000000),
		.ssid = s.ssid,
		.rx_ts = stamp_ts_from_timespec(&t, ptp),
		.sender_seq = s.seq,
		.sender_ts = s.ts,
		.sender_err = s.err,
		.sender_ttl = 64,
	};
	stamp_reflector_encode(buf, false, &r);
}

static void *refl_main(void *arg)
{
	struct refl *h = arg;
	unsigned char buf[2048], held[2048];
	size_t held_len = 0;
	uint32_t k = 0, arrived = 0;
	bool restarted = false;

	while (!atomic_load(&h->stop) && h->fd >= 0) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct pollfd p = {h->fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = recvfrom(h->fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n < (ssize_t)STAMP_BASE_LEN)
			continue;
		if (h->kind == R_STATEFUL &&
		    listed(fwd_drops, sizeof(fwd_drops) / sizeof(fwd_drops[0]), arrived++))
			continue; /* lost on the way in: never numbered */
		uint32_t i = k++;
		if (h->kind != R_ECHO && h->kind != R_ECHO38)
			refl_answer(buf, (size_t)n, i);
		const struct sockaddr *to = (const struct sockaddr *)&peer;
		switch (h->kind) {
		case R_STATEFUL:
			if (listed(bwd_drops, sizeof(bwd_drops) / sizeof(bwd_drops[0]), i))
				continue; /* numbered, lost on the way out */
			break;
		case R_SHORT:
		case R_ECHO38:
			n = 38;
			break;
		case R_RESTART:
			sendto(h->fd, buf, (size_t)n, 0, to, plen);
			if (restarted) {
				atomic_fetch_add(&h->after, 1);
			} else if (atomic_fetch_add(&h->before, 1) + 1 == RESTART_AFTER) {
				refl_restart(h);
				restarted = true;
			}
			continue;
		case R_TWICE:
			sendto(h->fd, buf, (size_t)n, 0, to, plen);
			break;
		case R_SWAP:
			if (i % 2 == 0) {
				memcpy(held, buf, (size_t)n);
				held_len = (size_t)n;
				continue;
			}
			sendto(h->fd, buf, (size_t)n, 0, to, plen);
			memcpy(buf, held, held_len);
			n = (ssize_t)held_len;
			break;
		case R_DROP:
			if (i % 4 == 3)
				continue;
			break;
		default:
			break;
		}
		sendto(h->fd, buf, (size_t)n, 0, to, plen);
	}
	return NULL;
}

static void refl_start(struct refl *h, enum refl_kind kind)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->fd = lh_bind("udp", "127.0.0.1", 0, &h->port);
	ck_assert_msg(h->fd >= 0, "bind: %s", strerror(errno));
	snprintf(h->port_text, sizeof(h->port_text), "%u", (unsigned)h->port);
	ck_assert_int_eq(pthread_create(&h->thread, NULL, refl_main, h), 0);
}

static void refl_stop(struct refl *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	if (h->fd >= 0)
		close(h->fd);
}

START_TEST(test_stamp_duplicates)
{
	struct refl h;
	struct lh_exec b;

	refl_start(&h, R_TWICE);
	const char *args[] = {"--stamp", "-P", h.port_text, "-n", "100", "--timeout", "1000",
			      "-t", "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "replies", ==, 100);
	/* The second copy of the last reply may come after the run. */
	ck_assert_num(&b, "duplicates", >=, 99);
	ck_assert_num(&b, "duplicates", <=, 100);
	ck_assert_num(&b, "errors", ==, 0);
	refl_stop(&h);
}
END_TEST

START_TEST(test_stamp_reorder_loss)
{
	struct refl h;
	struct lh_exec b;

	/* Depth 2: both packets of a pair are in flight, the second comes back first. */
	refl_start(&h, R_SWAP);
	const char *swap[] = {"--stamp", "-P", h.port_text, "-n", "40", "-d", "2", "--timeout",
			      "1000", "-t", "2", "--json", NULL};
	run_bench(&b, swap);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "replies", ==, 40);
	ck_assert_num(&b, "reordered", ==, 20);
	ck_assert_num(&b, "losses", ==, 0);
	refl_stop(&h);

	refl_start(&h, R_DROP);
	const char *drop[] = {"--stamp", "-P", h.port_text, "-n", "40", "--timeout", "50", "-t",
			      "2", "--json", NULL};
	run_bench(&b, drop);
	ck_assert_code(&b, 0); /* losses are not errors */
	ck_assert_num(&b, "losses", ==, 10);
	ck_assert_num(&b, "replies", ==, 30);
	ck_assert_num(&b, "loss_pct", ==, 25);
	ck_assert_num(&b, "reordered", ==, 0);
	refl_stop(&h);
}
END_TEST

/* An echo server is not a reflector: the T1 it "echoes" is not ours. */
START_TEST(test_stamp_not_a_reflector)
{
	struct refl h;
	struct lh_exec b;

	refl_start(&h, R_ECHO);
	const char *args[] = {"--stamp", "-P", h.port_text, "-n", "10", "--timeout", "100", "-t",
			      "2", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 1);
	ck_assert_num(&b, "corrupt", >=, 1);
	ck_assert_num(&b, "replies", ==, 0);
	ck_assert_msg(strstr(b.err, "corrupt reply: socket 0, sender sequence"), "stderr: %s",
		      b.err);
	refl_stop(&h);
}
END_TEST

/* A stateful reflector numbers its replies itself: from the number in the
 * reply to the last packet, the sender tells the packets that never
 * reached it (forward loss) from the replies lost on the way back. */
START_TEST(test_stamp_loss_split)
{
	struct refl h;
	struct lh_exec b;
	char count[8];
	long fwd = sizeof(fwd_drops) / sizeof(fwd_drops[0]);
	long bwd = sizeof(bwd_drops) / sizeof(bwd_drops[0]);

	refl_start(&h, R_STATEFUL);
	snprintf(count, sizeof(count), "%d", STATEFUL_COUNT);
	const char *args[] = {"--stamp", "-P", h.port_text, "-n", count, "--timeout", "100", "-t",
			      "5", "--json", NULL};
	run_bench(&b, args);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "sent", ==, STATEFUL_COUNT);
	ck_assert_num(&b, "replies", ==, STATEFUL_COUNT - fwd - bwd);
	ck_assert_num(&b, "losses", ==, fwd + bwd);
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_msg(num_in(&b, "loss_split", "sent") == STATEFUL_COUNT, "%s", b.out);
	ck_assert_msg(num_in(&b, "loss_split", "reached") == STATEFUL_COUNT - fwd, "%s", b.out);
	ck_assert_msg(num_in(&b, "loss_split", "answered") == STATEFUL_COUNT - fwd - bwd, "%s",
		      b.out);
	ck_assert_msg(num_in(&b, "loss_split", "forward") == fwd, "%s", b.out);
	ck_assert_msg(num_in(&b, "loss_split", "backward") == bwd, "%s", b.out);
	refl_stop(&h);
}
END_TEST

/* A 38-byte reply is no STAMP reply (corrupt, an error): each counted
 * once, as corrupt, and no packet also lost, whether the reply names its
 * packet (a reply cut short) or not (an echo of the packet's first bytes,
 * naming packet 0 every time). */
START_TEST(test_stamp_corrupt_once)
{
	static const enum refl_kind kinds[] = {R_SHORT, R_ECHO38};
	struct refl h;
	struct lh_exec b;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		refl_start(&h, kinds[k]);
		const char *args[] = {"--stamp", "-P", h.port_text, "-n", "20", "-d",
				      k == 0 ? "1" : "4", "--timeout", "100", "-t", "5", "--json",
				      NULL};
		run_bench(&b, args);
		refl_stop(&h);
		ck_assert_code(&b, 1);
		ck_assert_num(&b, "sent", ==, 20);
		ck_assert_num(&b, "corrupt", ==, 20);
		ck_assert_num(&b, "losses", ==, 0);
		ck_assert_num(&b, "replies", ==, 0);
		ck_assert_num(&b, "late", ==, 0);
		ck_assert_msg(strstr(b.err, "corrupt reply: socket 0: 38 bytes"), "stderr: %s",
			      b.err);
	}
}
END_TEST

/* The reflector goes away and comes back on its port: the sender counts
 * the ICMP errors and the packets lost meanwhile, and measures on to the
 * end of its count (paced, 200 packets/s for about a second). */
START_TEST(test_stamp_icmp_restart)
{
	struct refl h;
	struct lh_exec b;

	refl_start(&h, R_RESTART);
	const char *args[] = {"--stamp", "-P", h.port_text, "--rate", "200", "-n", "200",
			      "--timeout", "250", "-t", "5", "--json", NULL};
	run_bench(&b, args);
	refl_stop(&h);
	ck_assert_msg(!atomic_load(&h.rebind_failed), "port %u taken while the reflector was away",
		      (unsigned)h.port);
	unsigned before = atomic_load(&h.before), after = atomic_load(&h.after);
	ck_assert_code(&b, 0);
	ck_assert_num(&b, "sent", ==, 200);
	ck_assert_num(&b, "errors", ==, 0);
	ck_assert_num(&b, "connection_errors", ==, 0); /* the socket went on */
	ck_assert_num(&b, "corrupt", ==, 0);
	ck_assert_num(&b, "late", ==, 0);
	ck_assert_num(&b, "icmp_errors", >, 0);
	ck_assert_uint_eq(before, RESTART_AFTER);
	ck_assert_msg(after > 0, "no packet reached the reflector once it was back");
	ck_assert_num(&b, "replies", ==, before + after);
	ck_assert_num(&b, "losses", ==, 200 - before - after);
	/* The gap is RESTART_GAP_MS at 200 packets/s: about 60 packets. */
	ck_assert_num(&b, "losses", >=, 20);
}
END_TEST

START_TEST(test_stamp_bad_arguments)
{
	static const char *const cases[][8] = {
		{"-P", "7", "--stamp", "-p", "tcp", NULL},
		{"-P", "7", "--stamp", "-s", "43", NULL},
		{"-P", "7", "--stamp", "--rate", "0", NULL},
		{"-P", "7", "--stamp", "--ssid", "0", NULL},
		{"-P", "7", "--stamp", "--ssid", "65536", NULL},
		{"-P", "7", "--stamp", "--verify", "frames", NULL},
		{"-P", "7", "--rate", "100", NULL},
		{"-P", "7", "--ptp", NULL},
		{"-P", "7", "-m", "twamp", NULL},
		{"-P", "7", "--dscp", "10", NULL},
		{"-P", "7", "--stamp", "--dscp", "64", NULL},
		{"-P", "7", "--stamp", "--tlv", "cos", NULL},
		{"-P", "7", "--stamp", "--tlv", "padding,hmac", NULL},
		{"-P", "7", "--stamp", "--twamp-light", "--tlv", "padding", NULL},
		{"-P", "7", "--stamp", "--twamp-light", "-s", "44", NULL},
		{"-P", "7", "--stamp", "--auth-key-file", "/nonexistent/stamp.key", NULL},
	};
	struct lh_exec b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_bench(&b, cases[i]);
		ck_assert_msg(b.code == 2, "case %zu: exit %d, stderr %s", i, b.code, b.err);
		ck_assert_msg(strncmp(b.err, "larsd-bench: ", 13) == 0, "case %zu: %s", i, b.err);
		char *nl = strchr(b.err, '\n');
		ck_assert_msg(nl && nl[1] == '\0', "case %zu: not one line: %s", i, b.err);
	}
}
END_TEST

/* ---- units ------------------------------------------------------------------------ */

START_TEST(test_sdist)
{
	static struct stamp_stats st, other;

	stamp_stats_init(&st);
	ck_assert_int_eq(sdist_percentile(&st.forward, 50.0), 0);
	/* -100 .. 99 ns, each once: exact below 256 ns in magnitude. */
	for (int64_t v = -100; v < 100; v++)
		sdist_record(&st.forward, v);
	ck_assert_int_eq(st.forward.min, -100);
	ck_assert_int_eq(st.forward.max, 99);
	ck_assert_int_eq(sdist_percentile(&st.forward, 0.5), -100);   /* rank 1 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 25.0), -51);   /* rank 50 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 50.0), -1);    /* rank 100 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 50.5), 0);     /* rank 101 */
	ck_assert_int_eq(sdist_percentile(&st.forward, 100.0), 99);
	/* Merged: counts add up, the extremes carry over. */
	stamp_stats_init(&other);
	sdist_record(&other.forward, -5000);
	other.duplicates = 3;
	other.ttl_min = other.ttl_max = 63;
	stamp_stats_merge(&st, &other);
	ck_assert_int_eq(st.forward.min, -5000);
	ck_assert_int_eq(sdist_percentile(&st.forward, 0.1), -5000);
	ck_assert_uint_eq(st.duplicates, 3);
	ck_assert_uint_eq(st.ttl_min, 63);
	ck_assert_uint_eq(st.ttl_max, 63);
}
END_TEST

START_TEST(test_clock_error)
{
	uint16_t err = 0, ptp = 0;

	/* Read-only ntp_adjtime() needs no privilege, but a container's
	 * seccomp filter may refuse it all the same (systemd-nspawn without
	 * CAP_SYS_TIME): then the estimate says unsynchronised, 16 s. */
	int rc = stamp_clock_error(false, &err);
	ck_assert_int_eq(stamp_clock_error(true, &ptp), rc);
	if (rc < 0) {
		ck_assert(!stamp_err_synced(err) && !stamp_err_synced(ptp));
		ck_assert_uint_ge(stamp_err_ns(err), STAMP_CLOCK_UNSYNC_ERR_NS);
	}
	ck_assert(!stamp_err_ptp(err));
	ck_assert(stamp_err_ptp(ptp));
	ck_assert_uint_ne(err & STAMP_ERR_MULT_MASK, 0); /* never zero, RFC 4656 */
	ck_assert_uint_gt(stamp_err_ns(err), 0);
}
END_TEST

static Suite *stamp_suite(void)
{
	Suite *s = suite_create("larsd-bench --stamp");

	testutil_add(s, "stamp_larsd", test_stamp_larsd, 20);
	testutil_add(s, "stamp_duplicates", test_stamp_duplicates, 15);
	testutil_add(s, "stamp_reorder_loss", test_stamp_reorder_loss, 15);
	testutil_add(s, "stamp_not_a_reflector", test_stamp_not_a_reflector, 15);
	testutil_add(s, "stamp_twamp_light", test_stamp_twamp_light, 15);
	testutil_add(s, "stamp_auth", test_stamp_auth, 20);
	testutil_add(s, "stamp_tlvs", test_stamp_tlvs, 15);
	testutil_add(s, "stamp_stateful_larsd", test_stamp_stateful_larsd, 15);
	testutil_add(s, "stamp_loss_split", test_stamp_loss_split, 15);
	testutil_add(s, "stamp_corrupt_once", test_stamp_corrupt_once, 15);
	testutil_add(s, "stamp_icmp_restart", test_stamp_icmp_restart, 15);
	testutil_add(s, "stamp_bad_arguments", test_stamp_bad_arguments, 15);
	testutil_add(s, "sdist", test_sdist, 10);
	testutil_add(s, "clock_error", test_clock_error, 10);
	return s;
}

int main(void)
{
	return testutil_main(stamp_suite(), &lh_testutil_run);
}
