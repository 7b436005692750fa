/*
 * textbook-uring - the io_uring baseline of bench/echo.
 *
 * Usage: textbook-uring [-a ADDRESS] TCP-PORT UDP-PORT
 *
 * What a textbook's io_uring echo server does, and nothing more: one
 * thread, one ring, multishot requests and one provided buffer ring.
 * TCP: one multishot accept; per connection one multishot recv that takes
 * its buffers from the buffer ring.  Each filled buffer is queued on its
 * connection and sent back as it is, one send in flight per connection so
 * that the bytes go back in order; a short send is resubmitted for the
 * rest, and the buffer returns to the ring once it is all sent.  UDP: one
 * multishot recvmsg on the same buffer ring and one sendmsg per datagram
 * back to its source.  The requests queued while walking a batch of
 * completions all go out in the next io_uring_submit_and_wait().
 * It echoes bytes, so it serves larsd-bench's lars mode too: every lars
 * frame comes back unchanged.  A port of 0 takes a free one; the ports in
 * use are printed on stdout ("tcp PORT", "udp PORT") once listening.
 * SIGTERM or SIGINT ends it.
 */
#include "config.h"

#include "textbook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_ENTRIES 4096
/* Provided buffers: a power of 2, more than the benchmark's 500
 * connections, which mostly hold one each; 64 KiB, textbook-echo's read
 * size, after what a multishot recvmsg writes first (a TCP recv fills it
 * all).  64 MiB, but only the pages written to become resident: one per
 * buffer with small messages, as the ring hands the buffers out in turn. */
#define NBUFS 1024
#define BUF_SIZE (sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_in) + 65536)
#define BGID 0
#define NIL 0xffff /* ends a connection's queue of buffers */

/* What a completion is for: the low 3 bits of its user_data; the others
 * are the connection pointer (calloc aligns it) or a buffer id.  A
 * positive res of a receive always comes with a buffer. */
enum { OP_CANCEL, OP_ACCEPT, OP_RECV, OP_SEND, OP_URECV, OP_USEND };

struct conn {
	int fd;
	uint16_t head, tail; /* received buffers to send back, linked by buf_next[] */
	uint32_t off;        /* bytes of the head buffer already sent */
	bool recv_armed, sending, starved, eof, dead;
	struct conn *prev, *next; /* all connections */
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static uint16_t buf_next[NBUFS];
static uint32_t buf_len[NBUFS];
static struct { struct msghdr mh; struct iovec iov; } usend[NBUFS]; /* a datagram's sendmsg */
static struct msghdr urecv_msg = {.msg_namelen = sizeof(struct sockaddr_in)};
static struct conn *conns;
static bool starving, udp_starved, recycled;
static int tfd, ufd;

/* Give buffer bid (back) to the kernel. */
static void recycle(unsigned bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(NBUFS), 0);
	io_uring_buf_ring_advance(br, 1);
	recycled = true;
}

/* liburing 2.3 has no io_uring_setup_buf_ring(): register the ring by hand. */
static void bufs_init(void)
{
	size_t rsize = NBUFS * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = {.ring_entries = NBUFS, .bgid = BGID};

	if (posix_memalign((void **)&br, (size_t)sysconf(_SC_PAGESIZE), rsize) ||
	    !(bufs = malloc(NBUFS * BUF_SIZE)))
		textbook_die("buffers", ENOMEM);
	memset(br, 0, rsize);
	reg.ring_addr = (uintptr_t)br;
	int r = io_uring_register_buf_ring(&ring, &reg, 0);
	if (r < 0)
		textbook_die("io_uring_register_buf_ring", -r);
	io_uring_buf_ring_init(br);
	for (unsigned bid = 0; bid < NBUFS; bid++)
		recycle(bid);
}

/* An SQE; when the SQ is full, submit what is queued and go on. */
static struct io_uring_sqe *get_sqe(uint64_t data, int op)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&ring)))
		io_uring_submit(&ring);
	io_uring_sqe_set_data64(sqe, data | (uint64_t)op);
	return sqe;
}

static void arm_accept(void)
{
	io_uring_prep_multishot_accept(get_sqe(0, OP_ACCEPT), tfd, NULL, NULL, SOCK_CLOEXEC);
}

/* A multishot receive into the provided buffers: the recv of connection
 * c, or with c NULL the recvmsg of the UDP socket. */
static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe((uintptr_t)c, c ? OP_RECV : OP_URECV);

	if (c)
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	else
		io_uring_prep_recvmsg_multishot(sqe, ufd, &urecv_msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	if (c)
		c->recv_armed = true;
}

static void send_head(struct conn *c)
{
	char *p = bufs + (size_t)c->head * BUF_SIZE;

	io_uring_prep_send(get_sqe((uintptr_t)c, OP_SEND), c->fd, p + c->off,
			   buf_len[c->head] - c->off, MSG_NOSIGNAL);
	c->sending = true;
}

