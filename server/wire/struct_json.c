/* google.protobuf.Struct -> JSON text, for ingest (requests.c) and event_batch.struct_to_json. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The text is what event_batch.struct_to_json has always meant, written the same way by both
 * paths (the ordinary one calls struct_json on the parsed Struct's bytes): keys sorted by code
 * point, a key given twice takes its last value (as the protobuf parse does), numbers that are
 * integers below 2^53 without a fraction, other numbers in their shortest round-trip form,
 * NaN and infinities as null (JSON has neither). */

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

int struct_json(const uint8_t *p, const uint8_t *end, Out *o, int depth);

static int list_json(const uint8_t *p, const uint8_t *end, Out *o, int depth);

/* google.protobuf.Value: at most one of its fields (a Value with none is null). */
static int value_json(const uint8_t *p, const uint8_t *end, Out *o, int depth) {
    if (depth > JSON_MAX_DEPTH) return 0;
    if (p == end) return out_put(o, "null", 4);
    Field f;
    if (!read_field(&p, end, &f) || p != end) return 0;
    switch (f.number) {
    case V_NULL: return f.wire_type == 0 && out_put(o, "null", 4);
    case V_NUMBER: {
        double x;
        memcpy(&x, &f.scalar, 8);
        return f.wire_type == 1 && out_number(o, x);
    }
    case V_STRING: return f.wire_type == 2 && out_quoted(o, f.bytes, f.length);
    case V_BOOL: return f.wire_type == 0 && (f.scalar ? out_put(o, "true", 4) : out_put(o, "false", 5));
    case V_STRUCT: return f.wire_type == 2 && struct_json(f.bytes, f.bytes + f.length, o, depth + 1);
    case V_LIST: return f.wire_type == 2 && list_json(f.bytes, f.bytes + f.length, o, depth + 1);
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

int struct_json(const uint8_t *p, const uint8_t *end, Out *o, int depth) {
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

PyObject *struct_json_text(PyObject *self, PyObject *args) {
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
