/* log.c: see log.h. One write(2) per message so that lines from several
 * threads never interleave. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_ident = "vmm";
static int log_max_level = LOG_P_INFO;

void log_set_ident(const char *ident) { log_ident = ident; }
void log_set_max_level(int level) { log_max_level = level; }
int log_get_max_level(void) { return log_max_level; }

static void log_vwrite(int prio, const char *suffix, const char *fmt, va_list ap)
{
	char buf[1024];
	int n, m;

	if (prio > log_max_level)
		return;
	n = snprintf(buf, sizeof(buf), "<%d>%s: ", prio, log_ident);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	m = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	if (suffix) {
		m = snprintf(buf + n, sizeof(buf) - n, ": %s", suffix);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(buf) - 1)
			n = sizeof(buf) - 2;
	}
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, n);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(prio, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

int log_errno_msg(int prio, int r, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_vwrite(prio, strerror(r < 0 ? -r : r), fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}
