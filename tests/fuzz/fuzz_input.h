/* fuzz_input.h: what every fuzz target shares, device models and parsers
 * alike: the invariant check, a reader over the fuzz input, fake guest RAM
 * with guard pages, and quiet logging. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "devices/dev.h"

/* An invariant that failed: abort, so that libFuzzer saves the input. */
#define FZ_CHECK(cond)                                                                     \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Invariant checks are not for coverage: libFuzzer should steer by the
 * branches of the code under test, and tracing every compare of a check is
 * slow. */
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))

/* ---- the input ---- */

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline bool fz_more(const struct fz *f)
{
	return f->n > 0;
}
static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}
static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t v = fz_u8(f);
	return (uint16_t)(v | fz_u8(f) << 8);
}
static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t v = fz_u16(f);
	return v | (uint32_t)fz_u16(f) << 16;
}
/* Up to len bytes straight from the input; *got says how many. */
static inline const uint8_t *fz_bytes(struct fz *f, size_t len, size_t *got)
{
	const uint8_t *p = f->p;

	*got = len < f->n ? len : f->n;
	f->p += *got;
	f->n -= *got;
	return p;
}

/* ---- guest RAM: FZ_RAM_SIZE bytes with a PROT_NONE page on each side, so
 * that any access just outside RAM faults (gmem_ptr is what should stop it).
 * Mapped once; fz_ram_reset() gives zero pages back before every input. */

#ifndef FZ_RAM_SIZE
#define FZ_RAM_SIZE (16u << 20)
#endif

static inline struct gmem *fz_ram(void)
{
	static struct gmem mem;

	if (!mem.host) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		uint8_t *m = mmap(NULL, FZ_RAM_SIZE + 2 * page, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED || mprotect(m + page, FZ_RAM_SIZE, PROT_READ | PROT_WRITE)) {
			perror("fuzz: guest RAM");
			abort();
		}
		mem.host = m + page;
		mem.size = FZ_RAM_SIZE;
	}
	return &mem;
}

static inline void fz_ram_reset(void)
{
	struct gmem *m = fz_ram();

	madvise(m->host, m->size, MADV_DONTNEED); /* private anonymous: reads 0 again */
}

/* Once per process: drop log messages above level (the code under test
 * logs every refusal, and stderr would slow the fuzzing), unless
 * FUZZ_VERBOSE is set. */
static inline void fz_quiet_logging(int level)
{
	static bool done;

	if (!done) {
		done = true;
		log_set_ident("fuzz");
		if (!getenv("FUZZ_VERBOSE"))
			log_set_max_level(level);
	}
}

/* A copy of len bytes in a buffer of its own, NUL-terminated (free it), so
 * that ASan sees a read past either end of that part of the input. */
static inline char *fz_strndup(const uint8_t *p, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, p, len);
	s[len] = 0;
	return s;
}
