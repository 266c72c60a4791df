/* fuzz_jsonl.c: libFuzzer target for the control protocol's framing,
 * common/jsonl.c, as the monitor's and vmmd's servers use it: a client's
 * byte stream cut into lines (jsonl_feed), each line parsed as a request
 * (jsonl_parse_request) and answered (jsonl_result, jsonl_error,
 * jsonl_serialize).
 *
 * Input: a config byte, then the stream. Config byte:
 *   bits 0-3  the stream is fed in chunks of 1..2^k bytes (sizes from a
 *             generator seeded by the whole byte), as reads cut it
 *   bit 4     a long line first: JSONL_LINE_MAX - 8 .. + 7 filler bytes
 *             (the next two input bytes: how many past the start, and the
 *             filler, '\n' read as ' '), so that lines at and over the
 *             limit are tried; all but its last 64 bytes come in the first
 *             chunk
 *   bit 5     the line callback stops the feed at the Nth line (the next
 *             input byte), as a server does when its client is gone
 *
 * Invariants: the lines delivered are those of a plain model of the
 * framing (split at '\n'; a line over JSONL_LINE_MAX gives one NULL; lines
 * that are empty or blank up to their first NUL are skipped; a line is
 * handed over up to its first NUL), in order; a stop returns the callback's
 * value at once. A parsed request is an object with a "method" string,
 * "params" absent or an object and "id" absent, null, an integer or a
 * string; a refusal is an error reply with one of the framing's codes,
 * parse_error exactly when the line is not one JSON text (as json-c reads
 * a whole string) and blanks.
 * Every reply serializes to one line that parses back to the same text. */
#include <json-c/json.h>

#include "common/jsonl.h"
#include "common/util.h"
#include "tests/fuzz/fuzz_json.h"

/* One line the model expects: its start and length up to its first NUL,
 * or NULL for an over-long line. */
struct want {
	const uint8_t *p;
	size_t len;
};

struct feed {
	const uint8_t *stream;
	size_t len;
	/* the model: where the line being read starts, and whether it was
	 * reported as over-long already */
	size_t pos;
	bool reported;
	struct want *want;      /* what the jsonl_feed() in progress must deliver */
	size_t nr_want, next;   /* how many, and how many were delivered */
	unsigned lines;         /* callbacks so far */
	unsigned stop_at;       /* 0: never stop */
};

FZ_NOCOV static size_t newlines(const uint8_t *p, size_t n)
{
	size_t count = 0;

	for (const uint8_t *nl; (nl = memchr(p, '\n', n)); count++) {
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return count;
}

FZ_NOCOV static void expect(struct feed *f, const uint8_t *p, size_t len)
{
	f->want[f->nr_want++] = (struct want){ p, len };
}

/* The lines that the stream up to fed completes, into f->want (room for
 * one per newline fed since the last call, plus one). */
FZ_NOCOV static void model(struct feed *f, size_t fed)
{
	f->nr_want = f->next = 0;
	while (f->pos <= fed) {
		const uint8_t *p = f->stream + f->pos;
		const uint8_t *nl = memchr(p, '\n', fed - f->pos);
		size_t len = nl ? (size_t)(nl - p) : fed - f->pos, cut;

		if (!nl) {
			/* over the limit: reported at once, before its end comes */
			if (len > JSONL_LINE_MAX && !f->reported) {
				expect(f, NULL, 0);
				f->reported = true;
			}
			return;
		}
		cut = strnlen((const char *)p, len);
		if (len > JSONL_LINE_MAX) {
			if (!f->reported)
				expect(f, NULL, 0);
		} else if (cut && strspn((const char *)p, " \t\r") < cut) {
			expect(f, p, cut);
		}
		f->pos += len + 1;
		f->reported = false;
	}
}

FZ_NOCOV static bool is_int_or_string(struct json_object *o)
{
	return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_string);
}

/* A reply serializes to one line that parses back to itself. */
FZ_NOCOV static void check_reply(struct json_object *reply)
{
	size_t len, len2;
	char *s = jsonl_serialize(reply, &len), *s2;
	struct json_object *back;

	FZ_CHECK(s && len > 0 && s[len - 1] == '\n' && strlen(s) == len);
	FZ_CHECK(memchr(s, '\n', len - 1) == NULL);
	s[len - 1] = 0;
	back = json_tokener_parse(s);
	FZ_CHECK(back && json_object_is_type(back, json_type_object));
	s2 = jsonl_serialize(back, &len2);
	FZ_CHECK(s2 && len2 == len && !memcmp(s, s2, len - 1));
	free(s2);
	free(s);
	json_object_put(back);
}

