/* vmctl.h: what vmctl's files share (vmctl/README.md): the connection to
 * vmmd and its protocol (client.c), the read commands' tables (show.c), the
 * console (console.c); the command table and the write commands are
 * vmctl.c's. */
#pragma once
#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#define VMCTL_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3, EXIT_NO_VM = 4 };

extern const char *sock_path;
extern bool json_out;
extern int fd;             /* the connection to vmmd */
extern char *rbuf;         /* its read buffer */
extern bool parse_only;    /* check a command's flags before connecting */
extern volatile sig_atomic_t stop_events; /* SIGINT/SIGTERM while watching */
void on_signal(int sig);

/* --output VALUE: table (the default) or json; EXIT_USAGE after a message. */
int set_output(const char *value);
/* "error: <fmt with arg>" and a pointer to --help on stderr; EXIT_USAGE. */
int die_usage(const char *fmt, const char *arg);
/* Connects to sock_path (the read-only socket beside it when readonly and
 * the admin one is not allowed); 0 or an exit status after a message. */
int connect_daemon(bool readonly);
/* The next message from the daemon, or NULL (connection closed). */
struct json_object *read_msg(void);
/* A request and its reply (NULL when the connection failed). */
struct json_object *call(const char *method, struct json_object *params);
/* Prints the reply's error; its exit status. */
int report_error(struct json_object *reply);
/* call() whose result is in *result (borrowed from *reply, put by the caller). */
int call_result(const char *method, struct json_object *params, struct json_object **reply,
		struct json_object **result);
void print_json(struct json_object *o);
/* daemon.version, refusing a daemon of another protocol; *version its reply. */
int check_version(struct json_object **version);
/* {"name": name} */
struct json_object *name_params(const char *name);

/* "12345" or "-" for a VM summary's pid, in buf. */
const char *pid_str(struct json_object *o, char *buf, size_t len);
int cmd_list(void);
int cmd_info(const char *name, bool status_only);
int cmd_stats(const char *name);
int cmd_stats_watch(const char *name, double interval);
int cmd_switch(const char *sub, const char *name);
int cmd_events(void);
int cmd_console(const char *name);

/* limit.c: set-limit, and "limit tx ..., rx ..." for a NIC's limit object
 * (NULL: none) */
int cmd_set_limit(int argc, char **argv);
void limit_format(struct json_object *limit, char *buf, size_t len);
