/* The wire-format decode of Track/TrackStream requests into Arrow column buffers.
 *
 * server/fast_decode.py calls decode() on a serialized request. One pass over the bytes, with
 * the GIL released, finds each event's fields, checks UTF-8 and that each User/Payload text is
 * a JSON object; a second pass copies the values into one Arrow string column per field.
 *
 * Whatever this decoder does not prove it reads exactly as the protobuf parse would (a field
 * given twice, an unknown field, a Struct, an unusual Timestamp, JSON that the strict checker
 * below is not sure about) makes decode() return None: the caller then takes the ordinary
 * parse, which stores or refuses the request as it always did. So this file may be
 * conservative, never lenient.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>

#define FIELD_COUNT 17 /* TrackEvent field numbers 1..16 */
#define F_TRACK_ID 1
#define F_SCOPE 5
#define F_USER_STRUCT 10
#define F_USER_JSON 11
#define F_PAYLOAD_STRUCT 12
#define F_PAYLOAD_JSON 13
#define F_EVENT_TIME 16
#define JSON_MAX_DEPTH 200
#define TRACK_ID_MAX_CHARS 200
#define SECONDS_LIMIT 9000000000000LL
#define UUID_CHARS 36

/* The string columns, in the table's column order (Scope and EventTime come separately). */
static const int COLUMN_FIELDS[] = {1, 2, 3, 4, 6, 7, 8, 9, 11, 13, 14, 15};
#define COLUMN_COUNT ((int)(sizeof(COLUMN_FIELDS) / sizeof(COLUMN_FIELDS[0])))

typedef struct {
    uint32_t offset; /* from the start of the request; 0 length + absent = not given */
    uint32_t length;
    uint8_t present;
    uint8_t is_null; /* a JSON text "null": given, stored as null */
    uint8_t converted; /* a Struct: offset and length are in Scan.converted's text */
} Slot;

/* ---- varints ---------------------------------------------------------------------------- */

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return 0;
        uint8_t byte = *(*p)++;
        if (shift == 63 && byte > 1) return 0;
        value |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80) {
            *out = value;
            return 1;
        }
    }
    return 0;
}

/* A length-delimited field at *p: its tag's field number, and its value's bounds. */
static int read_delimited(const uint8_t **p, const uint8_t *end, uint32_t *field,
                          const uint8_t **value, uint64_t *length) {
    uint64_t tag;
    if (!read_varint(p, end, &tag) || tag > UINT32_MAX || (tag & 7) != 2) return 0;
    *field = (uint32_t)(tag >> 3);
    if (!read_varint(p, end, length) || *length > (uint64_t)(end - *p)) return 0;
    *value = *p;
    *p += *length;
    return 1;
}

/* ---- UTF-8 (strict: no overlongs, no surrogates, at most U+10FFFF) ----------------------- */

static int valid_utf8(const uint8_t *s, size_t n, size_t *chars) {
    size_t i = 0, count = 0;
    while (i < n) {
        /* Eight ASCII bytes at a time: the common case. */
        if (i + 8 <= n) {
            uint64_t word;
            memcpy(&word, s + i, 8);
            if (!(word & 0x8080808080808080ULL)) {
                i += 8;
                count += 8;
                continue;
            }
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80) return 0;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            if (i + 2 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80) return 0;
            if (c == 0xE0 && s[i + 1] < 0xA0) return 0;  /* overlong */
            if (c == 0xED && s[i + 1] >= 0xA0) return 0; /* surrogate */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            if (i + 3 >= n || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return 0;
            if (c == 0xF0 && s[i + 1] < 0x90) return 0;  /* overlong */
            if (c == 0xF4 && s[i + 1] >= 0x90) return 0; /* above U+10FFFF */
            i += 4;
        } else {
            return 0;
        }
        count++;
    }
    if (chars) *chars = count;
    return 1;
}

/* ---- JSON: RFC 8259, and only what orjson surely reads the same way ----------------------- */

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Json;

static void json_space(Json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int hex_digit(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int json_string(Json *j) {
    j->p++; /* the opening quote */
    while (j->p < j->end) {
        uint8_t c = *j->p++;
        if (c == '"') return 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (j->p >= j->end) return 0;
            c = *j->p++;
            if (c == 'u') {
                if (j->end - j->p < 4) return 0;
                for (int k = 0; k < 4; k++)
                    if (!hex_digit(j->p[k])) return 0;
                /* A surrogate pair is one character; a lone surrogate is left to orjson. */
                uint8_t high = j->p[0] | 0x20, next = j->p[1] | 0x20;
                if (high == 'd' && next >= '8') {
                    int leading = next == '8' || next == '9' || next == 'a' || next == 'b';
                    const uint8_t *low = j->p + 4;
                    if (!leading || j->end - low < 6 || low[0] != '\\' || low[1] != 'u' ||
                        (low[2] | 0x20) != 'd' || !hex_digit(low[4]) || !hex_digit(low[5]))
                        return 0;
                    uint8_t trailing = low[3] | 0x20;
                    if (trailing < 'c' || trailing > 'f') return 0;
                    j->p += 6;
                }
                j->p += 4;
            } else if (c == 0 || !strchr("\"\\/bfnrt", c)) {
                return 0;
            }
        }
    }
    return 0;
}

static int digits(Json *j) {
    const uint8_t *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return (int)(j->p - start);
}

/* A number's grammar (RFC 8259); what it holds goes to the caller. */
static int json_number_shape(Json *j, int *integer_digits, int *exponent_digits,
                             int *exponent_magnitude, int *exact_integer) {
    if (*j->p == '-') j->p++;
    if (j->p >= j->end) return 0;
    if (*j->p == '0') {
        j->p++;
        *integer_digits = 1;
    } else {
        *integer_digits = digits(j);
        if (!*integer_digits) return 0;
    }
    *exact_integer = 1;
    *exponent_digits = *exponent_magnitude = 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!digits(j)) return 0;
        *exact_integer = 0;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        const uint8_t *exponent = j->p;
        *exponent_digits = digits(j);
        if (!*exponent_digits) return 0;
        for (; exponent < j->p && *exponent_magnitude < 100000; exponent++)
            *exponent_magnitude = *exponent_magnitude * 10 + (*exponent - '0');
        *exact_integer = 0;
    }
    return 1;
}

