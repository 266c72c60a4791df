/* txirq.h: TX-interrupt coalescing, shared by the NIC models (the paper's
 * interrupt moderation, part of send combining). While transmit runs come
 * close together, the completion interrupt is signalled once per `frames`
 * completed frames (capped at half the ring, so the driver never runs out of
 * descriptors waiting for it) or a bound after the first frame not yet
 * signalled, whichever comes first; a quiet gap or an error signals at once.
 * What signalling means is the model's (PCnet: CSR0 TINT; virtio-net: the
 * used ring's notify, which EVENT_IDX may still suppress). The caller holds
 * the device's lock around every call. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct txirq {
	unsigned frames; /* N; <= 1: no coalescing */
	uint64_t ns;     /* T, the bound; 0: no coalescing */
	void (*arm)(void *ctx, uint64_t ns); /* one-shot timer (0 disarms); NULL: none */
	void *ctx;
	unsigned pending; /* frames completed, not yet signalled */
	bool armed;
	uint64_t deferred; /* runs whose signal was deferred */
};

/* Sets the parameters, with nothing pending. */
void txirq_init(struct txirq *t, unsigned frames, uint64_t ns,
		void (*arm)(void *ctx, uint64_t ns), void *ctx);
bool txirq_coalescing(const struct txirq *t);
/* After a run that completed `done` more frames (pending ones count too) on
 * a ring of `ring` entries: true when the caller signals now (nothing left
 * pending, the timer stopped), false when nothing is pending or the signal
 * waits for the timer (armed with bound_ns, T or longer). now: signal at
 * once (an error, or the run came after a quiet gap). */
bool txirq_after_run(struct txirq *t, unsigned done, unsigned ring, bool now, uint64_t bound_ns);
/* The timer fired: false when it was not armed (a stale expiry); else true,
 * with *had_pending saying whether frames wait for the signal (now cleared). */
bool txirq_expired(struct txirq *t, bool *had_pending);
/* Reset or stop: pending frames are forgotten (an armed timer finds none). */
void txirq_forget(struct txirq *t);
