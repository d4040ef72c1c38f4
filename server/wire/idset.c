/* The stored-TrackId index's hot loops (server/stored_ids.py): XXH64 hashes of TrackIds, and
 * membership of hashes in an open-addressing table and in sorted runs, without Python objects
 * per id. Hash 0 marks an empty table slot, so a string whose hash is 0 is given hash 1: the
 * index only ever answers "maybe stored", and the caller confirms a hit exactly. */
#include "wire.h"

#include <string.h>

#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t xround(uint64_t acc, uint64_t input) {
    return rotl(acc + input * P2, 31) * P1;
}
static inline uint64_t xmerge(uint64_t acc, uint64_t value) {
    return (acc ^ xround(0, value)) * P1 + P4;
}

/* XXH64 with seed 0 (the reference algorithm; little-endian machines, as this one). */
static uint64_t xxh64(const uint8_t *p, size_t n) {
    const uint8_t *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = 0 - P1;
        do {
            v1 = xround(v1, load64(p));
            v2 = xround(v2, load64(p + 8));
            v3 = xround(v3, load64(p + 16));
            v4 = xround(v4, load64(p + 24));
            p += 32;
        } while (p + 32 <= end);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = xmerge(xmerge(xmerge(xmerge(h, v1), v2), v3), v4);
    } else {
        h = P5;
    }
    h += (uint64_t)n;
    for (; p + 8 <= end; p += 8) h = rotl(h ^ xround(0, load64(p)), 27) * P1 + P4;
    if (p + 4 <= end) {
        h = rotl(h ^ ((uint64_t)load32(p) * P1), 23) * P2 + P3;
        p += 4;
    }
    for (; p < end; p++) h = rotl(h ^ (*p * P5), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h ? h : 1;
}

/* hash_ids(strings: list[str]) -> bytes: the XXH64 of each string's UTF-8, 8 bytes each. */
PyObject *hash_ids(PyObject *self, PyObject *args) {
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(list);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 8);
    if (!out) return NULL;
    uint64_t *hashes = (uint64_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t size;
        const char *text = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(list, i), &size);
        if (!text) {
            Py_DECREF(out);
            return NULL;
        }
        hashes[i] = xxh64((const uint8_t *)text, (size_t)size);
    }
    return out;
}

/* hash_id_buffers(offsets, data, first, count, large) -> bytes: the same for `count` strings
 * of an Arrow string array from its offsets (int32, or int64 when `large`) and data buffers. */
PyObject *hash_id_buffers(PyObject *self, PyObject *args) {
    Py_buffer offsets, data;
    Py_ssize_t first, count;
    int large;
    if (!PyArg_ParseTuple(args, "y*y*nnp", &offsets, &data, &first, &count, &large)) return NULL;
    PyObject *out = NULL;
    size_t width = large ? 8 : 4;
    if (first < 0 || count < 0 || (size_t)offsets.len < (size_t)(first + count + 1) * width) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer too short");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, count * 8);
    if (!out) goto done;
    uint64_t *hashes = (uint64_t *)PyBytes_AS_STRING(out);
    const uint8_t *bytes = data.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t start, stop;
        if (large) {
            start = ((const int64_t *)offsets.buf)[first + i];
            stop = ((const int64_t *)offsets.buf)[first + i + 1];
        } else {
            start = ((const int32_t *)offsets.buf)[first + i];
            stop = ((const int32_t *)offsets.buf)[first + i + 1];
        }
        if (start < 0 || stop < start || stop > data.len) {
            Py_CLEAR(out);
            PyErr_SetString(PyExc_ValueError, "string offsets out of the data buffer");
            goto done;
        }
        hashes[i] = xxh64(bytes + start, (size_t)(stop - start));
    }
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return out;
}

/* table_insert(table, hashes) -> int: puts each hash in the open-addressing table (uint64
 * slots, a power of two of them, 0 = empty; linear probing); returns how many were new. The
 * caller keeps the table at most half full, so an empty slot is always found. */