/* Only numbers every parser reads alike: no integers beyond 64 bits, no exponents that
 * overflow or underflow a double. */
static int json_number(Json *j) {
    int integer_digits, exponent_digits, magnitude, exact_integer;
    if (!json_number_shape(j, &integer_digits, &exponent_digits, &magnitude, &exact_integer))
        return 0;
    if (exponent_digits > 3 || magnitude > 300) return 0;
    if (exact_integer && integer_digits > 18) return 0;
    if (!exact_integer && integer_digits > 20) return 0;
    return 1;
}

static int json_literal(Json *j, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return 0;
    j->p += n;
    return 1;
}

static int json_value(Json *j, int depth);

static int json_container(Json *j, int depth, uint8_t close, int is_object) {
    if (depth > JSON_MAX_DEPTH) return 0;
    j->p++;
    json_space(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 1;
    }
    for (;;) {
        if (is_object) {
            if (j->p >= j->end || *j->p != '"' || !json_string(j)) return 0;
            json_space(j);
            if (j->p >= j->end || *j->p != ':') return 0;
            j->p++;
            json_space(j);
        }
        if (!json_value(j, depth + 1)) return 0;
        json_space(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') {
            j->p++;
            json_space(j);
            continue;
        }
        if (*j->p == close) {
            j->p++;
            return 1;
        }
        return 0;
    }
}

static int json_value(Json *j, int depth) {
    if (j->p >= j->end) return 0;
    switch (*j->p) {
    case '{': return json_container(j, depth, '}', 1);
    case '[': return json_container(j, depth, ']', 0);
    case '"': return json_string(j);
    case 't': return json_literal(j, "true");
    case 'f': return json_literal(j, "false");
    case 'n': return json_literal(j, "null");
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return json_number(j);
        return 0;
    }
}

/* 1: a JSON object; 2: the text null; 0: anything else (or not surely either). */
static int json_object_or_null(const uint8_t *s, size_t n) {
    Json j = {s, s + n};
    json_space(&j);
    if (j.p >= j.end) return 0;
    int kind;
    if (*j.p == '{') {
        if (!json_container(&j, 1, '}', 1)) return 0;
        kind = 1;
    } else if (json_literal(&j, "null")) {
        kind = 2;
    } else {
        return 0;
    }
    json_space(&j);
    return j.p == j.end ? kind : 0;
}

/* ---- google.protobuf.Struct -> JSON text --------------------------------------------------- */

/* The text is what event_batch.struct_to_json has always meant, written the same way by both
 * paths (the ordinary one calls struct_json on the parsed Struct's bytes): keys sorted by code
 * point, a key given twice takes its last value (as the protobuf parse does), numbers that are
 * integers below 2^53 without a fraction, other numbers in their shortest round-trip form,
 * NaN and infinities as null (JSON has neither). */

typedef struct {
    char *data;
    size_t length, capacity;
} Out;

static int out_reserve(Out *o, size_t extra) {
    if (o->length + extra <= o->capacity) return 1;
    size_t capacity = o->capacity ? o->capacity : 4096;
    while (capacity < o->length + extra) capacity *= 2;
    char *data = realloc(o->data, capacity);
    if (!data) return 0;
    o->data = data;
    o->capacity = capacity;
    return 1;
}

static int out_put(Out *o, const void *s, size_t n) {
    if (!out_reserve(o, n)) return 0;
    memcpy(o->data + o->length, s, n);
    o->length += n;
    return 1;
}

static int out_quoted(Out *o, const uint8_t *s, size_t n) {
    if (!valid_utf8(s, n, NULL) || !out_reserve(o, n * 6 + 2)) return 0;
    char *w = o->data + o->length;
    *w++ = '"';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else if (c >= 0x20) {
            *w++ = (char)c;
        } else if (c == '\n') {
            *w++ = '\\', *w++ = 'n';
        } else if (c == '\r') {
            *w++ = '\\', *w++ = 'r';
        } else if (c == '\t') {
            *w++ = '\\', *w++ = 't';
        } else if (c == '\b') {
            *w++ = '\\', *w++ = 'b';
        } else if (c == '\f') {
            *w++ = '\\', *w++ = 'f';
        } else {
            w += sprintf(w, "\\u%04x", c);
        }
    }
    *w++ = '"';
    o->length = (size_t)(w - o->data);
    return 1;
}

static int out_number(Out *o, double x) {
    char text[40];
    int n;
    if (x != x || x - x != 0) {
        n = sprintf(text, "null");
    } else if (x < 9007199254740992.0 && x > -9007199254740992.0 && x == (double)(long long)x) {
        n = sprintf(text, "%lld", (long long)x);
    } else {
        n = 0;
        /* %g drops trailing zeros, so when 15 digits round-trip this is the shortest form. */
        for (int precision = 15; precision <= 17; precision++) {
            n = snprintf(text, sizeof(text), "%.*g", precision, x);
            if (strtod(text, NULL) == x) break;
        }
        /* "1e+20" -> "1e20", "1e-07" -> "1e-7" */
        char *e = strchr(text, 'e');
        if (e) {
            char *digits = e + 1, *w = e + 1;
            if (*digits == '+') digits++;
            else if (*digits == '-') *w++ = *digits++;
            while (*digits == '0' && digits[1]) digits++;
            memmove(w, digits, strlen(digits) + 1);
            n = (int)strlen(text);
        }
    }
    return out_put(o, text, (size_t)n);
}

