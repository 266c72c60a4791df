/* test_virtio_net.c: the virtio-net device on fake guest memory, driven
 * through BAR 0 in the order Linux's virtio_pci_modern and virtio_net use it
 * (reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK),
 * with exact expected state: its features and their refusal, TX of a frame
 * with its vnet header, RX with and without MRG_RXBUF, interrupts and ISR,
 * counters, and hostile rings. The transport's own tests are in
 * test_virtio_pci.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/devices/virtio_fixture.h"

static void test_feature_negotiation(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	uint64_t df;
	(void)state;
	df = device_features(f);
	assert_int_equal(df, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
				     1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MRG_RXBUF |
				     1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
				     1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6 |
				     1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6 |
				     1ull << VIRTIO_RING_F_EVENT_IDX);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* No VERSION_1: refused (legacy is not offered). */
	set_features(f, 1ull << VIRTIO_NET_F_MAC);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	/* A bit we never offered. */
	set_features(f, BASE_FEATURES | 1ull << 22);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	/* GUEST_TSO4 without GUEST_CSUM (5.1.3.1). */
	set_features(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_GUEST_TSO4);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	assert_int_equal(f->offload_calls, 0);
	/* Accepted: offloads go to the tap. */
	set_features(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_GUEST_TSO4);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0xb);
	assert_int_equal(f->offload, NETDEV_OFFLOAD_CSUM | NETDEV_OFFLOAD_TSO4);
	/* Frozen after FEATURES_OK. */
	set_features(f, BASE_FEATURES);
	assert_int_equal(vnet_features(f->s),
			 BASE_FEATURES | 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_GUEST_TSO4);
	/* Reset clears it all and the tap's offloads. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	assert_int_equal(vnet_features(f->s), 0);
	assert_int_equal(f->offload, 0);
	destroy(f);

	/* Without the irqfd switch, EVENT_IDX is not offered. */
	f = make(0);
	assert_int_equal(device_features(f) >> VIRTIO_RING_F_EVENT_IDX & 1, 0);
	destroy(f);
}

static void test_tx(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct vnet_stats st;
	uint8_t hdr[VNET_HDR_LEN] = { 1, 0, 0, 0, 0, 0, 14, 0, 16, 0, 0, 0 }; /* NEEDS_CSUM */
	(void)state;
	bring_up(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_RING_F_EVENT_IDX);
	/* Header in one descriptor, frame in the next (virtio_net's xmit_skb). */
	memcpy(f->ram + TXBUF, hdr, sizeof(hdr));
	for (unsigned i = 0; i < 60; i++)
		f->ram[TXBUF + 64 + i] = (uint8_t)i;
	put_desc(f, TX_DESC, 0, TXBUF, VNET_HDR_LEN, VRING_DESC_F_NEXT, 1);
	put_desc(f, TX_DESC, 1, TXBUF + 64, 60, 0, 0);
	offer(f, TX_AVAIL, 0);
	wr(f, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * VNET_TXQ, 2, VNET_TXQ);
	assert_int_equal(f->kicks, 1);
	assert_int_equal(vnet_tx_run(f->s, 1), 1);
	assert_int_equal(f->tx_len, VNET_HDR_LEN + 60);
	assert_memory_equal(f->tx_buf, hdr, VNET_HDR_LEN);
	assert_int_equal(f->tx_buf[VNET_HDR_LEN + 59], 59);
	assert_int_equal(g16(f, TX_USED + 2), 1);
	assert_int_equal(g32(f, TX_USED + 4), 0);
	assert_int_equal(g32(f, TX_USED + 8), 0);
	/* EVENT_IDX: avail_event asks for the next notify. */
	assert_int_equal(g16(f, TX_USED + 4 + 8 * QN), 1);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 0);
	/* Send combining: three frames, one run, one batch of 3. */
	for (unsigned i = 2; i < 5; i++) {
		put_desc(f, TX_DESC, i, TXBUF + 128 * i, VNET_HDR_LEN + 60, 0, 0);
		offer(f, TX_AVAIL, (uint16_t)i);
	}
	assert_int_equal(vnet_tx_run(f->s, 1), 3);
	/* Hostile: outside RAM, too short for a header, oversize. */
	put_desc(f, TX_DESC, 5, RAM - 8, 60, 0, 0);
	offer(f, TX_AVAIL, 5);
	put_desc(f, TX_DESC, 6, TXBUF, 4, 0, 0);
	offer(f, TX_AVAIL, 6);
	put_desc(f, TX_DESC, 7, TXBUF, VNET_HDR_LEN + 2000, 0, 0);
	offer(f, TX_AVAIL, 7);
	assert_int_equal(vnet_tx_run(f->s, 1), 3);
	/* Backend failure. */
	f->tx_ret = -EIO;
	put_desc(f, TX_DESC, 2, TXBUF, VNET_HDR_LEN + 60, 0, 0);
	offer(f, TX_AVAIL, 2);
	assert_int_equal(vnet_tx_run(f->s, 1), 1);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.tx_frames, 4);
	assert_int_equal(st.tx_bytes, 240);
	assert_int_equal(st.drops[VNET_DROP_BAD_DESC], 2);
	assert_int_equal(st.drops[VNET_DROP_OVERSIZE], 1);
	assert_int_equal(st.drops[VNET_DROP_BACKEND], 1);
	assert_int_equal(st.kicks, 4);
	assert_int_equal(st.tx_batch[0], 2); /* 1 */
	assert_int_equal(st.tx_batch[1], 2); /* 2-3 */
	assert_int_equal(st.access[VPCI_ACC_NOTIFY], 1);
	assert_int_equal(g16(f, TX_USED + 2), 8);
	assert_int_equal(f->tx_frames, 4);
	destroy(f);
}

