/* state.c: vmmd's files on disk, written so that a crash at any point leaves
 * either the old or the new file, never a torn one: write a temporary file in
 * the same folder, fsync it, rename it over the target, fsync the folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "vmmd/vmdef.h"

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

int state_write_json(const char *dir, const char *file, struct json_object *o)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_close_ int fd = -1;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((r = write_all(fd, s, strlen(s))) < 0 || (r = write_all(fd, "\n", 1)) < 0)
		goto fail;
	if (fchmod(fd, 0640) < 0 || fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	r = close(TAKE_FD(fd));
	if (r < 0) {
		r = -errno;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return fsync_dir(dir);
fail:
	unlink(tmp);
	return r;
}

int state_read_json(const char *dir, const char *file, struct json_object **out)
{
	char path[PATH_MAX];
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	r = read_file(path, 1 << 20, &buf, &len);
	if (r < 0)
		return r;
	*out = json_tokener_parse((char *)buf);
	return *out ? 0 : -EINVAL;
}

int state_remove(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	return fsync_dir(dir);
}

int state_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, mode) < 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