/* One field of a message: its number, wire type and value (varint, fixed64 or bytes). */
typedef struct {
    uint32_t number;
    int wire_type;
    uint64_t scalar;
    const uint8_t *bytes;
    uint64_t length;
} Field;

static int read_field(const uint8_t **p, const uint8_t *end, Field *f) {
    uint64_t tag;
    if (!read_varint(p, end, &tag) || tag > UINT32_MAX) return 0;
    f->number = (uint32_t)(tag >> 3);
    f->wire_type = (int)(tag & 7);
    if (f->wire_type == 0) return read_varint(p, end, &f->scalar);
    if (f->wire_type == 1) {
        if (end - *p < 8) return 0;
        memcpy(&f->scalar, *p, 8); /* little-endian, as this machine */
        *p += 8;
        return 1;
    }
    if (f->wire_type == 2) {
        if (!read_varint(p, end, &f->length) || f->length > (uint64_t)(end - *p)) return 0;
        f->bytes = *p;
        *p += f->length;
        return 1;
    }
    return 0;
}

static int struct_json(const uint8_t *p, const uint8_t *end, Out *o, int depth);

static int list_json(const uint8_t *p, const uint8_t *end, Out *o, int depth);

/* google.protobuf.Value: at most one of its fields (a Value with none is null). */
static int value_json(const uint8_t *p, const uint8_t *end, Out *o, int depth) {
    if (depth > JSON_MAX_DEPTH) return 0;
    if (p == end) return out_put(o, "null", 4);
    Field f;
    if (!read_field(&p, end, &f) || p != end) return 0;
    switch (f.number) {
    case 1: return f.wire_type == 0 && out_put(o, "null", 4);
    case 2: {
        double x;
        memcpy(&x, &f.scalar, 8);
        return f.wire_type == 1 && out_number(o, x);
    }
    case 3: return f.wire_type == 2 && out_quoted(o, f.bytes, f.length);
    case 4: return f.wire_type == 0 && (f.scalar ? out_put(o, "true", 4) : out_put(o, "false", 5));
    case 5: return f.wire_type == 2 && struct_json(f.bytes, f.bytes + f.length, o, depth + 1);
    case 6: return f.wire_type == 2 && list_json(f.bytes, f.bytes + f.length, o, depth + 1);
    default: return 0;
    }
}

static int list_json(const uint8_t *p, const uint8_t *end, Out *o, int depth) {
    if (!out_put(o, "[", 1)) return 0;
    int first = 1;
    while (p < end) {
        Field f;
        if (!read_field(&p, end, &f) || f.number != 1 || f.wire_type != 2) return 0;
        if (!first && !out_put(o, ",", 1)) return 0;
        if (!value_json(f.bytes, f.bytes + f.length, o, depth)) return 0;
        first = 0;
    }
    return out_put(o, "]", 1);
}

typedef struct {
    const uint8_t *key, *value;
    uint64_t key_length, value_length;
    size_t order;
} Entry;

static int entry_order(const void *a, const void *b) {
    const Entry *x = a, *y = b;
    size_t n = x->key_length < y->key_length ? x->key_length : y->key_length;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->key_length != y->key_length) return x->key_length < y->key_length ? -1 : 1;
    return x->order < y->order ? -1 : 1;
}

static int struct_json(const uint8_t *p, const uint8_t *end, Out *o, int depth) {
    if (depth > JSON_MAX_DEPTH) return 0;
    Entry local[32], *entries = local;
    size_t count = 0, capacity = 32;
    int ok = 0;
    while (p < end) {
        Field f;
        if (!read_field(&p, end, &f) || f.number != 1 || f.wire_type != 2) goto done;
        if (count == capacity) {
            Entry *grown = malloc(sizeof(Entry) * capacity * 2);
            if (!grown) goto done;
            memcpy(grown, entries, sizeof(Entry) * count);
            if (entries != local) free(entries);
            entries = grown;
            capacity *= 2;
        }
        Entry *entry = &entries[count];
        entry->key = entry->value = (const uint8_t *)"";
        entry->key_length = entry->value_length = 0;
        entry->order = count;
        const uint8_t *q = f.bytes, *entry_end = f.bytes + f.length;
        int seen = 0;
        while (q < entry_end) {
            Field g;
            if (!read_field(&q, entry_end, &g) || g.wire_type != 2 || g.number < 1 ||
                g.number > 2 || (seen & (1 << g.number)))
                goto done;
            seen |= 1 << g.number;
            if (g.number == 1) {
                entry->key = g.bytes;
                entry->key_length = g.length;
            } else {
                entry->value = g.bytes;
                entry->value_length = g.length;
            }
        }
        count++;
    }
    /* Code point order is UTF-8 byte order; among equal keys the last one given wins. */
    qsort(entries, count, sizeof(Entry), entry_order);
    if (!out_put(o, "{", 1)) goto done;
    int first = 1;
    for (size_t i = 0; i < count; i++) {
        const Entry *e = &entries[i];
        if (i + 1 < count && e->key_length == entries[i + 1].key_length &&
            !memcmp(e->key, entries[i + 1].key, e->key_length))
            continue;
        if (!first && !out_put(o, ",", 1)) goto done;
        if (!out_quoted(o, e->key, e->key_length) || !out_put(o, ":", 1) ||
            !value_json(e->value, e->value + e->value_length, o, depth))
            goto done;
        first = 0;
    }
    ok = out_put(o, "}", 1);
done:
    if (entries != local) free(entries);
    return ok;
}

/* ---- Timestamp --------------------------------------------------------------------------- */

