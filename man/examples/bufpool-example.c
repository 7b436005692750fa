/*
 * bufpool-example.c: an echo server and its client over a socket pair.
 *
 * The child echoes every byte it reads, with chains of buffers from the
 * process-wide pool, read with readv(2) and written with writev(2).  The parent sends ROUNDS messages, checks that each
 * comes back unchanged and exits 0 only if everything went well.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <err.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bufpool.h>

#define ROUNDS	100
#define MSGSIZE	10000	/* more than one 4K buffer holds */
#define CHAIN	4	/* buffers per read */

static void
echo_server(int fd)
{
	struct bufpool_stats st;
	struct io_buf *buf, *chain;
	struct iovec iov[CHAIN];
	bufpool_t *pool;
	ssize_t n, w;
	int i, cnt;

	if ((pool = bufpool_instance()) == NULL)
		err(1, "bufpool_instance");

	/*
	 * Hold buffers only while data is in flight: an idle
	 * connection then costs no buffer memory at all.
	 */
	do {
		/* A chain of 4K buffers: one readv fills them all. */
		chain = NULL;
		for (i = 0; i < CHAIN; i++) {
			if ((buf = bufpool_alloc(pool, 4096)) == NULL)
				err(1, "bufpool_alloc");
			buf->next = chain;
			chain = buf;
		}
		cnt = io_buf_chain_iov_space(chain, iov, CHAIN);
		if ((n = readv(fd, iov, cnt)) == -1)
			err(1, "readv");
		io_buf_chain_produce(chain, n);

		/*
		 * Echo it with writev; a buffer goes back to the pool
		 * as soon as its bytes are out.
		 */
		while (io_buf_chain_length(chain) > 0) {
			cnt = io_buf_chain_iov(chain, iov, CHAIN);
			if ((w = writev(fd, iov, cnt)) == -1)
				err(1, "writev");
			io_buf_chain_consume(&chain, w, pool);
		}
		io_buf_chain_consume(&chain, 0, pool);	/* the unused rest */
	} while (n > 0);

	bufpool_stats(pool, &st);
	printf("server: %" PRIu64 " allocs, %" PRIu64 " fresh; "
	    "%zu of %zu bytes owned\n", st.allocs, st.fresh,
	    st.bytes_owned, st.mem_limit);
	if (st.bytes_in_use != 0 || st.bytes_owned > st.mem_limit)
		errx(1, "pool statistics do not add up");
	exit(0);
}

int
main(void)
{
	static char out[MSGSIZE], in[MSGSIZE];
	size_t got, j;
	ssize_t n;
	pid_t pid;
	int i, sv[2], status;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		err(1, "socketpair");
	if ((pid = fork()) == -1)
		err(1, "fork");
	alarm(20);		/* a self-test must never hang */
	if (pid == 0) {
		close(sv[0]);
		echo_server(sv[1]);
	}
	close(sv[1]);

	for (i = 0; i < ROUNDS; i++) {
		for (j = 0; j < sizeof(out); j++)
			out[j] = 'a' + (i + j) % 26;
		if (write(sv[0], out, MSGSIZE) != MSGSIZE)
			err(1, "write");
		for (got = 0; got < sizeof(in); got += n) {
			n = read(sv[0], in + got, sizeof(in) - got);
			if (n == -1)
				err(1, "read");
			if (n == 0)
				errx(1, "the echo server went away");
		}
		if (memcmp(in, out, sizeof(in)) != 0)
			errx(1, "round %d: the echo differs", i);
	}
	if (shutdown(sv[0], SHUT_WR) == -1)
		err(1, "shutdown");
	if (read(sv[0], in, 1) != 0)
		errx(1, "no end of file after the last round");
	if (waitpid(pid, &status, 0) == -1)
		err(1, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		errx(1, "the echo server failed");
	printf("client: %d rounds of %d bytes echoed\n", ROUNDS, MSGSIZE);
	return 0;
}
