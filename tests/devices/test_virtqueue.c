/* test_virtqueue.c: split virtqueues on fake guest memory: sizes, area
 * checks, avail/used exchange, 16-bit index wrap-around, EVENT_IDX math and
 * suppression both ways, and hostile rings (addresses outside RAM, loops,
 * zero and over-long lengths, indirect, order, broken indices). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"

#define RAM (64u << 10)
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define BUF 0x8000

static uint8_t ram[RAM] __attribute__((aligned(16)));
static struct gmem mem = { ram, RAM };

static void put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + DESC + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, ram + gpa, 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, ram + gpa, 4);
	return v;
}

static void set16(uint64_t gpa, uint16_t v)
{
	memcpy(ram + gpa, &v, 2);
}

/* Driver side: put head in the avail ring and bump the index. */
static void offer(unsigned size, uint16_t head)
{
	uint16_t idx = get16(AVAIL + 2);
	set16(AVAIL + 4 + 2 * (idx % size), head);
	set16(AVAIL + 2, (uint16_t)(idx + 1));
}

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	return 0;
}

static void test_sizes(void **state)
{
	(void)state;
	assert_false(vq_size_valid(0));
	assert_true(vq_size_valid(1));
	assert_true(vq_size_valid(256));
	assert_false(vq_size_valid(255));
	assert_false(vq_size_valid(100));
	assert_true(vq_size_valid(32768));
	assert_false(vq_size_valid(65536));
}

static void test_enable_checks(void **state)
{
	struct vq q = { 0 };
	(void)state;
	assert_int_equal(vq_enable(&q, &mem, 100, DESC, AVAIL, USED, false), -EINVAL);
	assert_false(vq_ready(&q));
	assert_int_equal(vq_enable(&q, &mem, 8, DESC + 8, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL + 1, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED + 2, false), -EINVAL);
	assert_int_equal(vq_enable(&q, &mem, 8, RAM - 64, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, RAM - 8, false), -EINVAL);
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, 1ull << 40, false), -EINVAL);
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED, false), 0);
	assert_true(vq_ready(&q));
}

static void test_pop_push(void **state)
{
	struct vq q = { 0 };
	struct vq_elem e;
	(void)state;
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED, false), 0);
	assert_int_equal(vq_pop(&q, &e), 0);
	put_desc(3, BUF, 12, VRING_DESC_F_NEXT, 5);
	put_desc(5, BUF + 100, 60, VRING_DESC_F_NEXT, 1);
	put_desc(1, BUF + 200, 100, VRING_DESC_F_WRITE, 0);
	offer(8, 3);
	assert_int_equal(vq_avail_count(&q), 1);
	assert_int_equal(vq_pop(&q, &e), 1);
	assert_int_equal(e.head, 3);
	assert_int_equal(e.n_out, 2);
	assert_int_equal(e.n_in, 1);
	assert_int_equal(e.out_len, 72);
	assert_int_equal(e.in_len, 100);
	assert_ptr_equal(e.out[1].p, ram + BUF + 100);
	assert_ptr_equal(e.in[0].p, ram + BUF + 200);
	assert_int_equal(vq_copy_to_in(&e, 98, "abcd", 4), 2);
	assert_memory_equal(ram + BUF + 298, "ab", 2);
	assert_int_equal(vq_pop(&q, &e), 0);
	vq_push(&q, 3, 42);
	assert_int_equal(get16(USED + 2), 0); /* not before the flush */
	vq_flush(&q);
	assert_int_equal(get16(USED + 2), 1);
	assert_int_equal(get32(USED + 4), 3);
	assert_int_equal(get32(USED + 8), 42);
}

static void test_unpop(void **state)
{
	struct vq q = { 0 };
	struct vq_elem e;
	(void)state;
	assert_int_equal(vq_enable(&q, &mem, 4, DESC, AVAIL, USED, false), 0);
	put_desc(0, BUF, 10, VRING_DESC_F_WRITE, 0);
	put_desc(1, BUF + 16, 10, VRING_DESC_F_WRITE, 0);
	offer(4, 0);
	offer(4, 1);
	assert_int_equal(vq_pop(&q, &e), 1);
	assert_int_equal(vq_pop(&q, &e), 1);
	vq_unpop(&q, 2);
	assert_int_equal(vq_avail_count(&q), 2);
	assert_int_equal(vq_pop(&q, &e), 1);
	assert_int_equal(e.head, 0);
}

/* Indices are free-running 16-bit counters: start just below the wrap. */
static void test_wraparound(void **state)
{
	struct vq q = { 0 };
	struct vq_elem e;
	(void)state;
	assert_int_equal(vq_enable(&q, &mem, 4, DESC, AVAIL, USED, false), 0);
	q.last_avail = q.used_idx = 65533;
	set16(AVAIL + 2, 65533);
	for (unsigned i = 0; i < 4; i++)
		put_desc(i, BUF + 64 * i, 64, 0, 0);
	for (unsigned round = 0; round < 10; round++) {
		uint16_t head = round % 4;
		offer(4, head);
		assert_int_equal(vq_pop(&q, &e), 1);
		assert_int_equal(e.head, head);
		vq_push(&q, head, 0);
		vq_flush(&q);
		assert_int_equal(get16(USED + 2), (uint16_t)(65534 + round));
		assert_int_equal(get32(USED + 4 + 8 * ((65533 + round) % 4)), head);
	}
	assert_int_equal(q.last_avail, (uint16_t)(65533 + 10));
}