/* google.protobuf.Timestamp {int64 seconds = 1; int32 nanos = 2}, each at most once, in order. */
static int timestamp_micros(const uint8_t *p, const uint8_t *end, int64_t *micros) {
    int64_t seconds = 0;
    int32_t nanos = 0;
    int last_field = 0;
    while (p < end) {
        uint64_t tag, value;
        if (!read_varint(&p, end, &tag) || !read_varint(&p, end, &value)) return 0;
        if (tag == 0x08 && last_field < 1) {
            seconds = (int64_t)value;
            last_field = 1;
        } else if (tag == 0x10 && last_field < 2) {
            nanos = (int32_t)(uint32_t)value; /* an int32 keeps the low 32 bits */
            last_field = 2;
        } else {
            return 0;
        }
    }
    if (seconds > SECONDS_LIMIT || seconds < -SECONDS_LIMIT) return 0;
    /* Python's floor division, as the ordinary path computes it. */
    int64_t whole = nanos / 1000;
    if (nanos % 1000 != 0 && nanos < 0) whole--;
    *micros = seconds * 1000000 + whole;
    return 1;
}

/* ---- UUIDv7 ------------------------------------------------------------------------------ */

static const char HEX[] = "0123456789abcdef";

/* count UUIDv7 strings, 36 characters each, written one after another into out. */
static int write_uuid7s(char *out, Py_ssize_t count) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    uint8_t *random = malloc((size_t)count * 10 + 1);
    if (!random) return 0;
    size_t wanted = (size_t)count * 10, got = 0;
    while (got < wanted) {
        ssize_t n = getrandom(random + got, wanted - got, 0);
        if (n <= 0) {
            free(random);
            return 0;
        }
        got += (size_t)n;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        uint8_t bytes[16];
        const uint8_t *r = random + i * 10;
        for (int k = 0; k < 6; k++) bytes[k] = (uint8_t)(ms >> (40 - 8 * k));
        bytes[6] = 0x70 | (r[0] & 0x0F);
        bytes[7] = r[1];
        bytes[8] = 0x80 | (r[2] & 0x3F);
        memcpy(bytes + 9, r + 3, 7);
        char *s = out + i * UUID_CHARS;
        int at = 0;
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10) s[at++] = '-';
            s[at++] = HEX[bytes[k] >> 4];
            s[at++] = HEX[bytes[k] & 0x0F];
        }
    }
    free(random);
    return 1;
}

/* ---- the request ------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size;
    Py_ssize_t max_events;
    uint64_t max_event_bytes;
    /* results of the scan */
    Py_ssize_t count;
    const uint8_t *scope;
    size_t scope_length;
    Slot *slots;      /* count * FIELD_COUNT */
    int64_t *micros;  /* count; INT64_MIN where the event has no EventTime */
    int any_time_missing;
    Py_ssize_t track_ids_given;
    Out converted; /* User/Payload Structs as JSON text */
} Scan;

static int scan_event(Scan *scan, Py_ssize_t index, const uint8_t *p, const uint8_t *end) {
    Slot *slots = scan->slots + index * FIELD_COUNT;
    scan->micros[index] = INT64_MIN;
    while (p < end) {
        uint32_t field;
        const uint8_t *value;
        uint64_t length;
        if (!read_delimited(&p, end, &field, &value, &length)) return 0;
        if (field < 1 || field > 16) return 0;
        /* Given twice, or both members of a oneof: the last one would win. */
        if (slots[field].present) return 0;
        if (field == F_USER_STRUCT || field == F_PAYLOAD_STRUCT) {
            int json_field = field + 1;
            if (slots[json_field].present) return 0;
            size_t start = scan->converted.length;
            if (!struct_json(value, value + length, &scan->converted, 1)) return 0;
            if (scan->converted.length - start > UINT32_MAX) return 0;
            slots[json_field].present = slots[json_field].converted = 1;
            slots[json_field].offset = (uint32_t)start;
            slots[json_field].length = (uint32_t)(scan->converted.length - start);
            slots[field].present = 1;
            continue;
        }
        if ((field == F_USER_JSON || field == F_PAYLOAD_JSON) && slots[field - 1].present)
            return 0;
        slots[field].present = 1;
        slots[field].offset = (uint32_t)(value - scan->data);
        slots[field].length = (uint32_t)length;
        if (field == F_EVENT_TIME) {
            if (!timestamp_micros(value, value + length, &scan->micros[index])) return 0;
            continue;
        }
        size_t chars;
        if (!valid_utf8(value, length, &chars)) return 0;
        if (field == F_USER_JSON || field == F_PAYLOAD_JSON) {
            int kind = json_object_or_null(value, length);
            if (!kind) return 0;
            slots[field].is_null = kind == 2;
        } else if (field == F_TRACK_ID) {
            if (chars == 0 || chars > TRACK_ID_MAX_CHARS) return 0;
            scan->track_ids_given++;
        }
    }
    if (scan->micros[index] == INT64_MIN) scan->any_time_missing = 1;
    return 1;
}

