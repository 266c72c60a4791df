/* log.h: stderr logging with syslog priority prefixes (<3> err ... <7> debug)
 * so that journald keeps the level. Library code returns -errno and lets the
 * caller with context log once: log_errno(r, "vm %s: kernel %s", vm, path). */
#pragma once
#include <stdarg.h>

enum { LOG_P_ERR = 3, LOG_P_WARNING = 4, LOG_P_NOTICE = 5, LOG_P_INFO = 6, LOG_P_DEBUG = 7 };

/* Program name printed before each message ("vmm-monitor: ..."). */
void log_set_ident(const char *ident);
/* Messages above this priority are dropped (default LOG_P_INFO). */
void log_set_max_level(int level);
int log_get_max_level(void);

void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs "fmt: strerror(-r)" and returns r, so: return log_errno(r, "..."). */
int log_errno_msg(int prio, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_err(...) log_msg(LOG_P_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_P_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_P_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_P_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_P_DEBUG, __VA_ARGS__)
#define log_errno(r, ...) log_errno_msg(LOG_P_ERR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_errno_msg(LOG_P_WARNING, (r), __VA_ARGS__)