static void test_hostile_descriptors(void **state)
{
	struct vq q = { 0 };
	struct vq_elem e;
	(void)state;
	assert_int_equal(vq_enable(&q, &mem, 128, DESC, AVAIL, USED, false), 0);
	/* Outside RAM, and straddling its end. */
	put_desc(0, RAM + 4096, 10, 0, 0);
	offer(128, 0);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	assert_int_equal(e.head, 0);
	put_desc(0, RAM - 4, 10, 0, 0);
	offer(128, 0);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	put_desc(0, UINT64_MAX - 4, 10, 0, 0);
	offer(128, 0);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* A loop: 1 -> 2 -> 1. */
	put_desc(1, BUF, 10, VRING_DESC_F_NEXT, 2);
	put_desc(2, BUF, 10, VRING_DESC_F_NEXT, 1);
	offer(128, 1);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* Zero length. */
	put_desc(3, BUF, 0, 0, 0);
	offer(128, 3);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* Over-long: VQ_SEGS_MAX + 1 readable descriptors. */
	for (unsigned i = 0; i <= VQ_SEGS_MAX; i++)
		put_desc(10 + i, BUF, 1, i < VQ_SEGS_MAX ? VRING_DESC_F_NEXT : 0, (uint16_t)(11 + i));
	offer(128, 10);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* Next out of range. */
	put_desc(4, BUF, 10, VRING_DESC_F_NEXT, 500);
	offer(128, 4);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* Indirect (not negotiated). */
	put_desc(5, BUF, 16, VRING_DESC_F_INDIRECT, 0);
	offer(128, 5);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* Readable after writable. */
	put_desc(6, BUF, 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
	put_desc(7, BUF, 10, 0, 0);
	offer(128, 6);
	assert_int_equal(vq_pop(&q, &e), -EBADMSG);
	/* Every bad chain was consumed; the ring goes on. */
	put_desc(8, BUF, 10, 0, 0);
	offer(128, 8);
	assert_int_equal(vq_pop(&q, &e), 1);
	assert_int_equal(e.head, 8);
}

static void test_broken_ring(void **state)
{
	struct vq q = { 0 };
	struct vq_elem e;
	(void)state;
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED, false), 0);
	offer(8, 9); /* head out of range */
	assert_int_equal(vq_pop(&q, &e), -EPROTO);
	vq_reset(&q);
	memset(ram, 0, sizeof(ram));
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED, false), 0);
	set16(AVAIL + 2, 9); /* more than size ahead */
	assert_int_equal(vq_pop(&q, &e), -EPROTO);
	assert_int_equal(vq_avail_count(&q), 0);
}

static void test_event_idx_math(void **state)
{
	(void)state;
	assert_true(vq_need_event(0, 1, 0));
	assert_false(vq_need_event(1, 1, 0));   /* event 1 not yet passed */
	assert_true(vq_need_event(1, 2, 0));
	assert_true(vq_need_event(5, 10, 0));
	assert_false(vq_need_event(10, 10, 5));
	assert_true(vq_need_event(65535, 2, 65534)); /* across the wrap */
	assert_false(vq_need_event(3, 2, 65534));
	assert_false(vq_need_event(7, 7, 7)); /* nothing new */
}

static void test_notify_suppression(void **state)
{
	struct vq q = { 0 };
	(void)state;
	/* Without EVENT_IDX: NO_INTERRUPT and NO_NOTIFY flags. */
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED, false), 0);
	vq_push(&q, 0, 0);
	vq_flush(&q);
	assert_true(vq_should_notify(&q));
	set16(AVAIL, VRING_AVAIL_F_NO_INTERRUPT);
	assert_false(vq_should_notify(&q));
	vq_set_notify(&q, false);
	assert_int_equal(get16(USED), VRING_USED_F_NO_NOTIFY);
	vq_set_notify(&q, true);
	assert_int_equal(get16(USED), 0);

	/* With EVENT_IDX: used_event after avail ring, avail_event after used. */
	memset(ram, 0, sizeof(ram));
	assert_int_equal(vq_enable(&q, &mem, 8, DESC, AVAIL, USED, true), 0);
	set16(AVAIL + 4 + 2 * 8, 2); /* used_event: interrupt when used passes 2 */
	vq_push(&q, 0, 0);
	vq_flush(&q);
	assert_true(vq_should_notify(&q)); /* first decision is always yes */
	vq_push(&q, 0, 0);
	vq_flush(&q);
	assert_false(vq_should_notify(&q)); /* used 1 -> 2: event 2 not crossed */
	vq_push(&q, 0, 0);
	vq_push(&q, 0, 0);
	vq_flush(&q);
	assert_true(vq_should_notify(&q)); /* 2 -> 4 crosses 2 */
	q.last_avail = 6;
	vq_set_notify(&q, true);
	assert_int_equal(get16(USED + 4 + 8 * 8), 6);
	assert_int_equal(get16(USED), 0); /* flags untouched with EVENT_IDX */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sizes, setup),
		cmocka_unit_test_setup(test_enable_checks, setup),
		cmocka_unit_test_setup(test_pop_push, setup),
		cmocka_unit_test_setup(test_unpop, setup),
		cmocka_unit_test_setup(test_wraparound, setup),
		cmocka_unit_test_setup(test_hostile_descriptors, setup),
		cmocka_unit_test_setup(test_broken_ring, setup),
		cmocka_unit_test_setup(test_event_idx_math, setup),
		cmocka_unit_test_setup(test_notify_suppression, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
