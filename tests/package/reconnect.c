/*
 * reconnect - a client that opens a new TCP connection for every message,
 * for the restart checks of tests/package/run (restart.sh).
 *
 *   reconnect IPV4 PORT SECONDS SIZE
 *
 * Until SECONDS have passed, or SIGINT or SIGTERM comes: connect, send SIZE random bytes, read SIZE
 * bytes back, compare, close; then again.  A refused connection is counted
 * and retried 1 ms later (it is what a restart must not cause); a reset,
 * a short or a wrong reply is counted too.  Each round has a 10 s limit
 * (SO_RCVTIMEO/SO_SNDTIMEO): a round that hits it is an error.  At the end
 * one JSON line: rounds, refused, errors, wrong_bytes, the longest round
 * in milliseconds (how long a client waited while larsd restarted), and
 * the longest outage: from a refused connect to the next echoed round.
 * Exit status 0 when nothing was refused, wrong or failed, else 1; 2 for
 * bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct reconnect_totals {
	unsigned long rounds, refused, errors, wrong;
	double max_ms, outage_ms;
};

static volatile sig_atomic_t reconnect_stop;

static void reconnect_on_signal(int sig)
{
	(void)sig;
	reconnect_stop = 1;
}

static double reconnect_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One connection, one message: 0 echoed, -1 refused, -2 other error,
 * -3 wrong bytes. */
static int reconnect_round(const struct sockaddr_in *sa, const unsigned char *msg,
			   unsigned char *back, size_t size)
{
	struct timeval tv = { .tv_sec = 10 };
	size_t done = 0;
	ssize_t n;
	int fd, rc = 0;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -2;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		rc = errno == ECONNREFUSED ? -1 : -2;
		goto out;
	}
	if (send(fd, msg, size, MSG_NOSIGNAL) != (ssize_t)size) {
		rc = -2;
		goto out;
	}
	while (done < size) {
		n = recv(fd, back + done, size - done, 0);
		if (n <= 0) {
			rc = -2;
			goto out;
		}
		done += (size_t)n;
	}
	if (memcmp(msg, back, size) != 0)
		rc = -3;
out:
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct reconnect_totals t = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned char *msg, *back;
	struct sigaction act = { .sa_handler = reconnect_on_signal };
	double end, t0, ms, refused_since = -1;
	size_t size, i;
	int rc;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 ||
	    atoi(argv[2]) <= 0 || atoi(argv[3]) <= 0 || atol(argv[4]) <= 0) {
		fprintf(stderr, "usage: reconnect IPV4 PORT SECONDS SIZE\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	size = (size_t)atol(argv[4]);
	msg = malloc(size);
	back = malloc(size);
	if (!msg || !back) {
		fprintf(stderr, "reconnect: out of memory\n");
		return 2;
	}
	sigaction(SIGINT, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	srand((unsigned)getpid());
	end = reconnect_now_ms() + atoi(argv[3]) * 1e3;
	while (!reconnect_stop && reconnect_now_ms() < end) {
		for (i = 0; i < size; i++)
			msg[i] = (unsigned char)rand();
		t0 = reconnect_now_ms();
		rc = reconnect_round(&sa, msg, back, size);
		ms = reconnect_now_ms() - t0;
		if (reconnect_stop && rc == -2)
			break;	/* the signal cut this round short */
		t.rounds++;
		if (ms > t.max_ms)
			t.max_ms = ms;
		if (rc == 0 && refused_since >= 0) {
			if (t0 + ms - refused_since > t.outage_ms)
				t.outage_ms = t0 + ms - refused_since;
			refused_since = -1;
		}
		if (rc == -1) {
			t.refused++;
			if (refused_since < 0)
				refused_since = t0;
			usleep(1000);
		} else if (rc == -2) {
			t.errors++;
		} else if (rc == -3) {
			t.wrong++;
		}
	}
	printf("{\"rounds\":%lu,\"refused\":%lu,\"errors\":%lu,\"wrong_bytes\":%lu,"
	       "\"max_ms\":%.1f,\"outage_ms\":%.1f}\n", t.rounds, t.refused, t.errors,
	       t.wrong, t.max_ms, t.outage_ms);
	free(msg);
	free(back);
	return t.refused || t.errors || t.wrong ? 1 : 0;
}