/* The request {string scope = 1; repeated TrackEvent events = 2}. 1 when it is ours. */
static int scan_request(Scan *scan) {
    const uint8_t *p = scan->data, *end = scan->data + scan->size;
    Py_ssize_t capacity = 0;
    int scope_seen = 0;
    scan->count = 0;
    while (p < end) {
        uint32_t field;
        const uint8_t *value;
        uint64_t length;
        if (!read_delimited(&p, end, &field, &value, &length)) return 0;
        if (field == 1 && !scope_seen) {
            if (!valid_utf8(value, length, NULL)) return 0;
            scan->scope = value;
            scan->scope_length = length;
            scope_seen = 1;
        } else if (field == 2) {
            if (scan->count >= scan->max_events || length > scan->max_event_bytes) return 0;
            if (scan->count == capacity) {
                capacity = capacity ? capacity * 2 : 1024;
                Slot *slots = realloc(scan->slots, sizeof(Slot) * FIELD_COUNT * capacity);
                int64_t *micros = realloc(scan->micros, sizeof(int64_t) * capacity);
                if (slots) scan->slots = slots;
                if (micros) scan->micros = micros;
                if (!slots || !micros) return 0;
            }
            memset(scan->slots + scan->count * FIELD_COUNT, 0, sizeof(Slot) * FIELD_COUNT);
            if (!scan_event(scan, scan->count, value, value + length)) return 0;
            scan->count++;
        } else {
            return 0;
        }
    }
    /* TrackIds from the client on some events only: the ordinary path fills in the rest. */
    if (scan->track_ids_given && scan->track_ids_given != scan->count) return 0;
    return scan->count > 0;
}

/* One Arrow string column: (validity bitmap or None, int32 offsets, data, null count). */
static PyObject *string_column(const Scan *scan, int field) {
    Py_ssize_t count = scan->count, nulls = 0;
    uint64_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        const Slot *slot = scan->slots + i * FIELD_COUNT + field;
        if (!slot->present || slot->is_null)
            nulls++;
        else
            total += slot->length;
    }
    if (total > INT32_MAX) return NULL;
    PyObject *offsets = PyBytes_FromStringAndSize(NULL, (count + 1) * 4);
    PyObject *data = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
    PyObject *validity = nulls ? PyBytes_FromStringAndSize(NULL, (count + 7) / 8) : Py_None;
    if (!offsets || !data || !validity) {
        Py_XDECREF(offsets);
        Py_XDECREF(data);
        if (validity != Py_None) Py_XDECREF(validity);
        return NULL;
    }
    if (validity == Py_None) Py_INCREF(Py_None);
    int32_t *offset = (int32_t *)PyBytes_AS_STRING(offsets);
    char *out = PyBytes_AS_STRING(data);
    uint8_t *bits = nulls ? (uint8_t *)PyBytes_AS_STRING(validity) : NULL;
    if (bits) memset(bits, 0, (count + 7) / 8);
    int32_t at = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        const Slot *slot = scan->slots + i * FIELD_COUNT + field;
        offset[i] = at;
        if (!slot->present || slot->is_null) continue;
        if (bits) bits[i >> 3] |= (uint8_t)(1 << (i & 7));
        const uint8_t *source = slot->converted ? (const uint8_t *)scan->converted.data
                                                : scan->data;
        memcpy(out + at, source + slot->offset, slot->length);
        at += (int32_t)slot->length;
    }
    offset[count] = at;
    return Py_BuildValue("(NNNn)", validity, offsets, data, nulls);
}

static PyObject *generated_track_ids(Py_ssize_t count) {
    PyObject *offsets = PyBytes_FromStringAndSize(NULL, (count + 1) * 4);
    PyObject *data = PyBytes_FromStringAndSize(NULL, count * UUID_CHARS);
    if (!offsets || !data) {
        Py_XDECREF(offsets);
        Py_XDECREF(data);
        return NULL;
    }
    int32_t *offset = (int32_t *)PyBytes_AS_STRING(offsets);
    for (Py_ssize_t i = 0; i <= count; i++) offset[i] = (int32_t)(i * UUID_CHARS);
    if (!write_uuid7s(PyBytes_AS_STRING(data), count)) {
        Py_DECREF(offsets);
        Py_DECREF(data);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_INCREF(Py_None);
    return Py_BuildValue("(NNNn)", Py_None, offsets, data, (Py_ssize_t)0);
}

static PyObject *decode(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    Scan scan;
    memset(&scan, 0, sizeof(scan));
    scan.scope = (const uint8_t *)"";
    unsigned long long max_event_bytes;
    if (!PyArg_ParseTuple(args, "y*nK", &buffer, &scan.max_events, &max_event_bytes))
        return NULL;
    if ((uint64_t)buffer.len > UINT32_MAX) {
        PyBuffer_Release(&buffer);
        Py_RETURN_NONE;
    }
    scan.data = buffer.buf;
    scan.size = (size_t)buffer.len;
    scan.max_event_bytes = max_event_bytes;
    int ours;
    Py_BEGIN_ALLOW_THREADS
    ours = scan_request(&scan);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (!ours) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    PyObject *columns = PyList_New(COLUMN_COUNT);
    if (!columns) goto done;
    for (int c = 0; c < COLUMN_COUNT; c++) {
        int field = COLUMN_FIELDS[c];
        PyObject *column = field == F_TRACK_ID && !scan.track_ids_given
                               ? generated_track_ids(scan.count)
                               : string_column(&scan, field);
        if (!column) {
            Py_DECREF(columns);
            if (!PyErr_Occurred()) {
                Py_INCREF(Py_None);
                result = Py_None;
            }
            goto done;
        }
        PyList_SET_ITEM(columns, c, column);
    }
    PyObject *micros = PyBytes_FromStringAndSize((const char *)scan.micros,
                                                 scan.count * (Py_ssize_t)sizeof(int64_t));
    PyObject *scope = PyUnicode_DecodeUTF8((const char *)scan.scope, scan.scope_length, NULL);
    if (!micros || !scope) {
        Py_XDECREF(micros);
        Py_XDECREF(scope);
        Py_DECREF(columns);
        goto done;
    }
    result = Py_BuildValue("(NnONNO)", scope, scan.count,
                           scan.track_ids_given ? Py_True : Py_False, columns, micros,
                           scan.any_time_missing ? Py_True : Py_False);
done:
    free(scan.slots);
    free(scan.converted.data);
    free(scan.micros);
    PyBuffer_Release(&buffer);
    return result;
}

static PyObject *is_json_object(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "y*", &buffer)) return NULL;
    int kind = valid_utf8(buffer.buf, buffer.len, NULL)
                   ? json_object_or_null(buffer.buf, (size_t)buffer.len)
                   : 0;
    PyBuffer_Release(&buffer);
    return PyLong_FromLong(kind);
}

