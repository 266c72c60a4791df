/* virtqueue.h: split virtqueues (virtio 1.x, 2.7) on the device side, over
 * guest memory reached only through gmem_ptr(). See virtqueue.c.
 *
 * Not thread-safe: the owning device serialises access (its lock). The rings
 * live in guest memory and the guest may change them at any time; every
 * value read from them is read once and checked before use.
 */
#pragma once
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"

#define VQ_SIZE_MAX 32768       /* 2.7: Queue Size <= 32768 */
#define VQ_SEGS_MAX 64          /* descriptors per chain we accept */

/* Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8): VRING_* of
 * <linux/virtio_ring.h>. */

struct vq {
	const struct gmem *mem;
	uint16_t size;       /* entries; 0: not enabled */
	bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* our copy of used->idx (published by vq_flush) */
	uint16_t signalled_used; /* used_idx when the driver was last notified */
	bool signalled_valid;
	/* Host pointers, checked at vq_enable. */
	uint8_t *desc, *avail, *used;
};

struct vq_seg {
	uint8_t *p;
	uint32_t len;
};

/* One descriptor chain: out[] device-readable, then in[] device-writable. */
struct vq_elem {
	uint16_t head;
	unsigned n_out, n_in;
	uint64_t out_len, in_len;
	struct vq_seg out[VQ_SEGS_MAX], in[VQ_SEGS_MAX];
};

/* true when n is a valid queue size: a power of two in 1..VQ_SIZE_MAX (2.7). */
bool vq_size_valid(unsigned n);
/* Checks alignment (2.7: desc 16, avail 2, used 4) and that the three areas
 * lie inside RAM, then enables the queue with its indices at 0. 0 or
 * -EINVAL (the queue stays disabled). */
int vq_enable(struct vq *q, const struct gmem *mem, unsigned size, uint64_t desc,
	      uint64_t avail, uint64_t used, bool event_idx);
void vq_reset(struct vq *q);
static inline bool vq_ready(const struct vq *q)
{
	return q->size != 0;
}

/* Takes the next available chain into e.
 *   1        e is a valid chain;
 *   0        the ring is empty;
 *   -EBADMSG a bad chain (address outside RAM, loop, too long, zero length,
 *            indirect, readable after writable): consumed, e->head is valid,
 *            the caller returns it with vq_push(q, head, 0) and counts it;
 *   -EPROTO  the ring itself is broken (avail index ran more than size ahead,
 *            head out of range): the device must stop using it (NEEDS_RESET). */
int vq_pop(struct vq *q, struct vq_elem *e);
/* Gives back the last n chains taken by vq_pop (not yet pushed). */
void vq_unpop(struct vq *q, unsigned n);
/* Number of chains the driver has made available and we have not taken
 * (0 when the ring is broken). */
unsigned vq_avail_count(struct vq *q);
/* Puts (head, len) into the used ring; invisible until vq_flush. */
void vq_push(struct vq *q, uint16_t head, uint32_t len);
/* Publishes the used index (release). */
void vq_flush(struct vq *q);
/* After vq_flush: should the driver be interrupted (2.7.7.2, 2.7.10)? With
 * EVENT_IDX, only when used_event was crossed since the last notification;
 * otherwise unless the driver set VRING_AVAIL_F_NO_INTERRUPT. */
bool vq_should_notify(struct vq *q);
/* Asks the driver for notifications (on) or not (off) (2.7.7.1, 2.7.10):
 * avail_event = last_avail with EVENT_IDX, else VRING_USED_F_NO_NOTIFY. After
 * turning them on, recheck vq_avail_count: the driver may have added a chain
 * before it saw the change. */
void vq_set_notify(struct vq *q, bool on);

/* 2.7.10: does moving an index from old to new_idx cross event? */
static inline bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Copies len bytes from src into the writable segments, from byte offset
 * off. Returns the bytes copied. */
size_t vq_copy_to_in(const struct vq_elem *e, size_t off, const void *src, size_t len);
