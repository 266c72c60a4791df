/* util.h: small helpers shared by every component: cleanup attributes in the
 * systemd manner, array sizes, whole-file reads. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void freep(void *p) { free(*(void **)p); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_free_ _cleanup_(freep)

/* Takes ownership away from a cleanup variable. */
#define TAKE_FD(fd)                  \
	({                           \
		int _fd_ = (fd);     \
		(fd) = -1;           \
		_fd_;                \
	})
#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _p_ = (p); \
		(p) = NULL;              \
		_p_;                     \
	})

/* Reads a whole file into a malloc'd buffer (NUL-terminated, *len excludes
 * the NUL). Refuses files larger than max. Returns 0 or -errno (-EFBIG when
 * over max). */
int read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* The same from an open regular file (read from its current offset). */
int read_fd(int fd, size_t max, uint8_t **out, size_t *len);

/* write(2) all of buf, retrying on EINTR and short writes. 0 or -errno. */
int write_all(int fd, const void *buf, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Parses a decimal unsigned integer that must fill the whole string and be
 * <= max. 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);

/* "52:54:00:12:34:56" (six pairs of hex digits, either case) to bytes. 0 or
 * -EINVAL. */
int mac_parse(const char *s, uint8_t mac[6]);
