/*
 * fault_uring.c - a fault shim for larsd's io_uring loop, for
 * tests/e2e/test_contract.c: preloaded into larsd (LD_PRELOAD, the
 * harness's lh_daemon.env), it stands in front of liburing and refuses
 * what the kernel refuses when it is short of memory, while a file exists
 * in the directory $LARS_FAULT_DIR names:
 *
 *   submit    io_uring_submit(), io_uring_submit_and_wait() and
 *             io_uring_submit_and_wait_timeout() take nothing and return
 *             -EAGAIN, as io_uring_enter() does when it cannot allocate
 *             requests.  With nothing queued they wait as ever: the
 *             kernel refuses requests, not waits.
 *   register  io_uring_register_buf_ring() returns -ENOMEM (the buffer
 *             ring cannot be registered again after a trim).
 *
 * What it refused it counts in submit.refused and register.refused there
 * (a decimal number, rewritten each time), so that a test knows the fault
 * did happen.  Without $LARS_FAULT_DIR it passes everything through.
 *
 * Why a preload: larsd calls these functions of liburing.so.2 through
 * its PLT, so a definition loaded before liburing's wins, and the real one
 * is found with dlsym(RTLD_NEXT).  Wrapping syscall() or io_uring_enter()
 * would catch nothing: liburing 2.3 makes its system calls itself (inline
 * assembly, it imports no syscall() from libc), from within the library.
 * A refused submit here leaves the SQ as the kernel would after taking
 * none of it: the entries stay queued (liburing never flushed them).
 *
 * tests/local.mk builds it without the build's CFLAGS: the libtool wrapper
 * that starts larsd is a shell script, which the preload reaches too, and
 * a sanitizer build's flags would make the shim need a runtime the shell
 * does not have.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum fault { FAULT_SUBMIT, FAULT_REGISTER, N_FAULTS };

static const char *const fault_name[N_FAULTS] = {"submit", "register"};

static struct {
	char flag[PATH_MAX];   /* refuse while this file exists */
	char count[PATH_MAX];  /* how many were refused */
	unsigned long refused;
	int fd;                /* count's, once one was refused */
} faults[N_FAULTS];

static bool active;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_submit)(struct io_uring *);
static int (*real_submit_and_wait)(struct io_uring *, unsigned);
static int (*real_submit_and_wait_timeout)(struct io_uring *, struct io_uring_cqe **, unsigned,
					   struct __kernel_timespec *, sigset_t *);
static int (*real_register_buf_ring)(struct io_uring *, struct io_uring_buf_reg *, unsigned);

/* Each object a process needs is loaded before any constructor runs: in
 * larsd, liburing's functions are found here.  (In the wrapper's shell
 * they are not, and never called.) */
__attribute__((constructor)) static void fault_init(void)
{
	const char *dir = getenv("LARS_FAULT_DIR");

	real_submit = (__typeof__(real_submit))dlsym(RTLD_NEXT, "io_uring_submit");
	real_submit_and_wait =
		(__typeof__(real_submit_and_wait))dlsym(RTLD_NEXT, "io_uring_submit_and_wait");
	real_submit_and_wait_timeout = (__typeof__(real_submit_and_wait_timeout))dlsym(
		RTLD_NEXT, "io_uring_submit_and_wait_timeout");
	real_register_buf_ring =
		(__typeof__(real_register_buf_ring))dlsym(RTLD_NEXT, "io_uring_register_buf_ring");
	if (!dir || !*dir)
		return;
	for (int f = 0; f < N_FAULTS; f++) {
		snprintf(faults[f].flag, sizeof(faults[f].flag), "%s/%s", dir, fault_name[f]);
		snprintf(faults[f].count, sizeof(faults[f].count), "%s/%s.refused", dir,
			 fault_name[f]);
		faults[f].fd = -1;
	}
	active = true;
}

/* Is fault f on?  If so, count it. */
static bool refuse(enum fault f)
{
	char text[32];

	if (!active || access(faults[f].flag, F_OK) < 0)
		return false;
	pthread_mutex_lock(&count_lock);
	if (faults[f].fd < 0)
		faults[f].fd = open(faults[f].count, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int len = snprintf(text, sizeof(text), "%lu\n", ++faults[f].refused);
	if (faults[f].fd >= 0 && pwrite(faults[f].fd, text, (size_t)len, 0) < 0)
		faults[f].fd = -1; /* counted no more; the fault goes on */
	pthread_mutex_unlock(&count_lock);
	return true;
}

int io_uring_submit(struct io_uring *ring)
{
	if (io_uring_sq_ready(ring) > 0 && refuse(FAULT_SUBMIT))
		return -EAGAIN;
	return real_submit(ring);
}

int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	if (io_uring_sq_ready(ring) > 0 && refuse(FAULT_SUBMIT))
		return -EAGAIN;
	return real_submit_and_wait(ring, wait_nr);
}

int io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				     unsigned wait_nr, struct __kernel_timespec *ts,
				     sigset_t *sigmask)
{
	if (io_uring_sq_ready(ring) > 0 && refuse(FAULT_SUBMIT))
		return -EAGAIN;
	return real_submit_and_wait_timeout(ring, cqe_ptr, wait_nr, ts, sigmask);
}

int io_uring_register_buf_ring(struct io_uring *ring, struct io_uring_buf_reg *reg,
			       unsigned flags)
{
	if (refuse(FAULT_REGISTER))
		return -ENOMEM;
	return real_register_buf_ring(ring, reg, flags);
}
