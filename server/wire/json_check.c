/* The JSON checker of ingest: RFC 8259, and only what orjson surely reads the same way.
 *
 * A User/Payload text the checker accepts is stored as it is; anything it is not sure of
 * (lone surrogates, numbers parsers read differently) goes to orjson on the ordinary path, so
 * it may refuse more than orjson, never less (tests/unit/test_wire_json.py). Nesting deeper
 * than JSON_MAX_DEPTH is never accepted here: the ordinary path refuses it with the event's
 * index (server/nesting.py applies the same count; tests/unit/test_nesting.py holds both).
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_space(Json *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

int hex_digit(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static uint32_t hex4(const uint8_t *p) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t c = p[k];
        v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static int read_hex4(Json *j, uint32_t *value) {
    if (j->end - j->p < 4) return 0;
    for (int k = 0; k < 4; k++)
        if (!hex_digit(j->p[k])) return 0;
    *value = hex4(j->p);
    j->p += 4;
    return 1;
}

int json_escape(Json *j, uint32_t *code) {
    if (j->p >= j->end) return 0;
    uint8_t c = *j->p++;
    switch (c) {
    case '"': case '\\': case '/': *code = c; return 1;
    case 'b': *code = '\b'; return 1;
    case 'f': *code = '\f'; return 1;
    case 'n': *code = '\n'; return 1;
    case 'r': *code = '\r'; return 1;
    case 't': *code = '\t'; return 1;
    case 'u': {
        uint32_t high, low;
        if (!read_hex4(j, &high) || (high >= 0xDC00 && high <= 0xDFFF)) return 0;
        if (high < 0xD800 || high > 0xDBFF) {
            *code = high;
            return 1;
        }
        if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u') return 0;
        j->p += 2;
        if (!read_hex4(j, &low) || low < 0xDC00 || low > 0xDFFF) return 0;
        *code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        return 1;
    }
    default: return 0;
    }
}

static int json_string(Json *j) {
    j->p++; /* the opening quote */
    while (j->p < j->end) {
        uint8_t c = *j->p++;
        if (c == '"') return 1;
        if (c < 0x20) return 0;
        uint32_t code;
        if (c == '\\' && !json_escape(j, &code)) return 0;
    }
    return 0;
}

static int digits(Json *j) {
    const uint8_t *start = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') j->p++;
    return (int)(j->p - start);
}

/* A number's grammar (RFC 8259); what it holds goes to the caller. */
int json_number_shape(Json *j, int *integer_digits, int *exponent_digits,
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

int json_literal(Json *j, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return 0;
    j->p += n;
    return 1;
}

int json_next_member(Json *j, uint8_t close) {
    json_space(j);
    if (j->p >= j->end) return 0;
    if (*j->p == ',') {
        j->p++;
        json_space(j);
        return 1;
    }
    if (*j->p == close) {
        j->p++;
        return 2;
    }
    return 0;
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
        int next = json_next_member(j, close);
        if (next != 1) return next == 2;
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
int json_object_or_null(const uint8_t *s, size_t n) {
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

PyObject *is_json_object(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "y*", &buffer)) return NULL;
    int kind = valid_utf8(buffer.buf, buffer.len, NULL)
                   ? json_object_or_null(buffer.buf, (size_t)buffer.len)
                   : 0;
    PyBuffer_Release(&buffer);
    return PyLong_FromLong(kind);
}