static void test_rx_mrg(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct vnet_stats st;
	uint8_t frame[150], hdr[VNET_HDR_LEN] = { 0 };
	(void)state;
	bring_up(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i + 1);
	/* No buffer yet: the frame waits. */
	assert_int_equal(vnet_rx(f->s, hdr, frame, sizeof(frame)), -EAGAIN);
	for (unsigned i = 0; i < 4; i++) {
		put_desc(f, RX_DESC, i, RXBUF + 256 * i, 64, VRING_DESC_F_WRITE, 0);
		offer(f, RX_AVAIL, (uint16_t)i);
	}
	/* 12 + 150 = 162 bytes: 64 + 64 + 34 in three buffers. */
	assert_int_equal(vnet_rx(f->s, hdr, frame, sizeof(frame)), 0);
	assert_int_equal(g16(f, RX_USED + 2), 3);
	assert_int_equal(g32(f, RX_USED + 4), 0);
	assert_int_equal(g32(f, RX_USED + 8), 64);
	assert_int_equal(g32(f, RX_USED + 12), 1);
	assert_int_equal(g32(f, RX_USED + 16), 64);
	assert_int_equal(g32(f, RX_USED + 20), 2);
	assert_int_equal(g32(f, RX_USED + 24), 34);
	assert_int_equal(g16(f, RXBUF + 10), 3); /* num_buffers */
	assert_memory_equal(f->ram + RXBUF + VNET_HDR_LEN, frame, 52);
	assert_memory_equal(f->ram + RXBUF + 256, frame + 52, 64);
	assert_memory_equal(f->ram + RXBUF + 512, frame + 116, 34);
	assert_int_equal(f->irq_level, 1);
	/* One buffer left: a 162-byte frame does not fit; it is held, not lost. */
	assert_int_equal(vnet_rx(f->s, hdr, frame, sizeof(frame)), -EAGAIN);
	assert_int_equal(g16(f, RX_USED + 2), 3);
	/* Oversize without GSO. */
	static uint8_t big[VNET_FRAME_MAX + 1];
	assert_int_equal(vnet_rx(f->s, hdr, big, sizeof(big)), 0);
	/* A device-readable buffer on the receive queue is a bad descriptor. */
	put_desc(f, RX_DESC, 3, RXBUF + 768, 64, 0, 0);
	assert_int_equal(vnet_rx(f->s, hdr, frame, 20), 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.rx_bytes, 150);
	assert_int_equal(st.drops[VNET_DROP_OVERSIZE], 1);
	assert_int_equal(st.drops[VNET_DROP_BAD_DESC], 1);
	assert_int_equal(st.drops[VNET_DROP_NO_RX_BUFFER], 0);
	destroy(f);
}

