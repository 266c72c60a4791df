/* test_pcnet_combine.c: the PCnet model's send combining: TX completion
 * interrupt coalescing (a bound in frames and in time) and TDMD deferral
 * (the RDP window coalesced while the transmit rate is high). Fixture:
 * pcnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/pcnet_fixture.h"

/* ---- TX completion interrupt coalescing (send combining) ---- */

#define COAL_N 4
#define COAL_NS 200000u

static int setup_coalesce(void **state)
{
	next_irq_frames = COAL_N;
	next_irq_ns = COAL_NS;
	*state = make(PCNET_OPT_ALL);
	next_irq_frames = 0;
	next_irq_ns = 0;
	return 0;
}

static int setup_coalesce_clock(void **state)
{
	next_clock = true;
	setup_coalesce(state);
	next_clock = false;
	return 0;
}

static int setup_coalesce_off(void **state)
{
	next_irq_frames = COAL_N;
	next_irq_ns = COAL_NS;
	*state = make(PCNET_OPT_ALL & ~PCNET_OPT_SEND_COMBINE);
	next_irq_frames = 0;
	next_irq_ns = 0;
	return 0;
}

/* One frame per TDMD and per run, as pcnet32 sends under load; the driver's
 * handler acknowledges each interrupt. Returns the interrupts seen. */
static unsigned send_k(struct fixture *f, unsigned k, unsigned *slot)
{
	unsigned irqs = 0;

	for (unsigned i = 0; i < k; i++) {
		xmit(f, *slot, 60, (uint8_t)i);
		*slot = (*slot + 1) % NRING;
		assert_int_equal(pcnet_tx_run(f->s, 1), 1);
		if (f->irq.level) {
			assert_int_equal(pcnet32_irq(f) & 0x0200, 0x0200); /* TINT */
			irqs++;
		}
	}
	return irqs;
}

/* K completions raise floor(K/N) interrupts at once and, for the rest, one
 * when the timer fires: ceil(K/N) in all. */
static void test_tint_coalesced(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;
	unsigned slot = 0, irqs;

	pcnet32_open(f);
	pcnet32_irq(f);
	irqs = send_k(f, 10, &slot);
	assert_int_equal(irqs, 10 / COAL_N);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(f->arms, 3); /* armed after frames 1, 5 and 9 */
	assert_int_equal(f->armed_ns, COAL_NS);
	assert_int_equal(f->disarms, 2); /* N reached before it fired */
	pcnet_tx_timer(f->s);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(pcnet32_irq(f) & 0x0200, 0x0200);
	irqs++;
	assert_int_equal(irqs, (10 + COAL_N - 1) / COAL_N);
	/* A stale expiry (nothing pending, not armed) raises nothing. */
	pcnet_tx_timer(f->s);
	assert_int_equal(f->irq.level, 0);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.tx_frames, 10);
	assert_int_equal(st.tint_deferred, 10 - 10 / COAL_N);
	assert_int_equal(st.tint_timer, 1);
	/* Exactly N: no timer left behind. */
	irqs = send_k(f, COAL_N, &slot);
	assert_int_equal(irqs, 1);
	assert_int_equal(f->arms, f->disarms + 0u + 1u); /* the one that fired */
}

/* A whole ring in one run completes at once: one interrupt, no timer when
 * the batch reaches N (capped at half the ring: 4 of 8 here). */
static void test_tint_batch_and_cap(void **state)
{
	struct fixture *f = *state;

	pcnet32_open(f);
	pcnet32_irq(f);
	for (unsigned i = 0; i < NRING; i++)
		tx_desc(f, i, TXBUF + 2048u * i, 60, 0x8300);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), NRING);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(f->arms, 0);
}

/* Without send combining (or with N <= 1) every frame sets TINT. */
static void test_tint_every_frame_when_off(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	assert_int_equal(send_k(f, 10, &slot), 10);
	assert_int_equal(f->arms, 0);
}

static void test_tint_every_run_n1(void **state)
{
	struct fixture *f = *state; /* setup(): N = 0 */
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	assert_int_equal(send_k(f, 10, &slot), 10);
	assert_int_equal(f->arms, 0);
}

/* The clock: a demand after a quiet gap of T or more interrupts at once;
 * demands closer than T defer, bounded by one timer of exactly T; an error
 * is never deferred. */
