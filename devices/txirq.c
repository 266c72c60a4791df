/* txirq.c: see txirq.h. */
#include "devices/txirq.h"

void txirq_init(struct txirq *t, unsigned frames, uint64_t ns,
		void (*arm)(void *ctx, uint64_t ns), void *ctx)
{
	*t = (struct txirq){ .frames = frames, .ns = ns, .arm = arm, .ctx = ctx };
}

bool txirq_coalescing(const struct txirq *t)
{
	return t->frames > 1 && t->ns && t->arm;
}

static void stop(struct txirq *t)
{
	t->pending = 0;
	if (t->armed) {
		t->armed = false;
		t->arm(t->ctx, 0);
	}
}

bool txirq_after_run(struct txirq *t, unsigned done, unsigned ring, bool now, uint64_t bound_ns)
{
	unsigned n = t->frames, half = ring / 2;

	t->pending += done;
	if (!t->pending)
		return false;
	if (!txirq_coalescing(t)) {
		t->pending = 0;
		return true;
	}
	if (n > half)
		n = half ? half : 1;
	if (now || t->pending >= n) {
		stop(t);
		return true;
	}
	t->deferred++;
	if (!t->armed) {
		t->armed = true;
		t->arm(t->ctx, bound_ns);
	}
	return false;
}

bool txirq_expired(struct txirq *t, bool *had_pending)
{
	if (!t->armed)
		return false;
	t->armed = false;
	*had_pending = t->pending != 0;
	t->pending = 0;
	return true;
}

void txirq_forget(struct txirq *t)
{
	t->pending = 0;
}