static void test_rx_no_mrg(void **state)
{
	struct fixture *f = make(0);
	struct vnet_stats st;
	uint8_t frame[100] = { 0xff };
	(void)state;
	bring_up(f, BASE_FEATURES);
	/* A chain of two writable descriptors holds header + frame. */
	put_desc(f, RX_DESC, 0, RXBUF, 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	put_desc(f, RX_DESC, 1, RXBUF + 100, 200, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, 0);
	put_desc(f, RX_DESC, 2, RXBUF + 512, 50, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, 2);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	assert_int_equal(g32(f, RX_USED + 8), 112);
	assert_int_equal(f->ram[RXBUF + 100 + 2], 0xff); /* header bytes 10, 11 then the frame */
	/* Too small a chain without MRG_RXBUF: dropped as oversize. */
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.drops[VNET_DROP_OVERSIZE], 1);
	assert_int_equal(g16(f, RX_USED + 2), 2);
	assert_int_equal(g32(f, RX_USED + 16), 0);
	/* Before DRIVER_OK, or after reset, frames are dropped as no buffer. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[VNET_DROP_NO_RX_BUFFER], 1);
	destroy(f);
}

static void test_broken_ring_needs_reset(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct vnet_stats st;
	uint8_t frame[60] = { 0 };
	(void)state;
	bring_up(f, BASE_FEATURES);
	s16(f, RX_AVAIL + 2, QN + 5); /* avail index runs ahead of the ring */
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 2); /* configuration change */
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.needs_reset, 1);
	/* Stopped until reset: nothing more is taken. */
	assert_int_equal(vnet_tx_run(f->s, 1), 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	bring_up(f, BASE_FEATURES);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0xf);
	destroy(f);
}

static void test_no_bus_master(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	uint8_t frame[60] = { 0 };
	(void)state;
	bring_up(f, BASE_FEATURES);
	put_desc(f, RX_DESC, 0, RXBUF, 200, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, 0);
	pci_cfg_set16(vnet_pci_dev(f->s), PCI_COMMAND, PCI_COMMAND_MEMORY);
	vnet_pci_sync(f->s);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	assert_int_equal(g16(f, RX_USED + 2), 0); /* no DMA without bus mastering */
	destroy(f);
}

/* A full 256-entry TX ring: one run sends 256 frames (its budget), then
 * kicks the I/O thread again rather than looping on. */
static void test_tx_budget(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	const uint64_t desc = 0x30000, avail = 0x31000, used = 0x32000;
	(void)state;
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	setup_queue(f, VNET_RXQ, QN, RX_DESC, RX_AVAIL, RX_USED);
	setup_queue(f, VNET_TXQ, 256, desc, avail, used);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xf);
	for (unsigned i = 0; i < 256; i++) {
		put_desc(f, desc, i, TXBUF, VNET_HDR_LEN + 60, 0, 0);
		s16(f, avail + 4 + 2 * i, (uint16_t)i);
	}
	s16(f, avail + 2, 256);
	assert_int_equal(vnet_tx_run(f->s, 1), 256);
	assert_int_equal(f->kicks, 1);
	assert_int_equal(g16(f, used + 2), 256);
	assert_int_equal(vnet_tx_run(f->s, 1), 0);
	assert_int_equal(f->kicks, 1);
	destroy(f);
}

/* ---- TX used-ring interrupt coalescing (send combining) ---- */

#define COAL_N 4
#define COAL_NS 200000u

static struct fixture *make_coal(unsigned opts, bool clock, uint64_t feat)
{
	struct fixture *f;

	next_irq_frames = COAL_N;
	next_irq_ns = COAL_NS;
	next_clock = clock;
	f = make(opts);
	next_irq_frames = 0;
	next_irq_ns = 0;
	next_clock = false;
	bring_up(f, feat);
	return f;
}

/* One chain per notify and per run; the driver's handler reads the ISR
 * (which lowers the line). Returns the interrupts seen. */