static void test_tint_rate_and_bound(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	assert_int_equal(send_k(f, 1, &slot), 1); /* first demand: quiet before */
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0); /* 10 us later: deferred */
	assert_int_equal(f->arms, 1);
	assert_int_equal(f->armed_ns, COAL_NS);
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0); /* still under N: same timer */
	assert_int_equal(f->arms, 1);
	f->clock += COAL_NS; /* the bound: a gap of T flushes (and disarms) */
	assert_int_equal(send_k(f, 1, &slot), 1);
	assert_int_equal(f->disarms, 1);
	/* A chain without ENP (error): TINT at once despite a close demand. */
	f->clock += 1000;
	tx_desc(f, slot, TXBUF, 60, 0x8200); /* OWN|STP, no ENP */
	tx_desc(f, (slot + 1) % NRING, 0, 0, 0);
	wcsr(f, 0, 0x0048);
	pcnet_tx_run(f->s, 1);
	assert_int_equal(f->irq.level, 1);
	assert_true(rcsr(f, 0) & 0x0200);
}

/* ---- TDMD deferral (send combining: the RDP window) ---- */

#define DEFER_NS 100000u

static int setup_defer(void **state)
{
	next_clock = true;
	next_defer_ns = DEFER_NS;
	next_irq_frames = COAL_N;
	next_irq_ns = 50000;
	*state = make(PCNET_OPT_ALL);
	next_clock = false;
	next_defer_ns = 0;
	next_irq_frames = 0;
	next_irq_ns = 0;
	return 0;
}

static int setup_defer_no_combine(void **state)
{
	next_clock = true;
	next_defer_ns = DEFER_NS;
	*state = make(PCNET_OPT_ALL & ~PCNET_OPT_SEND_COMBINE);
	next_clock = false;
	next_defer_ns = 0;
	return 0;
}

/* The registered window at addr of 2 bytes, or NULL. */
static const struct zone *zone_at(struct fixture *f, uint64_t addr)
{
	for (unsigned i = 0; i < 4; i++)
		if (f->zones[i].on && f->zones[i].addr == addr && f->zones[i].len == 2)
			return &f->zones[i];
	return NULL;
}

/* One frame per demand, `gap` ns apart on the fake clock. */
static void send_spaced(struct fixture *f, unsigned k, uint64_t gap, unsigned *slot)
{
	for (unsigned i = 0; i < k; i++) {
		f->clock += gap;
		xmit(f, *slot, 60, (uint8_t)i);
		*slot = (*slot + 1) % NRING;
		assert_int_equal(pcnet_tx_run(f->s, 1), 1);
		if (f->irq.level)
			pcnet32_irq(f);
	}
}

/* Demands closer than PCNET_DEFER_GAP_NS: after PCNET_DEFER_ENTER_RUNS runs
 * in a row the word RDP (BAR+0x10, 2 bytes: a DWord RDP access does not fit
 * and still exits) becomes a coalesced window and the poll timer runs with
 * the bound; a tick that finds demands keeps it; PCNET_DEFER_IDLE_NS of ticks
 * without one removes the window and stops the timer. */
static void test_defer_enter_and_leave(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;
	unsigned slot = 0, idle = PCNET_DEFER_IDLE_NS / DEFER_NS;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, PCNET_DEFER_ENTER_RUNS, 300000, &slot); /* the first has no gap */
	assert_false(pcnet_tx_deferring(f->s));
	assert_null(zone_at(f, 0xc010));
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.busy_runs_max, PCNET_DEFER_ENTER_RUNS - 1);
	send_spaced(f, 1, 300000, &slot);
	assert_true(pcnet_tx_deferring(f->s));
	assert_non_null(zone_at(f, 0xc010));
	assert_non_null(zone_at(f, 0xc012)); /* the RAP window stays */
	assert_int_equal(f->poll_ns, DEFER_NS);
	/* Ticks with demands in between keep it on. */
	for (unsigned i = 0; i < 3 * idle; i++) {
		if (i % 2 == 1)
			send_spaced(f, 1, DEFER_NS, &slot);
		pcnet_tx_poll(f->s);
	}
	assert_true(pcnet_tx_deferring(f->s));
	/* Quiet: one tick short of the gap keeps it, the next removes it. */
	for (unsigned i = 0; i + 1 < idle; i++)
		pcnet_tx_poll(f->s);
	assert_true(pcnet_tx_deferring(f->s));
	pcnet_tx_poll(f->s);
	assert_false(pcnet_tx_deferring(f->s));
	assert_null(zone_at(f, 0xc010));
	assert_non_null(zone_at(f, 0xc012));
	assert_int_equal(f->poll_ns, 0);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.defer_entered, 1);
	assert_int_equal(st.defer_polls, 3 * idle + idle);
	assert_int_equal(st.tx_frames, PCNET_DEFER_ENTER_RUNS + 1 + 3 * idle / 2);
	/* A stale tick after it stopped counts nothing and changes nothing. */
	pcnet_tx_poll(f->s);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.defer_polls, 3 * idle + idle);
	/* Demands slower than the gap never turn it on. */
	send_spaced(f, 20, PCNET_DEFER_GAP_NS, &slot);
	assert_false(pcnet_tx_deferring(f->s));
	assert_int_equal(f->poll_arms, 2);
}

