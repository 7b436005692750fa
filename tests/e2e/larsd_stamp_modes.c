/*
 * larsd_stamp_modes.c - larsd end to end: what mode "stamp" does beyond
 * the base packet (larsd_stamp.c): TWAMP-Light packets shorter than it,
 * authenticated listeners and their key files, stateful listeners and
 * their session table, and RFC 8972 TLVs.
 *
 * Every packet here is built byte by byte from the RFCs' figures, and
 * every reply read the same way, without src/stamp's encoders; the HMAC
 * is Nettle's HMAC-SHA-256 called directly.  The layouts (offsets in
 * octets):
 *
 *   unauthenticated reflector (RFC 8762 §4.3.1, SSID from RFC 8972 §3):
 *     0 seq  4 T3  12 error estimate  14 SSID  16 T2  24 sender seq
 *     28 sender T1  36 sender error estimate  38 MBZ  40 sender TTL  41 MBZ
 *   authenticated sender (§4.2.2): 0 seq  4 MBZ  16 T1  24 error estimate
 *     26 SSID  28 MBZ  96 HMAC (over octets 0-95)
 *   authenticated reflector (§4.3.2): 0 seq  4 MBZ  16 T3  24 error
 *     estimate  26 SSID  28 MBZ  32 T2  40 MBZ  48 sender seq  52 MBZ
 *     64 sender T1  72 sender error estimate  74 MBZ  80 sender TTL
 *     81 MBZ  96 HMAC
 *   TLV (RFC 8972 §4): flags (U 0x80, M 0x40, I 0x20), type, length (2),
 *     value.
 */
#include "config.h"

#include "larsd_tests.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <nettle/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define NTP_UNIX 2208988800u /* seconds from 1900 to 1970 */
#define BASE 44u
#define AUTH 112u
#define T1_RAW 0xe1d2c3b4a5968778ull /* any value: the reflector copies it */
#define ERR_EST 0x0132u              /* S and Z clear: NTP, unsynchronised */

/* Two shared keys, 32 bytes each, as their files hold them. */
static const char key_a_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
static const char key_b_hex[] = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f\n";

/* ---- bytes ------------------------------------------------------------------- */

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Are octets from .. to-1 of p zero?  The first one that is not, or -1. */
static int nonzero_in(const unsigned char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i])
			return (int)i;
	return -1;
}

#define ck_assert_mbz(p, from, to)                                                         \
	do {                                                                               \
		int at_ = nonzero_in(p, from, to);                                          \
		ck_assert_msg(at_ < 0, "MBZ octet %d (of %u..%u) is 0x%02x", at_,          \
			      (unsigned)(from), (unsigned)(to) - 1, at_ < 0 ? 0 : (p)[at_]); \
	} while (0)

/* An NTP timestamp of the reflector's (T2, T3) is within 10 s of now. */
static void check_ntp_now(uint64_t raw, const char *what)
{
	int64_t unix_s = (int64_t)(raw >> 32) - NTP_UNIX;
	int64_t now = (int64_t)time(NULL);

	ck_assert_msg(unix_s > now - 10 && unix_s < now + 10, "%s is %lld s from now", what,
		      (long long)(unix_s - now));
}

/* Does the kernel say the clock is synchronised? */
static bool clock_synced(void)
{
	struct timex tx;

	memset(&tx, 0, sizeof(tx));
	int state = ntp_adjtime(&tx);
	return state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

/* HMAC-SHA-256 of p[0 .. n) truncated to 16 octets, with a key in hex. */
static void hmac16(const char *key_hex, const unsigned char *p, size_t n, unsigned char out[16])
{
	unsigned char key[32];
	struct hmac_sha256_ctx c;

	for (size_t i = 0; i < sizeof(key); i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(key_hex + 2 * i, "%2x", &v), 1);
		key[i] = (unsigned char)v;
	}
	hmac_sha256_set_key(&c, sizeof(key), key);
	hmac_sha256_update(&c, n, p);
	hmac_sha256_digest(&c, 16, out);
}

/* ---- the daemon and its sockets --------------------------------------------- */

static int udp_to(const struct lh_listen *l)
{
	int fd = lh_udp_socket(l->address, l->port, NULL, 0);

	ck_assert_msg(fd >= 0, "udp socket to port %u: %s", (unsigned)l->port, strerror(errno));
	return fd;
}

