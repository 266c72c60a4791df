/* virtqueue.c: split virtqueues, device side, after Virtual I/O Device
 * (VIRTIO) Version 1.1 (OASIS), section 2.7 "Split Virtqueues":
 *   2.7        queue size a power of two up to 32768; area alignment
 *   2.7.5      the descriptor table (addr, len, flags, next)
 *   2.7.5.3    indirect descriptors (not negotiated: rejected)
 *   2.7.6      the available ring (flags, idx, ring[], used_event)
 *   2.7.8      the used ring (flags, idx, ring[] of {id, len}, avail_event)
 *   2.7.7      notification suppression, 2.7.10 EVENT_IDX (vring_need_event)
 * Little-endian guests only (x86): fields are read with plain loads.
 *
 * The guest is hostile: descriptors are copied once before they are checked,
 * every buffer goes through gmem_ptr, chains are bounded by the queue size
 * and VQ_SEGS_MAX, and an avail index more than size ahead marks the ring
 * broken.
 */
#include "devices/virtqueue.h"

#include <errno.h>
#include <string.h>

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Offsets in the avail (2.7.6) and used (2.7.8) areas. */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static uint16_t avail_idx(const struct vq *q)
{
	return __atomic_load_n((const uint16_t *)(q->avail + AVAIL_IDX), __ATOMIC_ACQUIRE);
}

bool vq_size_valid(unsigned n)
{
	return n && n <= VQ_SIZE_MAX && !(n & (n - 1));
}

void vq_reset(struct vq *q)
{
	const struct gmem *mem = q->mem;

	memset(q, 0, sizeof(*q));
	q->mem = mem;
}

int vq_enable(struct vq *q, const struct gmem *mem, unsigned size, uint64_t desc,
	      uint64_t avail, uint64_t used, bool event_idx)
{
	uint8_t *d, *a, *u;

	vq_reset(q);
	q->mem = mem;
	if (!vq_size_valid(size) || (desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	d = gmem_ptr(mem, desc, 16ull * size);
	a = gmem_ptr(mem, avail, 6 + 2ull * size);
	u = gmem_ptr(mem, used, 6 + 8ull * size);
	if (!d || !a || !u)
		return -EINVAL;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->event_idx = event_idx;
	q->size = (uint16_t)size;
	return 0;
}

unsigned vq_avail_count(struct vq *q)
{
	uint16_t n;

	if (!q->size)
		return 0;
	n = (uint16_t)(avail_idx(q) - q->last_avail);
	return n > q->size ? 0 : n;
}

int vq_pop(struct vq *q, struct vq_elem *e)
{
	uint16_t idx, n, i;
	unsigned count = 0;

	if (!q->size)
		return 0;
	idx = avail_idx(q);
	n = (uint16_t)(idx - q->last_avail);
	if (n == 0)
		return 0;
	if (n > q->size)
		return -EPROTO;
	i = ld16(q->avail + AVAIL_RING + 2u * (q->last_avail & (q->size - 1)));
	if (i >= q->size)
		return -EPROTO;
	q->last_avail++;
	memset(e, 0, offsetof(struct vq_elem, out));
	e->head = i;
	for (;;) {
		struct vq_desc d;
		uint8_t *p;

		memcpy(&d, q->desc + 16u * i, sizeof(d)); /* once: the guest may change it */
		if (++count > q->size || (d.flags & VRING_DESC_F_INDIRECT) || d.len == 0)
			return -EBADMSG;
		p = gmem_ptr(q->mem, d.addr, d.len);
		if (!p)
			return -EBADMSG;
		if (d.flags & VRING_DESC_F_WRITE) {
			if (e->n_in == VQ_SEGS_MAX)
				return -EBADMSG;
			e->in[e->n_in++] = (struct vq_seg){ p, d.len };
			e->in_len += d.len;
		} else {
			if (e->n_in || e->n_out == VQ_SEGS_MAX) /* 2.7.4.2: readable first */
				return -EBADMSG;
			e->out[e->n_out++] = (struct vq_seg){ p, d.len };
			e->out_len += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		if (d.next >= q->size)
			return -EBADMSG;
		i = d.next;
	}
}

void vq_unpop(struct vq *q, unsigned n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

void vq_push(struct vq *q, uint16_t head, uint32_t len)
{
	uint8_t *slot;
	uint32_t id = head;

	if (!q->size)
		return;
	slot = q->used + USED_RING + 8u * (q->used_idx & (q->size - 1));
	memcpy(slot, &id, 4);
	memcpy(slot + 4, &len, 4);
	q->used_idx++;
}

void vq_flush(struct vq *q)
{
	if (q->size)
		__atomic_store_n((uint16_t *)(q->used + USED_IDX), q->used_idx, __ATOMIC_RELEASE);
}

bool vq_should_notify(struct vq *q)
{
	uint16_t old, event;
	bool valid;

	if (!q->size)
		return false;
	/* The used index store must be visible before we read the driver's
	 * suppression state (the driver does the mirror image). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(ld16(q->avail + AVAIL_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT);
	old = q->signalled_used;
	valid = q->signalled_valid;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	event = ld16(q->avail + AVAIL_RING + 2u * q->size); /* used_event */
	return !valid || vq_need_event(event, q->used_idx, old);
}

void vq_set_notify(struct vq *q, bool on)
{
	if (!q->size)
		return;
	if (q->event_idx) {
		if (on)
			st16(q->used + USED_RING + 8u * q->size, q->last_avail); /* avail_event */
	} else {
		st16(q->used + USED_FLAGS, on ? 0 : VRING_USED_F_NO_NOTIFY);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t vq_copy_to_in(const struct vq_elem *e, size_t off, const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t done = 0;

	for (unsigned k = 0; k < e->n_in && done < len; k++) {
		size_t seg = e->in[k].len, n;
		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off < len - done ? seg - off : len - done;
		memcpy(e->in[k].p + off, s + done, n);
		done += n;
		off = 0;
	}
	return done;
}