/* Close and free it once it is over and no request of it is left. */
static void conn_check(struct conn *c)
{
	if (!(c->eof || c->dead) || c->recv_armed || c->sending || c->starved)
		return;
	close(c->fd);
	*(c->prev ? &c->prev->next : &conns) = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

static void on_accept(int res, unsigned flags)
{
	struct conn *c;
	int one = 1;

	if (!(flags & IORING_CQE_F_MORE))
		arm_accept();
	if (res < 0)
		return;
	if (!(c = calloc(1, sizeof(*c)))) {
		close(res);
		return;
	}
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = res;
	c->head = c->tail = NIL;
	if ((c->next = conns))
		conns->prev = c;
	conns = c;
	arm_recv(c);
}

static void on_recv(struct conn *c, int res, unsigned flags)
{
	uint16_t bid = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);

	if (res > 0 && c->dead) {
		recycle(bid);
	} else if (res > 0) { /* queue it; send it now if the connection is idle */
		buf_len[bid] = (uint32_t)res;
		buf_next[bid] = NIL;
		*(c->head == NIL ? &c->head : &buf_next[c->tail]) = bid;
		c->tail = bid;
		if (!c->sending)
			send_head(c);
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	c->recv_armed = false;
	if (res == -ENOBUFS && !c->dead) {
		c->starved = starving = true; /* the ring ran dry: rearm once buffers return */
	} else if (res > 0 && !c->dead) {
		arm_recv(c); /* the kernel may end a multishot request at any time */
	} else {
		c->eof = true; /* EOF or error: close once the queue is sent */
		conn_check(c);
	}
}

static void on_send(struct conn *c, int res)
{
	c->sending = false;
	if (res > 0) {
		c->off += (uint32_t)res;
		if (c->off == buf_len[c->head]) {
			uint16_t bid = c->head;
			c->head = buf_next[bid];
			c->off = 0;
			recycle(bid);
		}
		if (c->head != NIL)
			send_head(c); /* the next buffer, or the rest of a short send */
	} else { /* the peer is gone: drop the queue, end the recv */
		c->dead = true;
		for (; c->head != NIL; c->head = buf_next[c->head])
			recycle(c->head);
		if (c->recv_armed)
			io_uring_prep_cancel64(get_sqe(0, OP_CANCEL), (uintptr_t)c | OP_RECV, 0);
	}
	conn_check(c);
}

static void on_urecv(int res, unsigned flags)
{
	unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

	if (res > 0) {
		struct io_uring_recvmsg_out *o =
			io_uring_recvmsg_validate(bufs + (size_t)bid * BUF_SIZE, res, &urecv_msg);
		if (!o) {
			recycle(bid);
		} else { /* the buffer returns to the ring when the send completes */
			usend[bid].iov.iov_base = io_uring_recvmsg_payload(o, &urecv_msg);
			usend[bid].iov.iov_len = io_uring_recvmsg_payload_length(o, res, &urecv_msg);
			usend[bid].mh = (struct msghdr){.msg_name = io_uring_recvmsg_name(o),
							.msg_namelen = urecv_msg.msg_namelen,
							.msg_iov = &usend[bid].iov, .msg_iovlen = 1};
			io_uring_prep_sendmsg(get_sqe((uint64_t)bid << 3, OP_USEND), ufd, &usend[bid].mh, 0);
		}
	}
	if (flags & IORING_CQE_F_MORE)
		return;
	if (res == -ENOBUFS)
		udp_starved = starving = true;
	else
		arm_recv(NULL);
}

/* Buffers came back: rearm the receives that the dry ring had ended. */
static void rearm_starved(void)
{
	starving = false;
	for (struct conn *c = conns, *next; c; c = next) {
		next = c->next;
		if (!c->starved)
			continue;
		c->starved = false;
		if (c->dead)
			conn_check(c);
		else
			arm_recv(c);
	}
	if (udp_starved) {
		udp_starved = false;
		arm_recv(NULL);
	}
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
	uint64_t data = io_uring_cqe_get_data64(cqe);
	struct conn *c = (struct conn *)(uintptr_t)(data & ~(uint64_t)7);

	switch (data & 7) {
	case OP_ACCEPT: on_accept(cqe->res, cqe->flags); break;
	case OP_RECV: on_recv(c, cqe->res, cqe->flags); break;
	case OP_SEND: on_send(c, cqe->res); break;
	case OP_URECV: on_urecv(cqe->res, cqe->flags); break;
	case OP_USEND: recycle((unsigned)(data >> 3)); break;
	default: break; /* a cancel's own completion */
	}
}

int main(int argc, char **argv)
{
	/* Blocking sockets: io_uring waits for readiness itself. */
	textbook_setup("textbook-uring", argc, argv, 0, &tfd, &ufd);
	struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN};
	int r = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
	if (r == -EINVAL) { /* a kernel before 6.0 lacks these flags */
		memset(&p, 0, sizeof(p));
		r = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
	}
	if (r < 0)
		textbook_die("io_uring_queue_init_params", -r);
	bufs_init();
	arm_accept();
	arm_recv(NULL);
	textbook_print_ports(tfd, ufd);

	while (!textbook_stop) {
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0 && r != -EINTR)
			textbook_die("io_uring_submit_and_wait", -r);
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		recycled = false;
		io_uring_for_each_cqe(&ring, head, cqe) {
			on_cqe(cqe);
			n++;
		}
		io_uring_cq_advance(&ring, n);
		if (starving && recycled)
			rearm_starved();
	}

	/* Closing the ring ends every request; then nothing refers to the rest. */
	io_uring_queue_exit(&ring);
	while (conns) {
		struct conn *c = conns;
		conns = c->next;
		close(c->fd);
		free(c);
	}
	free(bufs);
	free(br);
	close(tfd);
	close(ufd);
	return 0;
}