/* A key file in the daemon's folder, mode 0600 unless said. */
static void write_key(struct lh_daemon *d, const char *name, const char *hex, mode_t mode,
		      char *path, size_t len)
{
	snprintf(path, len, "%s/%s", d->dir, name);
	lh_write_file(path, hex);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* ---- TWAMP-Light --------------------------------------------------------------- */

/* A TWAMP-Light request (RFC 5357 §4.1.2: sequence number, timestamp,
 * Error Estimate, then padding) of len octets. */
static void twamp_light_request(unsigned char *p, size_t len, uint32_t seq)
{
	memset(p, 0, len);
	put32(p, seq);
	put64(p + 4, T1_RAW);
	put16(p + 12, ERR_EST);
	for (size_t i = 16; i < len; i++) /* padding where the reply has MBZ fields */
		p[i] = 0xa5;
}

/* RFC 8762 §4.6: a request shorter than the base packet (14, 41 or 43
 * octets) gets the 44-octet base reply, every field of it the
 * reflector's; each is counted as a short reply. */
START_TEST(test_stamp_twamp_light)
{
	static const size_t lens[] = {14, 41, 43};
	struct lh_daemon d;
	unsigned char req[64], back[128];
	int ttl = 29;

	lh_init(&d);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	lh_start_ok(&d);
	int fd = udp_to(&d.ls[i]);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint32_t seq = 0x01020300u + (uint32_t)k;
		twamp_light_request(req, lens[k], seq);
		ssize_t n = lh_udp_xchg(fd, req, lens[k], back, sizeof(back), 2000);
		ck_assert_msg(n == BASE, "%zu-octet request: reply of %zd octets", lens[k], n);
		ck_assert_uint_eq(get32(back), seq);        /* stateless: copied */
		check_ntp_now(get64(back + 4), "T3");
		ck_assert_uint_eq(get16(back + 12) & 0x4000, 0); /* Z: NTP, as asked */
		ck_assert_uint_ne(get16(back + 12) & 0xff, 0);  /* multiplier never 0 */
		ck_assert_uint_eq(get16(back + 14), 0);         /* no SSID in TWAMP-Light */
		check_ntp_now(get64(back + 16), "T2");
		ck_assert_msg(get64(back + 16) <= get64(back + 4), "T2 after T3");
		ck_assert_uint_eq(get32(back + 24), seq);
		ck_assert_uint_eq(get64(back + 28), T1_RAW);
		ck_assert_uint_eq(get16(back + 36), ERR_EST);
		ck_assert_mbz(back, 38, 40);
		ck_assert_uint_eq(back[40], (unsigned)ttl);
		ck_assert_mbz(back, 41, 44);
	}
	close(fd);
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 3), 3);
	ck_assert_int_eq(lh_stat(&d, "stamp_replies_short"), 3);
	ck_assert_int_eq(lh_stat(&d, "udp_dropped_short"), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- authenticated mode ----------------------------------------------------------- */

/* An authenticated request (RFC 8762 §4.2.2), signed with key_hex. */
static void auth_request(unsigned char p[AUTH], uint32_t seq, uint16_t ssid, const char *key_hex)
{
	memset(p, 0, AUTH);
	put32(p, seq);
	put64(p + 16, T1_RAW);
	put16(p + 24, ERR_EST);
	put16(p + 26, ssid);
	hmac16(key_hex, p, 96, p + 96);
}

/* Send a request signed with key_hex; true if a reply came within wait_ms,
 * which is then checked field by field (RFC 8762 §4.3.2) and its HMAC
 * with key_hex. */
static bool auth_exchange(int fd, uint32_t seq, const char *key_hex, int wait_ms)
{
	unsigned char req[AUTH], back[256], mac[16];
	uint16_t ssid = (uint16_t)(0x5a00 + (seq & 0xff));

	auth_request(req, seq, ssid, key_hex);
	ssize_t n = lh_udp_xchg(fd, req, sizeof(req), back, sizeof(back), wait_ms);
	if (n < 0)
		return false;
	ck_assert_int_eq(n, AUTH);
	ck_assert_uint_eq(get32(back), seq);
	ck_assert_mbz(back, 4, 16);
	check_ntp_now(get64(back + 16), "T3");
	ck_assert_uint_ne(get16(back + 24) & 0xff, 0);
	ck_assert_uint_eq(get16(back + 26), ssid);
	ck_assert_mbz(back, 28, 32);
	check_ntp_now(get64(back + 32), "T2");
	ck_assert_msg(get64(back + 32) <= get64(back + 16), "T2 after T3");
	ck_assert_mbz(back, 40, 48);
	ck_assert_uint_eq(get32(back + 48), seq);
	ck_assert_mbz(back, 52, 64);
	ck_assert_uint_eq(get64(back + 64), T1_RAW);
	ck_assert_uint_eq(get16(back + 72), ERR_EST);
	ck_assert_mbz(back, 74, 80);
	ck_assert_uint_eq(back[80], 64); /* loopback's default TTL */
	ck_assert_mbz(back, 81, 96);
	hmac16(key_hex, back, 96, mac);
	ck_assert_msg(memcmp(back + 96, mac, 16) == 0, "the reply's HMAC is not the key's");
	return true;
}

/* An authenticated listener answers packets signed with its key, and
 * drops (and counts) others and unauthenticated ones; a reload reads the
 * key file again, and keeps the old key when the new file is refused. */
START_TEST(test_stamp_auth_reload)
{
	struct lh_daemon d;
	char key[PATH_MAX], keys[PATH_MAX + 64];
	unsigned char plain[BASE], back[256];

	lh_init(&d);
	write_key(&d, "stamp.key", key_a_hex, 0600, key, sizeof(key));
	snprintf(keys, sizeof(keys), "authentication = \"hmac-sha256\"; key_file = \"%s\";", key);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	d.ls[i].keys = keys;
	lh_start_ok(&d);
	int fd = udp_to(&d.ls[i]);

	ck_assert_msg(auth_exchange(fd, 1, key_a_hex, 2000), "no reply to a packet signed with the key");
	ck_assert_msg(!auth_exchange(fd, 2, key_b_hex, 200),
		      "a packet signed with another key was answered");
	memset(plain, 0, sizeof(plain)); /* an unauthenticated base packet */
	put32(plain, 3);
	put16(plain + 12, ERR_EST);
	ck_assert_msg(lh_udp_xchg(fd, plain, sizeof(plain), back, sizeof(back), 200) < 0,
		      "an unauthenticated packet was answered");
	ck_assert_int_eq(lh_stat_reaching(&d, "stamp_dropped_hmac", 1), 1);
	ck_assert_int_eq(lh_stat(&d, "stamp_dropped_unauth"), 1);

	/* Key B in the same file, then a reload. */
	lh_write_file(key, key_b_hex);
	ck_assert_int_eq(chmod(key, 0600), 0);
	lt_reload(&d);
	ck_assert_msg(!auth_exchange(fd, 4, key_a_hex, 200), "the old key still works after a reload");
	ck_assert_msg(auth_exchange(fd, 5, key_b_hex, 2000), "the new key does not work after a reload");
	ck_assert_int_eq(lh_stat_reaching(&d, "stamp_dropped_hmac", 2), 2);

	/* A reload that finds the file open to others fails, naming it, and
	 * the key it had stays. */
	lh_write_file(key, key_a_hex);
	ck_assert_int_eq(chmod(key, 0644), 0);
	lt_reload(&d);
	ck_assert_msg(lh_wait_stderr(&d, "group or others", 2000), "the reload did not fail");
	ck_assert_msg(auth_exchange(fd, 6, key_b_hex, 2000), "a failed reload dropped the key");
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 3), 3);
	close(fd);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* A key file others can read: `larsd -t` and `larsd -c` refuse the
 * configuration with one line naming the key_file setting's FILE:LINE,
 * and nothing is left listening. */