static unsigned send_k(struct fixture *f, unsigned k, unsigned *slot)
{
	unsigned irqs = 0;

	for (unsigned i = 0; i < k; i++) {
		put_desc(f, TX_DESC, *slot, TXBUF, VNET_HDR_LEN + 60, 0, 0);
		offer(f, TX_AVAIL, (uint16_t)*slot);
		*slot = (*slot + 1) % QN;
		assert_int_equal(vnet_tx_run(f->s, 1), 1);
		if (f->irq_level) {
			assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
			irqs++;
		}
	}
	return irqs;
}

/* K completions: floor(K/N) interrupts at once, one more from the timer:
 * ceil(K/N). N is capped at half the queue (4 of 8 here). */
static void test_tx_irq_coalesced(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL, false, BASE_FEATURES);
	struct vnet_stats st;
	unsigned slot = 0, irqs;
	(void)state;

	irqs = send_k(f, 10, &slot);
	assert_int_equal(irqs, 10 / COAL_N);
	assert_int_equal(f->arms, 3);
	assert_int_equal(f->armed_ns, COAL_NS);
	assert_int_equal(f->disarms, 2);
	assert_int_equal(g16(f, TX_USED + 2), 10); /* used ring published at once */
	vnet_tx_timer(f->s);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
	irqs++;
	assert_int_equal(irqs, (10 + COAL_N - 1) / COAL_N);
	vnet_tx_timer(f->s); /* stale expiry: nothing */
	assert_int_equal(f->irq_level, 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.irq_deferred, 10 - 10 / COAL_N);
	assert_int_equal(st.irq_timer, 1);
	destroy(f);
}

/* EVENT_IDX still decides: the driver's used_event is honoured over the
 * whole deferred range, so an event inside it is not missed. */
static void test_tx_irq_coalesced_event_idx(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL, false, BASE_FEATURES | 1ull << VIRTIO_RING_F_EVENT_IDX);
	const uint64_t used_event = TX_AVAIL + 4 + 2 * QN;
	unsigned slot = 0;
	(void)state;

	s16(f, used_event, 0);
	/* The first check always signals; used_event 0 is then behind. */
	assert_int_equal(send_k(f, 10, &slot), 1);
	vnet_tx_timer(f->s);
	assert_int_equal(f->irq_level, 0);
	/* The driver asks for an interrupt once used passes 10: chains 11 and 12
	 * are deferred, and the timer signals them. */
	s16(f, used_event, 10);
	assert_int_equal(send_k(f, 2, &slot), 0);
	vnet_tx_timer(f->s);
	assert_int_equal(f->irq_level, 1);
	destroy(f);
}

/* Without send combining every chain is completed and signalled alone. */
static void test_tx_irq_every_frame_when_off(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL & ~VNET_OPT_SEND_COMBINE, false, BASE_FEATURES);
	unsigned slot = 0;
	(void)state;

	assert_int_equal(send_k(f, 10, &slot), 10);
	assert_int_equal(f->arms, 0);
	destroy(f);
}

/* The clock: a notify after a quiet gap of T interrupts at once; notifies
 * closer than T defer, under one timer of exactly T. */
static void test_tx_irq_rate_and_bound(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL, true, BASE_FEATURES);
	unsigned slot = 0;
	(void)state;

	f->clock = 1000000;
	assert_int_equal(send_k(f, 1, &slot), 1);
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0);
	assert_int_equal(f->arms, 1);
	assert_int_equal(f->armed_ns, COAL_NS);
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0);
	assert_int_equal(f->arms, 1);
	f->clock += COAL_NS;
	assert_int_equal(send_k(f, 1, &slot), 1);
	assert_int_equal(f->disarms, 1);
	destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feature_negotiation),
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_tx_budget),
		cmocka_unit_test(test_tx_irq_coalesced),
		cmocka_unit_test(test_tx_irq_coalesced_event_idx),
		cmocka_unit_test(test_tx_irq_every_frame_when_off),
		cmocka_unit_test(test_tx_irq_rate_and_bound),
		cmocka_unit_test(test_rx_mrg),
		cmocka_unit_test(test_rx_no_mrg),
		cmocka_unit_test(test_broken_ring_needs_reset),
		cmocka_unit_test(test_no_bus_master),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