/* The RDP window follows the BAR and I/O decode, as the RAP window does;
 * while decode is off the poll timer stops (nothing can be queued). */
static void test_defer_follows_bar(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, PCNET_DEFER_ENTER_RUNS + 1, 10000, &slot);
	assert_non_null(zone_at(f, 0xc010));
	cfg_write(f, 0x10, 0xd000);
	f->io = 0xd000;
	assert_null(zone_at(f, 0xc010));
	assert_non_null(zone_at(f, 0xd010));
	assert_non_null(zone_at(f, 0xd012));
	assert_int_equal(f->poll_ns, DEFER_NS);
	cfg_write(f, 0x04, 0x0004); /* I/O decode off */
	assert_null(zone_at(f, 0xd010));
	assert_null(zone_at(f, 0xd012));
	assert_int_equal(f->poll_ns, 0);
	cfg_write(f, 0x04, 0x0005);
	assert_non_null(zone_at(f, 0xd010));
	assert_int_equal(f->poll_ns, DEFER_NS);
	/* Deferred or not, the registers behave the same. */
	send_spaced(f, 2, 10000, &slot);
	assert_int_equal(f->tx.calls, PCNET_DEFER_ENTER_RUNS + 3);
}

/* While deferring, TX runs follow the poll ticks, so their gap says nothing
 * of the demand rate: TINT stays coalesced (N, or the timer), not one
 * interrupt per tick. */
static void test_defer_keeps_tint_coalesced(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0, irqs = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, PCNET_DEFER_ENTER_RUNS + 1, 10000, &slot);
	assert_true(pcnet_tx_deferring(f->s));
	f->arms = f->disarms = 0;
	for (unsigned i = 0; i < 2 * COAL_N; i++) {
		f->clock += DEFER_NS; /* more than tx_irq_ns (50 us) apart */
		xmit(f, slot, 60, (uint8_t)i);
		slot = (slot + 1) % NRING;
		pcnet_tx_run(f->s, 1);
		if (f->irq.level) {
			irqs++;
			pcnet32_irq(f);
		}
	}
	assert_int_equal(irqs, 2);
	assert_int_equal(f->arms, 2);
	/* The bound while deferring: PCNET_DEFER_TINT_TICKS ticks, not T. */
	assert_int_equal(f->armed_ns, PCNET_DEFER_TINT_TICKS * DEFER_NS);
}

/* Deferral is part of send combining: without it, no RDP window. */
static void test_defer_off_without_combine(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, 10, 10000, &slot);
	assert_false(pcnet_tx_deferring(f->s));
	assert_null(zone_at(f, 0xc010));
	assert_int_equal(f->poll_arms, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tint_coalesced, setup_coalesce, teardown),
		cmocka_unit_test_setup_teardown(test_tint_batch_and_cap, setup_coalesce, teardown),
		cmocka_unit_test_setup_teardown(test_tint_every_frame_when_off, setup_coalesce_off,
						teardown),
		cmocka_unit_test_setup_teardown(test_tint_every_run_n1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tint_rate_and_bound, setup_coalesce_clock,
						teardown),
		cmocka_unit_test_setup_teardown(test_defer_enter_and_leave, setup_defer, teardown),
		cmocka_unit_test_setup_teardown(test_defer_follows_bar, setup_defer, teardown),
		cmocka_unit_test_setup_teardown(test_defer_keeps_tint_coalesced, setup_defer, teardown),
		cmocka_unit_test_setup_teardown(test_defer_off_without_combine, setup_defer_no_combine,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