PyObject *table_insert(PyObject *self, PyObject *args) {
    Py_buffer table, hashes;
    if (!PyArg_ParseTuple(args, "w*y*", &table, &hashes)) return NULL;
    uint64_t *slots = table.buf;
    size_t mask = (size_t)table.len / 8 - 1;
    const uint64_t *h = hashes.buf;
    Py_ssize_t added = 0, n = hashes.len / 8;
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t at = (size_t)h[i] & mask;
        while (slots[at] && slots[at] != h[i]) at = (at + 1) & mask;
        if (!slots[at]) {
            slots[at] = h[i];
            added++;
        }
    }
    PyBuffer_Release(&table);
    PyBuffer_Release(&hashes);
    return PyLong_FromSsize_t(added);
}

/* table_probe(table, hashes, found) : found[i] = 1 where hashes[i] is in the table. */
PyObject *table_probe(PyObject *self, PyObject *args) {
    Py_buffer table, hashes, found;
    if (!PyArg_ParseTuple(args, "y*y*w*", &table, &hashes, &found)) return NULL;
    const uint64_t *slots = table.buf;
    size_t mask = (size_t)table.len / 8 - 1;
    const uint64_t *h = hashes.buf;
    uint8_t *hit = found.buf;
    Py_ssize_t n = hashes.len / 8;
    if (found.len < n) n = found.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t at = (size_t)h[i] & mask;
        while (slots[at] && slots[at] != h[i]) at = (at + 1) & mask;
        if (slots[at]) hit[i] = 1;
    }
    PyBuffer_Release(&table);
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&found);
    return Py_BuildValue("");
}

/* Whether `h` is in the sorted run `v` of `n` uniform hashes whose top `shift` bits are all
 * equal: a guess from the hash's value, then a widening search around it (one or two cache
 * misses, where a binary search over millions of hashes takes twenty). */
static int sorted_contains(const uint64_t *v, size_t n, uint64_t h, int shift) {
    if (n == 0) return 0;
    unsigned __int128 scaled = (unsigned __int128)(h << shift) * n;
    size_t at = (size_t)(scaled >> 64), lo, hi, step = 8;
    if (at >= n) at = n - 1;
    if (v[at] == h) return 1;
    if (v[at] < h) { /* gallop right: v[lo] < h */
        lo = at;
        for (;;) {
            hi = lo + step;
            if (hi >= n) { hi = n; break; }
            if (v[hi] >= h) break;
            lo = hi;
            step *= 2;
        }
        lo++;
    } else { /* gallop left: v[hi] > h */
        hi = at;
        for (;;) {
            if (hi < step) { lo = 0; break; }
            lo = hi - step;
            if (v[lo] <= h) break;
            hi = lo;
            step *= 2;
        }
    }
    while (lo < hi) { /* binary search in [lo, hi) */
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < h) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == h;
}

/* parts_probe(parts, bits, hashes, found): found[i] = 1 where hashes[i] is in
 * parts[hashes[i] >> (64 - bits)], each part a sorted run of uint64. */
PyObject *parts_probe(PyObject *self, PyObject *args) {
    PyObject *parts;
    int bits;
    Py_buffer hashes, found;
    if (!PyArg_ParseTuple(args, "O!iy*w*", &PyList_Type, &parts, &bits, &hashes, &found))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t count = PyList_GET_SIZE(parts);
    Py_buffer *views = calloc((size_t)count, sizeof(Py_buffer));
    Py_ssize_t taken = 0;
    if (!views || bits < 1 || bits > 16 || count != ((Py_ssize_t)1 << bits)) {
        PyErr_SetString(PyExc_ValueError, "parts must be a list of 2**bits runs");
        goto done;
    }
    for (; taken < count; taken++)
        if (PyObject_GetBuffer(PyList_GET_ITEM(parts, taken), &views[taken], PyBUF_SIMPLE) < 0)
            goto done;
    const uint64_t *h = hashes.buf;
    uint8_t *hit = found.buf;
    Py_ssize_t n = hashes.len / 8;
    if (found.len < n) n = found.len;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_buffer *part = &views[h[i] >> (64 - bits)];
        if (sorted_contains(part->buf, (size_t)part->len / 8, h[i], bits)) hit[i] = 1;
    }
    result = Py_BuildValue("");
done:
    for (Py_ssize_t i = 0; i < taken; i++) PyBuffer_Release(&views[i]);
    free(views);
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&found);
    return result;
}
