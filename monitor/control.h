/* control.h: a monitor's control socket: newline-delimited JSON (see
 * common/jsonl.h and monitor/README.md for the methods). Runs on the I/O
 * thread. The handler turns one parsed request into one reply. */
#pragma once
#include <json-c/json.h>

#include "monitor/ioloop.h"

struct control;
/* Returns the reply (jsonl_result/jsonl_error); after_reply, if set by the
 * handler, runs once the reply was written (e.g. a forced stop). */
typedef struct json_object *(*control_handler_fn)(void *ctx, const char *method,
						   struct json_object *params,
						   struct json_object *req,
						   void (**after_reply)(void *ctx));

/* Listens at path (an existing socket file there is replaced) or, when
 * listen_fd >= 0, on that inherited listening socket. 0 or -errno. */
int control_open(struct control **out, struct ioloop *loop, const char *path, int listen_fd,
		 control_handler_fn fn, void *ctx);
void control_close(struct control *c);
