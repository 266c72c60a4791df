/* cmdline.c: the command line is "MODE key=value key=value ...", words
 * separated by blanks. Modes look their keys up by name; a mode added later
 * (tx, rx, echo) needs no change here. */
#include "netguest.h"

static char cmdline_buf[CMDLINE_MAX];

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

void cmdline_parse(struct cmdline *c, const char *s)
{
	char *p = cmdline_buf;
	size_t n = 0;

	*c = (struct cmdline){ .mode = "" };
	while (s[n] && n < sizeof(cmdline_buf) - 1)
		n++;
	c->truncated = s[n] != '\0';
	memcpy(cmdline_buf, s, n);
	cmdline_buf[n] = '\0';

	for (;;) {
		char *word, *eq = NULL;

		while (is_blank(*p))
			*p++ = '\0';
		if (!*p)
			break;
		word = p;
		while (*p && !is_blank(*p)) {
			if (*p == '=' && !eq)
				eq = p;
			p++;
		}
		if (*p)
			*p++ = '\0';
		if (!*c->mode) {
			c->mode = word;
			continue;
		}
		if (c->nargs == CMDLINE_MAX_ARGS) {
			c->truncated = true;
			break;
		}
		if (eq)
			*eq = '\0';
		c->args[c->nargs++] = (struct cmdline_arg){ .key = word, .value = eq ? eq + 1 : "" };
	}
}

const char *cmdline_get(struct cmdline *c, const char *key)
{
	const char *v = NULL;

	/* The last occurrence wins, as on Linux; all are marked used. */
	for (unsigned i = 0; i < c->nargs; i++) {
		if (!kstrcmp(c->args[i].key, key)) {
			c->args[i].used = true;
			v = c->args[i].value;
		}
	}
	return v;
}

int cmdline_get_u64(struct cmdline *c, const char *key, uint64_t *out)
{
	const char *v = cmdline_get(c, key);

	if (!v)
		return 0;
	return parse_u64(v, out);
}

const struct cmdline_arg *cmdline_unused(const struct cmdline *c)
{
	for (unsigned i = 0; i < c->nargs; i++) {
		const char *k = c->args[i].key;
		bool dotted = false;

		/* "module.param=..." words are addressed to Linux (QEMU microvm
		 * adds virtio_mmio.device=...): not ours to judge. */
		for (; *k; k++)
			dotted |= *k == '.';
		if (!c->args[i].used && !dotted)
			return &c->args[i];
	}
	return NULL;
}
