/*
 * Output, isolated from the commands so it can be tested without a
 * terminal or Redis: the trace as JSON (DESIGN §5 shape), CSV (RFC 4180, a
 * header row, opens in a spreadsheet) or a table for people, in English or
 * Vietnamese.  Times are unix ms in JSON/CSV and local time in the table.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "outbuf.h"
#include "sites.h"

static const struct {
	const char *en, *vi;
} words[] = {
	{ "Subject", "Đối tượng" },
	{ "Window", "Khoảng thời gian" },
	{ "Visits", "Lịch sử di chuyển" },
	{ "Site", "Địa điểm" },
	{ "Time", "Thời gian" },
	{ "From", "Từ" },
	{ "To", "Đến" },
	{ "Contacts", "Tiếp xúc" },
	{ "Degree", "Mức độ" },
	{ "Overlap", "Trùng lặp" },
	{ "First contact", "Tiếp xúc đầu" },
	{ "Via", "Qua" },
	{ "Identity", "Danh tính" },
	{ "no visits in the window", "không có lượt quét nào trong khoảng thời gian" },
	{ "more rows: use --limit or --json", "còn nữa: dùng --limit hoặc --json" },
	{ "lookup took", "tra cứu mất" },
	{ "Redis calls", "lệnh Redis" },
	{ "Direction", "Hướng" },
	{ "Present", "Có mặt" },
	{ "Status", "Trạng thái" },
	{ "Until", "Đến hết" },
	{ "Set", "Đặt lúc" },
	{ "Note", "Ghi chú" },
	{ "expired", "hết hạn" },
	{ "Commune", "Xã/phường" },
	{ "Level", "Cấp độ" },
	{ "Reasons", "Lý do" },
	{ "Device", "Thiết bị" },
	{ "Origin", "Nơi đi" },
	{ "Route", "Lộ trình" },
	{ "Passengers", "Số người" },
	{ "Plate", "Biển số" },
	{ "Scheme", "Loại" },
	{ "Alert", "Cảnh báo" },
};

const char *
ctl_tr(const struct ctl_app *app, const char *en)
{
	if (app->lang == LANG_VI)
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strcmp(words[i].en, en) == 0)
				return words[i].vi;
	return en;
}

/* Print s left-aligned in `width` columns.  printf's %-Ns pads by bytes, which
 * misaligns UTF-8 headers (Vietnamese "Trùng lặp" is 9 letters, 12 bytes);
 * every letter chot prints is one column wide, so count code points. */
void
ctl_pad(FILE *f, const char *s, int width)
{
	int cols = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		cols += (*p & 0xc0) != 0x80;
	fputs(s, f);
	for (; cols < width; cols++)
		fputc(' ', f);
}

void
ctl_pad_clip(FILE *f, const char *s, int width)
{
	const unsigned char *p = (const unsigned char *)s, *cut = p;
	int cols = 0;

	for (; *p; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		if (cols == width - 2)
			cut = p;
		cols++;
	}
	if (cols < width || width < 2) {
		ctl_pad(f, s, width);
		return;
	}
	/* width - 2 letters, the mark, and the column's last space */
	fwrite(s, 1, (size_t)(cut - (const unsigned char *)s), f);
	fputs("\u2026 ", f);
}

