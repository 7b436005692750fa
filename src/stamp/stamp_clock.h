/*
 * stamp_clock.h - the Error Estimate of this host's clock (RFC 4656
 * §4.1.2, as STAMP carries it): whether CLOCK_REALTIME is synchronised and
 * how far off it may be, read from the kernel's clock discipline with
 * ntp_adjtime() in read-only mode (no privileges needed).
 *
 * Kept apart from stamp_wire.c, which touches no clocks; a Session-Sender
 * or Session-Reflector calls it now and then (the status changes slowly)
 * and puts the value in its packets.
 */
#ifndef STAMP_CLOCK_H
#define STAMP_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Assumed when the clock's status cannot be read (seccomp, a container):
 * what the kernel itself reports for an unsynchronised clock, its maximum
 * error NTP_PHASE_LIMIT, 16 s. */
#define STAMP_CLOCK_UNSYNC_ERR_NS UINT64_C(16000000000)

/* The Error Estimate for timestamps in the given format (ptp: the Z bit).
 * The S bit is set only when the kernel says the clock is synchronised;
 * the bound is its estimated error then, the larger of its estimated and
 * maximum error otherwise.  -1
 * with errno when the status cannot be read, *err then says unsynchronised
 * with STAMP_CLOCK_UNSYNC_ERR_NS; else 0. */
int stamp_clock_error(bool ptp, uint16_t *err);

#endif /* STAMP_CLOCK_H */