static PyObject *struct_json_text(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "y*", &buffer)) return NULL;
    Out out = {NULL, 0, 0};
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = struct_json(buffer.buf, (const uint8_t *)buffer.buf + buffer.len, &out, 1);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buffer);
    PyObject *result = ok ? PyUnicode_DecodeUTF8(out.data ? out.data : "", out.length, NULL)
                          : (Py_INCREF(Py_None), Py_None);
    free(out.data);
    return result;
}

/* ---- result rows -> google.protobuf.Struct wire format ------------------------------------ */

/* Preview and List answer rows as Structs. Building them with protobuf's Python API cost
 * about 70 ms per 1000 full rows (Struct.update per value, then serialization); here each row
 * is written as the serialized Struct directly. The values are what server/rows.py makes of
 * them: JSON columns parsed (a text orjson would refuse stays a string), non-finite floats as
 * null, and any other type converted by rows.to_json_value, called back from here. */

static void put_varint(Out *o, uint64_t v) {
    while (v >= 0x80) {
        o->data[o->length++] = (char)(v | 0x80);
        v >>= 7;
    }
    o->data[o->length++] = (char)v;
}

static int varint_size(uint64_t v) {
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* A length-delimited field: open() writes the tag and reserves one byte for the length;
 * close() writes the length, moving the content when it needs more bytes. */
static int open_field(Out *o, uint32_t field, size_t *start) {
    if (!out_reserve(o, 6)) return 0;
    put_varint(o, (uint64_t)field << 3 | 2);
    o->length++;
    *start = o->length;
    return 1;
}

static int close_field(Out *o, size_t start) {
    size_t length = o->length - start;
    int size = varint_size(length);
    if (size > 1) {
        if (!out_reserve(o, (size_t)size - 1)) return 0;
        memmove(o->data + start + size - 1, o->data + start, length);
    }
    size_t end = o->length + (size_t)size - 1;
    o->length = start - 1;
    put_varint(o, length);
    o->length = end;
    return 1;
}

static int put_bytes_field(Out *o, uint32_t field, const char *s, size_t n) {
    if (!out_reserve(o, n + 16)) return 0;
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, n);
    memcpy(o->data + o->length, s, n);
    o->length += n;
    return 1;
}

/* google.protobuf.Value fields */
#define V_NULL 1
#define V_NUMBER 2
#define V_STRING 3
#define V_BOOL 4
#define V_STRUCT 5
#define V_LIST 6

static int put_null(Out *o) {
    if (!out_reserve(o, 2)) return 0;
    o->data[o->length++] = V_NULL << 3;
    o->data[o->length++] = 0;
    return 1;
}

static int put_number(Out *o, double x) {
    if (x != x || x - x != 0) return put_null(o);
    if (!out_reserve(o, 9)) return 0;
    o->data[o->length++] = V_NUMBER << 3 | 1;
    memcpy(o->data + o->length, &x, 8);
    o->length += 8;
    return 1;
}

static int put_bool(Out *o, int b) {
    if (!out_reserve(o, 2)) return 0;
    o->data[o->length++] = V_BOOL << 3;
    o->data[o->length++] = (char)(b != 0);
    return 1;
}

/* -- JSON text -> Value: the same values orjson.loads gives; 0 when it would refuse it. -- */

static int parse_value(Json *j, Out *o, int depth);

static int put_utf8(Out *o, uint32_t c) {
    if (!out_reserve(o, 4)) return 0;
    char *w = o->data + o->length;
    if (c < 0x80) {
        w[0] = (char)c;
        o->length += 1;
    } else if (c < 0x800) {
        w[0] = (char)(0xC0 | c >> 6);
        w[1] = (char)(0x80 | (c & 0x3F));
        o->length += 2;
    } else if (c < 0x10000) {
        w[0] = (char)(0xE0 | c >> 12);
        w[1] = (char)(0x80 | (c >> 6 & 0x3F));
        w[2] = (char)(0x80 | (c & 0x3F));
        o->length += 3;
    } else {
        w[0] = (char)(0xF0 | c >> 18);
        w[1] = (char)(0x80 | (c >> 12 & 0x3F));
        w[2] = (char)(0x80 | (c >> 6 & 0x3F));
        w[3] = (char)(0x80 | (c & 0x3F));
        o->length += 4;
    }
    return 1;
}

static uint32_t hex4(const uint8_t *p) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = p[k];
        v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* A JSON string at j->p, decoded, as a length-delimited field. */
static int parse_string_field(Json *j, Out *o, uint32_t field) {
    size_t start;
    if (!open_field(o, field, &start)) return 0;
    j->p++;
    for (;;) {
        const uint8_t *run = j->p;
        while (j->p < j->end && *j->p != '"' && *j->p != '\\' && *j->p >= 0x20) j->p++;
        if (!out_put(o, run, (size_t)(j->p - run))) return 0;
        if (j->p >= j->end || *j->p < 0x20) return 0;
        if (*j->p == '"') {
            j->p++;
            break;
        }
        j->p++; /* the backslash */
        if (j->p >= j->end) return 0;
        uint8_t c = *j->p++;
        char plain = 0;
        switch (c) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
            if (j->end - j->p < 4) return 0;
            for (int k = 0; k < 4; k++)
                if (!hex_digit(j->p[k])) return 0;
            uint32_t code = hex4(j->p);
            j->p += 4;
            if (code >= 0xDC00 && code <= 0xDFFF) return 0; /* a lone low surrogate */
            if (code >= 0xD800 && code <= 0xDBFF) {
                if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') return 0;
                for (int k = 2; k < 6; k++)
                    if (!hex_digit(j->p[k])) return 0;
                uint32_t low = hex4(j->p + 2);
                if (low < 0xDC00 || low > 0xDFFF) return 0;
                j->p += 6;
                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            }
            if (!put_utf8(o, code)) return 0;
            continue;
        }
        default: return 0;
        }
        if (!out_put(o, &plain, 1)) return 0;
    }
    return close_field(o, start);
}

