/* Byte buffers, protobuf varints and UTF-8: the primitives every part of _wire uses. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- varints ---------------------------------------------------------------------------- */

int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
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

/* ---- UTF-8 (strict: no overlongs, no surrogates, at most U+10FFFF) ----------------------- */

int valid_utf8(const uint8_t *s, size_t n, size_t *chars) {
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

int read_field(const uint8_t **p, const uint8_t *end, Field *f) {
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

/* ---- buffers -------------------------------------------------------------------------------- */

int out_reserve(Out *o, size_t extra) {
    if (o->length + extra <= o->capacity) return 1;
    size_t capacity = o->capacity ? o->capacity : 4096;
    while (capacity < o->length + extra) capacity *= 2;
    char *data = realloc(o->data, capacity);
    if (!data) return 0;
    o->data = data;
    o->capacity = capacity;
    return 1;
}

int out_put(Out *o, const void *s, size_t n) {
    if (!out_reserve(o, n)) return 0;
    memcpy(o->data + o->length, s, n);
    o->length += n;
    return 1;
}