START_TEST(test_stamp_key_file_open)
{
	struct lh_daemon d;
	char key[PATH_MAX], keys[PATH_MAX + 64], where[PATH_MAX + 32];
	const char *check[] = {"-t", "-c", NULL, NULL};
	const char *start[] = {"-c", NULL, NULL};

	lh_init(&d);
	write_key(&d, "stamp.key", key_a_hex, 0644, key, sizeof(key));
	snprintf(keys, sizeof(keys), "authentication = \"hmac-sha256\"; key_file = \"%s\";", key);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", false);
	d.ls[i].keys = keys;
	lh_write_conf(&d);

	/* The line of the setting, as written. */
	char *conf = lh_read_file(d.conf_path);
	const char *at = strstr(conf, "key_file");
	ck_assert_ptr_nonnull(at);
	int line = 1;
	for (const char *p = conf; p < at; p++)
		line += *p == '\n';
	free(conf);
	snprintf(where, sizeof(where), "%s:%d: ", d.conf_path, line);

	check[2] = start[1] = d.conf_path;
	for (int run = 0; run < 2; run++) {
		const char *how = run == 0 ? "larsd -t" : "larsd -c";
		int code;
		unlink(d.err_path);
		if (run == 0) {
			code = lh_run(&d, check, 5000);
		} else {
			lh_spawn(&d, false, start);
			code = lh_wait_exit(&d, 5000);
			ck_assert_int_lt(lh_wait_note(&d, "READY=1", 0, 100), 0);
		}
		/* larsd -c logs it as an error (<3>), larsd -t prints it. */
		char *err = lh_read_file(d.err_path);
		const char *text = strncmp(err, "<3>", 3) == 0 ? err + 3 : err;
		ck_assert_msg(code > 0 && code < 128, "%s: exit code %d", how, code);
		ck_assert_msg(strncmp(text, where, strlen(where)) == 0, "%s: expected \"%s...\", got \"%s\"",
			      how, where, err);
		ck_assert_msg(strstr(text, "group or others") != NULL, "%s: %s", how, err);
		ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "%s: not one line: \"%s\"",
			      how, err);
		free(err);
	}
	/* Nothing holds the port. */
	uint16_t port;
	int probe = lh_bind("udp", "127.0.0.1", d.ls[i].port, &port);
	ck_assert_msg(probe >= 0, "port %u still taken: %s", (unsigned)d.ls[i].port, strerror(errno));
	close(probe);
	lh_cleanup(&d);
}
END_TEST