static int parse_number(Json *j, Out *o) {
    const uint8_t *start = j->p;
    int integer_digits, exponent_digits, magnitude, exact_integer;
    if (!json_number_shape(j, &integer_digits, &exponent_digits, &magnitude, &exact_integer))
        return 0;
    size_t n = (size_t)(j->p - start);
    char text[64];
    char *heap = NULL, *digits = text;
    if (n >= sizeof(text)) {
        heap = malloc(n + 1);
        if (!heap) return 0;
        digits = heap;
    }
    memcpy(digits, start, n);
    digits[n] = 0;
    int integer = exact_integer;
    double x = strtod(digits, NULL);
    free(heap);
    if (x - x != 0) return 0;       /* orjson refuses what overflows a double */
    if (integer && x == 0) x = 0.0; /* -0 is the integer 0 */
    return put_number(o, x);
}

static int parse_object(Json *j, Out *o, int depth) {
    size_t value_start;
    if (!open_field(o, V_STRUCT, &value_start)) return 0;
    j->p++;
    json_space(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return close_field(o, value_start);
    }
    for (;;) {
        size_t entry;
        if (j->p >= j->end || *j->p != '"' || !open_field(o, 1, &entry)) return 0;
        if (!parse_string_field(j, o, 1)) return 0;
        json_space(j);
        if (j->p >= j->end || *j->p != ':') return 0;
        j->p++;
        json_space(j);
        size_t value;
        if (!open_field(o, 2, &value) || !parse_value(j, o, depth + 1) ||
            !close_field(o, value) || !close_field(o, entry))
            return 0;
        json_space(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') {
            j->p++;
            json_space(j);
            continue;
        }
        if (*j->p == '}') {
            j->p++;
            return close_field(o, value_start);
        }
        return 0;
    }
}

static int parse_array(Json *j, Out *o, int depth) {
    size_t value_start;
    if (!open_field(o, V_LIST, &value_start)) return 0;
    j->p++;
    json_space(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return close_field(o, value_start);
    }
    for (;;) {
        size_t item;
        if (!open_field(o, 1, &item) || !parse_value(j, o, depth + 1) || !close_field(o, item))
            return 0;
        json_space(j);
        if (j->p >= j->end) return 0;
        if (*j->p == ',') {
            j->p++;
            json_space(j);
            continue;
        }
        if (*j->p == ']') {
            j->p++;
            return close_field(o, value_start);
        }
        return 0;
    }
}

/* The content of one google.protobuf.Value for the JSON value at j->p. */
static int parse_value(Json *j, Out *o, int depth) {
    if (depth > JSON_MAX_DEPTH || j->p >= j->end) return 0;
    switch (*j->p) {
    case '{': return parse_object(j, o, depth);
    case '[': return parse_array(j, o, depth);
    case '"': return parse_string_field(j, o, V_STRING);
    case 't': return json_literal(j, "true") && put_bool(o, 1);
    case 'f': return json_literal(j, "false") && put_bool(o, 0);
    case 'n': return json_literal(j, "null") && put_null(o);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return parse_number(j, o);
        return 0;
    }
}

/* -- Python values -> Value -- */

static int put_python(Out *o, PyObject *value, int is_json, PyObject *convert, int depth);

static int put_python_str(Out *o, PyObject *value, int is_json) {
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(value, &n);
    if (!text) { /* not UTF-8 (a lone surrogate): protobuf's path decides */
        PyErr_Clear();
        return 0;
    }
    if (is_json) {
        size_t before = o->length;
        Json j = {(const uint8_t *)text, (const uint8_t *)text + n};
        json_space(&j);
        if (parse_value(&j, o, 1)) {
            json_space(&j);
            if (j.p == j.end) return 1;
        }
        o->length = before; /* not JSON orjson reads: the text itself, as rows.py does */
    }
    return put_bytes_field(o, V_STRING, text, (size_t)n);
}

static int put_python_struct(Out *o, PyObject *dict, PyObject *convert, int depth) {
    PyObject *key, *item;
    Py_ssize_t position = 0;
    while (PyDict_Next(dict, &position, &key, &item)) {
        if (!PyUnicode_Check(key)) return 0;
        Py_ssize_t n;
        const char *name = PyUnicode_AsUTF8AndSize(key, &n);
        if (!name) {
            PyErr_Clear();
            return 0;
        }
        size_t entry, value;
        if (!open_field(o, 1, &entry) || !put_bytes_field(o, 1, name, (size_t)n) ||
            !open_field(o, 2, &value))
            return 0;
        int ok = put_python(o, item, 0, convert, depth + 1);
        if (ok != 1) return ok;
        if (!close_field(o, value) || !close_field(o, entry)) return 0;
    }
    return 1;
}

/* 1 written; 0 not this encoder's (the caller takes protobuf's own path, which then fails or
 * succeeds as it always did); -1 a Python error from to_json_value. */