FZ_NOCOV static void check_error(struct json_object *reply)
{
	struct json_object *e, *code, *msg, *id;
	const char *c;

	FZ_CHECK(reply && json_object_is_type(reply, json_type_object));
	FZ_CHECK(json_object_object_get_ex(reply, "id", &id) && (!id || is_int_or_string(id)));
	FZ_CHECK(json_object_object_get_ex(reply, "error", &e));
	FZ_CHECK(json_object_object_get_ex(e, "code", &code) &&
		 json_object_is_type(code, json_type_string));
	FZ_CHECK(json_object_object_get_ex(e, "message", &msg) &&
		 json_object_is_type(msg, json_type_string));
	c = json_object_get_string(code);
	FZ_CHECK(!strcmp(c, JSONL_E_PARSE) || !strcmp(c, JSONL_E_INVALID) ||
		 !strcmp(c, JSONL_E_INTERNAL));
}

FZ_NOCOV static bool is_parse_error(struct json_object *reply)
{
	struct json_object *e, *code;

	return json_object_object_get_ex(reply, "error", &e) &&
	       json_object_object_get_ex(e, "code", &code) &&
	       !strcmp(json_object_get_string(code), JSONL_E_PARSE);
}

static void request(const char *line)
{
	struct json_object *req, *params, *reply, *m, *id, *p;
	const char *method;

	if (jsonl_parse_request(line, &req, &method, &params, &reply) < 0) {
		FZ_CHECK(!req && !params);
		check_error(reply);
		FZ_CHECK(is_parse_error(reply) == !fz_one_json_text(line, " \t\r"));
		check_reply(reply);
		json_object_put(reply);
		return;
	}
	FZ_CHECK(req && !reply && json_object_is_type(req, json_type_object));
	FZ_CHECK(json_object_object_get_ex(req, "method", &m) &&
		 json_object_is_type(m, json_type_string) && json_object_get_string(m) == method);
	FZ_CHECK(!json_object_object_get_ex(req, "id", &id) || !id || is_int_or_string(id));
	if (json_object_object_get_ex(req, "params", &p) && p)
		FZ_CHECK(params == p && json_object_is_type(p, json_type_object));
	else
		FZ_CHECK(!params);
	/* the replies a server builds from what the client sent */
	reply = jsonl_result(req, params ? json_object_get(params) : NULL);
	check_reply(reply);
	json_object_put(reply);
	reply = jsonl_error(req, JSONL_E_METHOD, "unknown method '%.80s'", method);
	check_reply(reply);
	json_object_put(reply);
	json_object_put(req);
}

static int on_line(void *ctx, char *line)
{
	struct feed *f = ctx;
	const struct want *w;

	/* the model's next line, the same */
	FZ_CHECK(f->next < f->nr_want);
	w = &f->want[f->next++];
	FZ_CHECK(!line == !w->p);
	if (line)
		FZ_CHECK(strlen(line) == w->len && !memcmp(line, w->p, w->len));
	f->lines++;
	if (line)
		request(line);
	return f->stop_at && f->lines == f->stop_at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	uint8_t cfg = fz_u8(&in);
	struct jsonl_buf b = { 0 };
	struct feed f = { 0 };
	uint8_t *stream;
	uint32_t rng = cfg * 2654435761u + 1;
	size_t fed = 0, pre = 0;

	fz_quiet_logging(LOG_P_ERR - 1);
	if (cfg & 0x10) {
		uint8_t filler;

		pre = JSONL_LINE_MAX - 8 + fz_u8(&in) % 16;
		filler = fz_u8(&in);
		stream = malloc(pre + in.n);
		FZ_CHECK(stream);
		/* one line: 256 Ki empty lines would only slow the fuzzing down */
		memset(stream, filler == '\n' ? ' ' : filler, pre);
	} else {
		stream = malloc(in.n + 1);
		FZ_CHECK(stream);
	}
	if (cfg & 0x20)
		f.stop_at = fz_u8(&in);
	memcpy(stream + pre, in.p, in.n);
	f.stream = stream;
	f.len = pre + in.n;

	while (fed < f.len) {
		size_t chunk = 1 + rng % (1u << (cfg & 15));
		int r;

		/* most of a long line in one read: the chunks cut near its end */
		if (fed == 0 && pre > 64)
			chunk = pre - 64;

		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		chunk = MIN(chunk, f.len - fed);
		f.want = malloc((newlines(stream + fed, chunk) + 1) * sizeof(*f.want));
		FZ_CHECK(f.want);
		model(&f, fed + chunk);
		r = jsonl_feed(&b, (const char *)stream + fed, chunk, on_line, &f);
		fed += chunk;
		if (r) {
			/* a stop ends the feed at once */
			FZ_CHECK(r == 1 && f.stop_at && f.lines == f.stop_at);
			free(f.want);
			break;
		}
		FZ_CHECK(f.next == f.nr_want);
		free(f.want);
	}
	jsonl_buf_free(&b);
	free(stream);
	return 0;
}
