/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The HTTP API (DESIGN.md §3, docs/api.md): HTTP/1.1 + JSON over a unix
 * socket, served by libmicrohttpd with a thread per connection (streams
 * block in their reader). Every connection's peer is checked: uid 0, or a
 * member (primary or supplementary group) of the socket file's group.
 */
#ifndef FG_API_H
#define FG_API_H

#include <stdbool.h>
#include <sys/types.h>

struct daemon;
struct audit;
struct api;

/* Bodies larger than these are refused (413). */
#define API_MAX_POLICY (256u << 20)
#define API_MAX_JSON (64u << 20)

/*
 * The privileged half: remove a stale socket at `path` (refusing when a
 * daemon answers there), then bind a listening socket at a temporary name
 * beside it, mode 0660, group `flowgate` when that group exists. *tmp gets
 * the temporary name (caller frees), *gid the socket's group;
 * api_socket_publish renames it into place.
 */
int api_socket_create(const char *path, int *fd, char **tmp, gid_t *gid);
int api_socket_publish(const char *tmp, const char *path);

/* Serve on fd; path/gid: the socket (its group decides who may connect). */
int api_start(int fd, const char *path, gid_t gid, struct daemon *d, struct audit *a,
	      struct api **out);
void api_stop(struct api *api);

/* The peer check: root, or in `sock_gid` by primary or supplementary gid. */
bool api_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, gid_t sock_gid);

#endif /* FG_API_H */