/* ---- stateful mode ------------------------------------------------------------------ */

/* An unauthenticated base packet of the session ssid; the reflector's
 * number of its reply (and the copied fields checked). */
static uint32_t stateful_exchange(int fd, uint32_t seq, uint16_t ssid)
{
	unsigned char req[BASE], back[128];

	memset(req, 0, sizeof(req));
	put32(req, seq);
	put64(req + 4, T1_RAW);
	put16(req + 12, ERR_EST);
	put16(req + 14, ssid);
	ssize_t n = lh_udp_xchg(fd, req, sizeof(req), back, sizeof(back), 2000);
	ck_assert_msg(n == BASE, "SSID %u, sequence %u: reply of %zd octets", (unsigned)ssid,
		      (unsigned)seq, n);
	ck_assert_uint_eq(get16(back + 14), ssid);
	ck_assert_uint_eq(get32(back + 24), seq);
	return get32(back);
}

/* stamp_sessions at its minimum, 64, and 100 sessions (4 source ports, 25
 * SSIDs each): each begins at 0; at least the 36 that do not fit push
 * out a live one; a session that goes on counts on. */
START_TEST(test_stamp_sessions_evicted)
{
	struct lh_daemon d;
	int fds[4];

	lh_init(&d);
	snprintf(d.settings, sizeof(d.settings), "  threads = 2;\n  stamp_sessions = 64;\n");
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	d.ls[i].keys = "stateful = true;";
	lh_start_ok(&d);
	for (int k = 0; k < 4; k++)
		fds[k] = udp_to(&d.ls[i]);
	for (uint32_t s = 0; s < 100; s++)
		ck_assert_uint_eq(stateful_exchange(fds[s % 4], 1000 + s, (uint16_t)(1 + s / 4)), 0);
	/* The last session is the newest of its set: still there. */
	ck_assert_uint_eq(stateful_exchange(fds[99 % 4], 2000, 1 + 99 / 4), 1);
	ck_assert_uint_eq(stateful_exchange(fds[99 % 4], 2001, 1 + 99 / 4), 2);
	for (int k = 0; k < 4; k++)
		close(fds[k]);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_new"), 100);
	long long evicted = lh_stat(&d, "stamp_sessions_evicted");
	ck_assert_msg(evicted >= 36 && evicted < 100, "%lld sessions evicted", evicted);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_expired"), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* session_timeout at its minimum, 1 s: the reflector numbers a session's
 * replies 0, 1, 2 (whatever the sender's numbers); idle past the timeout,
 * the session is forgotten and begins at 0 again. */
START_TEST(test_stamp_sessions_expired)
{
	struct lh_daemon d;

	lh_init(&d);
	size_t i = lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	d.ls[i].keys = "stateful = true; session_timeout = 1;";
	lh_start_ok(&d);
	int fd = udp_to(&d.ls[i]);
	for (uint32_t k = 0; k < 3; k++)
		ck_assert_uint_eq(stateful_exchange(fd, 500 + k, 7), k);
	ck_assert_uint_eq(stateful_exchange(fd, 900, 8), 0); /* another SSID, another session */
	ck_assert_uint_eq(stateful_exchange(fd, 503, 7), 3);
	lh_sleep_ms(1200);
	ck_assert_uint_eq(stateful_exchange(fd, 504, 7), 0);
	ck_assert_uint_eq(stateful_exchange(fd, 505, 7), 1);
	close(fd);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_expired"), 1);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_new"), 3);
	ck_assert_int_eq(lh_stat(&d, "stamp_sessions_evicted"), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

/* ---- TLVs ------------------------------------------------------------------------------ */

/* Append a TLV (flags 0) with value v of len octets at p + *at. */
static void tlv(unsigned char *p, size_t *at, uint8_t type, uint16_t len, const void *v,
		size_t vlen)
{
	p[*at] = 0;
	p[*at + 1] = type;
	put16(p + *at + 2, len);
	memcpy(p + *at + 4, v, vlen);
	*at += 4 + vlen;
}

/* A socket to listener l whose datagrams leave with TOS / traffic class
 * tos, and that reads the TOS / traffic class of what it receives. */
static int tos_socket(const struct lh_listen *l, int tos)
{
	int fd = udp_to(l), one = 1;
	bool v6 = strchr(l->address, ':') != NULL;

	ck_assert_int_eq(setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_TCLASS : IP_TOS,
				    &tos, sizeof(tos)), 0);
	ck_assert_int_eq(setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
				    v6 ? IPV6_RECVTCLASS : IP_RECVTOS, &one, sizeof(one)), 0);
	return fd;
}