void
ctl_format_time(char *out, size_t len, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

void
ctl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void
ctl_csv_str(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static const char *
site_name(const struct ctl_app *app, uint32_t id, char *buf, size_t len)
{
	const struct ctl_site *s = ctl_site_find(app, id);

	if (s != NULL && s->name[0] != '\0')
		snprintf(buf, len, "%u %s", id, s->name);
	else
		snprintf(buf, len, "%u", id);
	return buf;
}

/* JSON and CSV go through an outbuf: they print every contact (700,000 for
 * a depth-2 trace at 1M citizens), and fprintf per field cost more than the
 * trace.  The bytes are the same as the fprintf formats in the comments. */
static void
trace_json(struct ctl_app *app, const struct ctl_trace_view *v)
{
	struct ctl_outbuf b;
	size_t n = v->r->n_contacts < v->limit ? v->r->n_contacts : v->limit;

	ctl_outbuf_init(&b, app->o);
	/* {"subject": {"pid": "%s"[, "id": ...]},\n "window": {"from_ms": %llu, "to_ms": %llu},\n */
	ctl_outbuf_lit(&b, "{\"subject\": {\"pid\": \"");
	ctl_outbuf_pid_hex(&b, v->pid);
	ctl_outbuf_lit(&b, "\"");
	if (v->id != NULL) {
		ctl_outbuf_lit(&b, ", \"id\": ");
		ctl_outbuf_json_str(&b, v->id);
	}
	ctl_outbuf_lit(&b, "},\n \"window\": {\"from_ms\": ");
	ctl_outbuf_u64(&b, v->from_ms);
	ctl_outbuf_lit(&b, ", \"to_ms\": ");
	ctl_outbuf_u64(&b, v->to_ms);
	ctl_outbuf_lit(&b, "},\n \"visits\": [");
	for (size_t i = 0; i < v->r->n_visits; i++) {
		const struct rules_interval *iv = &v->r->visits[i];

		/* %s{"site": %u, "from_ms": %llu, "to_ms": %llu} */
		if (i)
			ctl_outbuf_lit(&b, ", ");
		ctl_outbuf_lit(&b, "{\"site\": ");
		ctl_outbuf_u32(&b, iv->site_id);
		ctl_outbuf_lit(&b, ", \"from_ms\": ");
		ctl_outbuf_u64(&b, iv->from_ms);
		ctl_outbuf_lit(&b, ", \"to_ms\": ");
		ctl_outbuf_u64(&b, iv->to_ms);
		ctl_outbuf_lit(&b, "}");
	}
	ctl_outbuf_lit(&b, "],\n \"contacts\": [");
	for (size_t i = 0; i < n; i++) {
		const struct tr_contact *c = &v->r->contacts[i];

		/* %s\n  {"pid": "%s"[, "id": ...], "degree": %d, "site": %u,
		 * "overlap_ms": %llu, "first_ms": %llu[, "via": "%s"]} */
		if (i)
			ctl_outbuf_lit(&b, ",");
		ctl_outbuf_lit(&b, "\n  {\"pid\": \"");
		ctl_outbuf_pid_hex(&b, c->pid);
		ctl_outbuf_lit(&b, "\"");
		if (v->ids != NULL) {
			ctl_outbuf_lit(&b, ", \"id\": ");
			ctl_outbuf_json_str(&b, v->ids[i]);
		}
		ctl_outbuf_lit(&b, ", \"degree\": ");
		ctl_outbuf_int(&b, c->degree);
		ctl_outbuf_lit(&b, ", \"site\": ");
		ctl_outbuf_u32(&b, c->site_id);
		ctl_outbuf_lit(&b, ", \"overlap_ms\": ");
		ctl_outbuf_u64(&b, c->overlap_ms);
		ctl_outbuf_lit(&b, ", \"first_ms\": ");
		ctl_outbuf_u64(&b, c->first_ms);
		if (c->degree == 2) {
			ctl_outbuf_lit(&b, ", \"via\": \"");
			ctl_outbuf_pid_hex(&b, c->via);
			ctl_outbuf_lit(&b, "\"");
		}
		ctl_outbuf_lit(&b, "}");
	}
	/* The stats line straight to the FILE (%.3f is printf's), after the rest. */
	ctl_outbuf_flush(&b);
	fprintf(app->o, "%s],\n \"stats\": {\"elapsed_ms\": %.3f, \"redis_calls\": %llu, "
		"\"dup_records\": %llu}}\n", n ? "\n " : "", v->elapsed_ms,
		(unsigned long long)v->redis_calls, (unsigned long long)v->dup_records);
}

static void
trace_csv(struct ctl_app *app, const struct ctl_trace_view *v)
{
	struct ctl_outbuf b;
	size_t n = v->r->n_contacts < v->limit ? v->r->n_contacts : v->limit;

	ctl_outbuf_init(&b, app->o);
	ctl_outbuf_lit(&b, "pid,id,degree,site,overlap_ms,first_ms,via\r\n");
	for (size_t i = 0; i < n; i++) {
		const struct tr_contact *c = &v->r->contacts[i];

		/* %s,<id>,%d,%u,%llu,%llu,[via]\r\n */
		ctl_outbuf_pid_hex(&b, c->pid);
		ctl_outbuf_lit(&b, ",");
		if (v->ids != NULL)
			ctl_outbuf_csv_str(&b, v->ids[i]);
		ctl_outbuf_lit(&b, ",");
		ctl_outbuf_int(&b, c->degree);
		ctl_outbuf_lit(&b, ",");
		ctl_outbuf_u32(&b, c->site_id);
		ctl_outbuf_lit(&b, ",");
		ctl_outbuf_u64(&b, c->overlap_ms);
		ctl_outbuf_lit(&b, ",");
		ctl_outbuf_u64(&b, c->first_ms);
		ctl_outbuf_lit(&b, ",");
		if (c->degree == 2)
			ctl_outbuf_pid_hex(&b, c->via);
		ctl_outbuf_lit(&b, "\r\n");
	}
	ctl_outbuf_flush(&b);
}

static void
trace_table(struct ctl_app *app, const struct ctl_trace_view *v)
{
	FILE *f = app->o;
	char hex[PID_HEX_LEN + 1], t1[32], t2[32], name[160];
	size_t n = v->r->n_contacts < v->limit ? v->r->n_contacts : v->limit;
	unsigned f1 = 0, f2 = 0;

	for (size_t i = 0; i < v->r->n_contacts; i++)
		v->r->contacts[i].degree == 1 ? f1++ : f2++;
	chot_pid_hex(hex, v->pid);
	ctl_format_time(t1, sizeof(t1), v->from_ms);
	ctl_format_time(t2, sizeof(t2), v->to_ms);
	fprintf(f, "%s: %s%s%s%s\n%s: %s .. %s\n\n", ctl_tr(app, "Subject"), hex,
		v->id ? " (" : "", v->id ? v->id : "", v->id ? ")" : "", ctl_tr(app, "Window"),
		t1, t2);
	fprintf(f, "%s (%zu)\n", ctl_tr(app, "Visits"), v->r->n_visits);
	if (v->r->n_visits == 0)
		fprintf(f, "  %s\n", ctl_tr(app, "no visits in the window"));
	for (size_t i = 0; i < v->r->n_visits; i++) {
		const struct rules_interval *iv = &v->r->visits[i];

		ctl_format_time(t1, sizeof(t1), iv->from_ms);
		ctl_format_time(t2, sizeof(t2), iv->to_ms);
		fprintf(f, "  %s .. %s  %s\n", t1, t2 + 11,
			site_name(app, iv->site_id, name, sizeof(name)));
	}
	fprintf(f, "\n%s: F1 %u, F2 %u\n", ctl_tr(app, "Contacts"), f1, f2);
	fprintf(f, "  %-4s %-32s ", "F", "pid");
	ctl_pad(f, ctl_tr(app, "Overlap"), 9);
	fputc(' ', f);
	ctl_pad(f, ctl_tr(app, "First contact"), 16);
	fprintf(f, " %s\n", ctl_tr(app, "Site"));
	for (size_t i = 0; i < n; i++) {
		const struct tr_contact *c = &v->r->contacts[i];

		chot_pid_hex(hex, c->pid);
		ctl_format_time(t1, sizeof(t1), c->first_ms);
		fprintf(f, "  F%-3d %-32s %5llu min %-16s %s", c->degree, hex,
			(unsigned long long)(c->overlap_ms / 60000), t1,
			site_name(app, c->site_id, name, sizeof(name)));
		if (v->ids != NULL && v->ids[i][0] != '\0')
			fprintf(f, "  [%s]", v->ids[i]);
		fputc('\n', f);
	}
	if (n < v->r->n_contacts)
		fprintf(f, "  ... %zu %s\n", v->r->n_contacts - n,
			ctl_tr(app, "more rows: use --limit or --json"));
	fprintf(f, "\n%s %.1f ms, %llu %s\n", ctl_tr(app, "lookup took"), v->elapsed_ms,
		(unsigned long long)v->redis_calls, ctl_tr(app, "Redis calls"));
}

void
ctl_format_trace(struct ctl_app *app, const struct ctl_trace_view *v)
{
	switch (app->out) {
	case OUT_JSON: trace_json(app, v); break;
	case OUT_CSV: trace_csv(app, v); break;
	default: trace_table(app, v); break;
	}
}
