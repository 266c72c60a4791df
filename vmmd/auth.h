/* auth.h: who may use which control socket (vmmd/README.md, "Security"):
 * the read-write socket serves root, vmmd's own uid and members of the admin
 * group, checked per connection from the peer's credentials; the read-only
 * socket serves everyone within its limits (clients in all and per uid);
 * files named in a definition must be readable by the client that names
 * them. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "vmmd/peer.h"
#include "vmmd/vmdef.h"

struct vmmd;

/* Error codes of refusals (PROTOCOL.md). */
#define VMMD_E_PERMISSION "permission_denied"
#define VMMD_E_IDLE "idle_timeout"

/* Binds and listens on a control socket at path (a stale file removed: the
 * state lock is ours) with mode, and socket_group as its group where that
 * exists. 0 or -errno (logged). */
int auth_listen(struct vmmd *d, const char *path, mode_t mode, int *out);
/* The admin group: socket_group, or else the group of the read-write
 * socket's file (listening fd sock_fd), as it is when vmmd starts; none
 * (root and vmmd's uid only) when neither can be found. */
void auth_init(struct vmmd *d, int sock_fd);
/* Whether a new client may stay. clients: the listener's clients now;
 * uid_clients: those of p->uid (counted on the read-only socket only).
 * NULL, or the error code of a refusal with its message in msg. */
const char *auth_admit(struct vmmd *d, const struct peer *p, bool readonly, unsigned clients,
		       unsigned uid_clients, char *msg, size_t len);
/* Answers a refused connection with one error line and closes fd; logged,
 * at most a line a second (a flood of connections must not flood the log). */
void auth_refuse(int fd, const struct peer *p, bool readonly, const char *code, const char *msg);
/* A definition from a client that is neither root nor vmmd's uid may only
 * name a kernel and initrd that the client could read itself (peer_can_read).
 * 0, or -errno with err naming the field and the file. */
int auth_check_files(const struct peer *p, const struct vmdef *def, struct vmdef_error *err);
/* Records p in def->owner when p is neither root nor vmmd's uid (else
 * clears it): the files are opened with p's credentials at every start. */
void auth_record_owner(const struct peer *p, struct vmdef *def);
/* path opened for reading with def->owner's credentials: an fd, or -errno. */
int auth_open_as_owner(const struct vmdef *def, const char *path);