/* Send p and read the reply and the TOS / traffic class it came with. */
static ssize_t xchg_tos(int fd, const void *p, size_t len, unsigned char *back, size_t cap,
			int *tos)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {back, cap};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			   .msg_controllen = sizeof(ctl.buf)};
	struct pollfd pfd = {fd, POLLIN, 0};

	*tos = -1;
	if (send(fd, p, len, 0) != (ssize_t)len || poll(&pfd, 1, 2000) != 1)
		return -1;
	ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
			*tos = *CMSG_DATA(c);
		else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
			memcpy(tos, CMSG_DATA(c), sizeof(*tos));
	return n;
}

/* One request with Extra Padding, Class of Service (asking for DSCP 46,
 * sent with DSCP 10 and ECN 01), Timestamp Information, a type larsd does
 * not implement, and last a TLV whose length runs past the packet: the
 * reply carries them in that order, marked (RFC 8972 §4). */
static void check_tlvs(const struct lh_listen *l)
{
	static const unsigned char pad[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const unsigned char cos[4] = {46 << 2, 0, 0, 0};
	static const unsigned char zero4[4] = {0};
	static const unsigned char odd[6] = {0xde, 0xad, 0xbe, 0xef, 0x01, 0x02};
	unsigned char req[128], want[128], back[256];
	size_t at = BASE;
	int got_tos, fd = tos_socket(l, 10 << 2 | 1);

	memset(req, 0, sizeof(req));
	put32(req, 77);
	put64(req + 4, T1_RAW);
	put16(req + 12, ERR_EST);
	put16(req + 14, 4321);
	tlv(req, &at, 1, sizeof(pad), pad, sizeof(pad));
	size_t at_cos = at;
	tlv(req, &at, 4, sizeof(cos), cos, sizeof(cos));
	size_t at_ts = at;
	tlv(req, &at, 3, sizeof(zero4), zero4, sizeof(zero4));
	size_t at_unknown = at;
	tlv(req, &at, 250, sizeof(odd), odd, sizeof(odd)); /* experimental range */
	size_t at_trunc = at;
	tlv(req, &at, 1, 100, odd, sizeof(odd));          /* 100 claimed, 6 there */
	size_t len = at;

	/* The reply's TLVs: the request's (Extra Padding as it came), with */
	memcpy(want, req, len);
	want[at_cos + 4] = 46 << 2 | 10 >> 4;         /* DSCP1 kept, DSCP2 received, */
	want[at_cos + 5] = (10 & 15) << 4 | 1 << 2;   /* ECN received, RP 0 */
	unsigned sync = clock_synced() ? 1 : 5;       /* NTP, or local free-running */
	want[at_ts + 4] = want[at_ts + 6] = (unsigned char)sync;
	want[at_ts + 5] = want[at_ts + 7] = 2;        /* software timestamps */
	want[at_unknown] = 0x80;                      /* U */
	want[at_trunc] = 0x40;                        /* M */

	ssize_t n = xchg_tos(fd, req, len, back, sizeof(back), &got_tos);
	ck_assert_msg(n == (ssize_t)len, "%s: reply of %zd octets to %zu", l->address, n, len);
	ck_assert_uint_eq(get32(back + 24), 77);
	ck_assert_uint_eq(get16(back + 14), 4321);
	size_t diff = lt_first_difference(back + BASE, want + BASE, len - BASE);
	ck_assert_msg(diff == len - BASE, "%s: TLV octet %zu (packet octet %zu) is 0x%02x, not 0x%02x",
		      l->address, diff, BASE + diff, back[BASE + diff], want[BASE + diff]);
	ck_assert_msg(got_tos >= 0 && got_tos >> 2 == 46, "%s: reply's TOS 0x%x, not DSCP 46",
		      l->address, got_tos);

	/* A known type of the wrong length is malformed too: Class of
	 * Service of 6 octets, not 4. */
	at = BASE;
	tlv(req, &at, 4, 6, odd, sizeof(odd));
	n = lh_udp_xchg(fd, req, at, back, sizeof(back), 2000);
	ck_assert_int_eq(n, (ssize_t)at);
	ck_assert_uint_eq(back[BASE], 0x40);
	ck_assert_msg(memcmp(back + BASE + 1, req + BASE + 1, at - BASE - 1) == 0,
		      "%s: a malformed TLV changed", l->address);
	close(fd);
}

START_TEST(test_stamp_tlvs)
{
	struct lh_daemon d;

	lh_init(&d);
	lh_add(&d, "udp", "127.0.0.1", "stamp", true);
	if (lt_have_v6())
		lh_add(&d, "udp", "::1", "stamp", true);
	lh_start_ok(&d);
	for (size_t i = 0; i < d.n_ls; i++)
		check_tlvs(&d.ls[i]);
	long long n = (long long)d.n_ls;
	ck_assert_int_eq(lh_stat_reaching(&d, "udp_replies", 2 * n), 2 * n);
	ck_assert_int_eq(lh_stat(&d, "stamp_tlv_unknown"), n);
	ck_assert_int_eq(lh_stat(&d, "stamp_tlv_malformed"), 2 * n);
	ck_assert_int_eq(lh_stat(&d, "stamp_tlv_integrity"), 0);
	lh_stop_ok(&d);
	lh_cleanup(&d);
}
END_TEST

void lt_add_stamp_modes(Suite *s)
{
	testutil_add(s, "stamp_twamp_light", test_stamp_twamp_light, 10);
	testutil_add(s, "stamp_auth_reload", test_stamp_auth_reload, 15);
	testutil_add(s, "stamp_key_file_open", test_stamp_key_file_open, 15);
	testutil_add(s, "stamp_sessions_evicted", test_stamp_sessions_evicted, 15);
	testutil_add(s, "stamp_sessions_expired", test_stamp_sessions_expired, 10);
	testutil_add(s, "stamp_tlvs", test_stamp_tlvs, 10);
}
