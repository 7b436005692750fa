/*
 * stamp_clock.c - the host clock's Error Estimate (see stamp_clock.h).
 */
#include "config.h"

#include "stamp_clock.h"
#include "stamp_wire.h"

#include <string.h>
#include <sys/timex.h>

int stamp_clock_error(bool ptp, uint16_t *err)
{
	struct timex tx;

	memset(&tx, 0, sizeof(tx)); /* modes 0: read only */
	int state = ntp_adjtime(&tx);
	if (state < 0) {
		*err = stamp_err_make(false, ptp, STAMP_CLOCK_UNSYNC_ERR_NS);
		return -1;
	}
	bool synced = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	/* Unsynchronised, the estimate alone may be stale: the larger bound. */
	long us = tx.esterror;
	if (!synced && tx.maxerror > us)
		us = tx.maxerror;
	*err = stamp_err_make(synced, ptp, us > 0 ? (uint64_t)us * 1000u : 0);
	return 0;
}