static int put_python(Out *o, PyObject *value, int is_json, PyObject *convert, int depth) {
    if (depth > JSON_MAX_DEPTH) return 0;
    if (value == Py_None) return put_null(o);
    if (PyBool_Check(value)) return put_bool(o, value == Py_True);
    if (PyUnicode_CheckExact(value)) return put_python_str(o, value, is_json);
    if (PyLong_CheckExact(value)) {
        double x = PyLong_AsDouble(value);
        if (x == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        return put_number(o, x);
    }
    if (PyFloat_CheckExact(value)) return put_number(o, PyFloat_AS_DOUBLE(value));
    /* rows.format_datetime of a naive (UTC) datetime; other years and zones go through it. */
    if (PyDateTime_CheckExact(value) && depth == 0 &&
        ((PyDateTime_DateTime *)value)->hastzinfo == 0 && PyDateTime_GET_YEAR(value) >= 1000) {
        char text[40];
        int n = snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                         PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value),
                         PyDateTime_GET_DAY(value), PyDateTime_DATE_GET_HOUR(value),
                         PyDateTime_DATE_GET_MINUTE(value), PyDateTime_DATE_GET_SECOND(value),
                         PyDateTime_DATE_GET_MICROSECOND(value));
        return put_bytes_field(o, V_STRING, text, (size_t)n);
    }
    if (PyDict_CheckExact(value) && depth > 0) {
        size_t start;
        if (!open_field(o, V_STRUCT, &start)) return 0;
        int ok = put_python_struct(o, value, convert, depth);
        return ok == 1 ? close_field(o, start) : ok;
    }
    if (PyList_CheckExact(value) && depth > 0) {
        size_t start;
        if (!open_field(o, V_LIST, &start)) return 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            size_t item;
            if (!open_field(o, 1, &item)) return 0;
            int ok = put_python(o, PyList_GET_ITEM(value, i), 0, convert, depth + 1);
            if (ok != 1) return ok;
            if (!close_field(o, item)) return 0;
        }
        return close_field(o, start);
    }
    if (depth > 0) return 0; /* converted already, yet not a JSON-shaped value */
    PyObject *converted = PyObject_CallFunctionObjArgs(convert, value, Py_False, NULL);
    if (!converted) return -1;
    int ok = put_python(o, converted, 0, convert, 1);
    Py_DECREF(converted);
    return ok;
}

static PyObject *encode_items(PyObject *self, PyObject *args) {
    PyObject *names, *json_columns, *rows, *convert;
    unsigned int field;
    if (!PyArg_ParseTuple(args, "O!O!O!OI", &PyList_Type, &names, &PyList_Type, &json_columns,
                          &PyList_Type, &rows, &convert, &field))
        return NULL;
    Py_ssize_t width = PyList_GET_SIZE(names);
    if (PyList_GET_SIZE(json_columns) != width) {
        PyErr_SetString(PyExc_ValueError, "names and json_columns differ in length");
        return NULL;
    }
    const char **name_text = malloc(sizeof(char *) * (size_t)(width + 1));
    Py_ssize_t *name_length = malloc(sizeof(Py_ssize_t) * (size_t)(width + 1));
    int *is_json = malloc(sizeof(int) * (size_t)(width + 1));
    Out out = {NULL, 0, 0};
    PyObject *result = NULL;
    int ok = name_text && name_length && is_json;
    for (Py_ssize_t c = 0; ok && c < width; c++) {
        name_text[c] = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(names, c), &name_length[c]);
        is_json[c] = PyObject_IsTrue(PyList_GET_ITEM(json_columns, c));
        if (!name_text[c] || is_json[c] < 0) ok = -1;
    }
    for (Py_ssize_t r = 0; ok == 1 && r < PyList_GET_SIZE(rows); r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != width) {
            ok = 0;
            break;
        }
        size_t item;
        if (!open_field(&out, field, &item)) ok = 0;
        for (Py_ssize_t c = 0; ok == 1 && c < width; c++) {
            size_t entry, value;
            if (!open_field(&out, 1, &entry) ||
                !put_bytes_field(&out, 1, name_text[c], (size_t)name_length[c]) ||
                !open_field(&out, 2, &value)) {
                ok = 0;
                break;
            }
            ok = put_python(&out, PyTuple_GET_ITEM(row, c), is_json[c], convert, 0);
            if (ok == 1 && (!close_field(&out, value) || !close_field(&out, entry))) ok = 0;
        }
        if (ok == 1 && !close_field(&out, item)) ok = 0;
    }
    if (ok == 1)
        result = PyBytes_FromStringAndSize(out.data ? out.data : "", (Py_ssize_t)out.length);
    else if (ok == 0 && !PyErr_Occurred())
        result = (Py_INCREF(Py_None), Py_None);
    free(out.data);
    free(name_text);
    free(name_length);
    free(is_json);
    return result;
}

static PyMethodDef METHODS[] = {
    {"decode", decode, METH_VARARGS,
     "decode(request: bytes, max_events: int, max_event_bytes: int) -> tuple | None\n\n"
     "(scope, count, client_track_ids, columns, event_time_micros, some_time_missing) of a\n"
     "Track/TrackStream request, or None when the ordinary parse must read it."},
    {"is_json_object", is_json_object, METH_VARARGS,
     "is_json_object(text: bytes) -> int: 1 a JSON object, 2 the text null, 0 otherwise or "
     "unsure."},
    {"struct_json", struct_json_text, METH_VARARGS,
     "struct_json(serialized_struct: bytes) -> str | None: the JSON text of a\n"
     "google.protobuf.Struct, or None when it is nested deeper than the decoder follows."},
    {"encode_items", encode_items, METH_VARARGS,
     "encode_items(names, json_columns, rows, to_json_value, field) -> bytes | None\n\n"
     "Each row (a tuple) as a google.protobuf.Struct, written as field `field` of a response\n"
     "message; None when some value needs protobuf's own Struct.update."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_wire", NULL, -1, METHODS};

PyMODINIT_FUNC PyInit__wire(void) {
    PyDateTime_IMPORT;
    if (!PyDateTimeAPI) return NULL;
    return PyModule_Create(&MODULE);
}
