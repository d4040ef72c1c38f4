/* Segment membership on the personalisation hot path (server/segments/membership.py): the MD5
 * of a DeviceId and its binary search in each segment's sorted hashes, in one call. In Python
 * the same answer took a dozen interpreter calls a segment (numpy scalars, searchsorted), whose
 * cost on the server's busy event-loop thread was several times their cost alone
 * (bench/NOTES.md#isinsegment-in-c).
 *
 * A segment's hashes are rows of two uint64, (upper, lower), sorted: the digest read as a
 * little-endian 128-bit number, as DuckDB's md5_number gives it. */
#include "wire.h"

#include <string.h>

/* MD5 (RFC 1321). */
static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391};
static const uint8_t SHIFT[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                  5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(uint32_t state[4], const uint8_t block[64]) {
    uint32_t m[16];
    memcpy(m, block, 64); /* little-endian words, as this machine's */
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        uint32_t rotated = a + f + K[i] + m[g];
        a = d;
        d = c;
        c = b;
        b += (rotated << SHIFT[i]) | (rotated >> (32 - SHIFT[i]));
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

static void md5(const uint8_t *data, size_t length, uint8_t digest[16]) {
    uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    size_t whole = length - length % 64;
    for (size_t at = 0; at < whole; at += 64) md5_block(state, data + at);
    uint8_t tail[128] = {0};
    size_t rest = length - whole;
    memcpy(tail, data + whole, rest);
    tail[rest] = 0x80;
    size_t tail_length = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)length * 8;
    memcpy(tail + tail_length - 8, &bits, 8);
    md5_block(state, tail);
    if (tail_length == 128) md5_block(state, tail + 64);
    memcpy(digest, state, 16);
}

/* The DeviceId's (upper, lower) words; 0 with an exception set when it is not text. */
static int device_words(PyObject *device_id, uint64_t *upper, uint64_t *lower) {
    Py_ssize_t length;
    const char *text = PyUnicode_AsUTF8AndSize(device_id, &length);
    if (!text) return 0;
    uint8_t digest[16];
    md5((const uint8_t *)text, (size_t)length, digest);
    memcpy(lower, digest, 8);
    memcpy(upper, digest + 8, 8);
    return 1;
}

/* The first index i in [low, high) whose values[i * stride] is not below `key` (high when none
 * is): stride 1 searches the fence, stride 2 the uppers of the pairs. */
static size_t lower_bound(const uint64_t *values, size_t stride, size_t low, size_t high,
                          uint64_t key) {
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (values[middle * stride] < key) low = middle + 1;
        else high = middle;
    }
    return low;
}

/* Whether the n sorted (upper, lower) pairs hold the given one. `fence` holds every
 * FENCE_STRIDE-th upper, so a search touches the fence (small, and warm across calls) and one
 * block of pairs, where a binary search of a million pairs touched several pages; and a pair's
 * lower sits beside its upper, in the same page. On this machine the first touch of a page not
 * read for a few seconds stalls the call for about 0.1 ms (bench/NOTES.md#isinsegment-in-c). */
static int sorted_pairs_hold(const uint64_t *pairs, size_t n, const uint64_t *fence,
                             size_t fences, uint64_t upper, uint64_t lower) {
    size_t block = lower_bound(fence, 1, 0, fences, upper);
    size_t low = block ? (block - 1) * FENCE_STRIDE + 1 : 0;
    size_t high = block < fences ? block * FENCE_STRIDE : n;
    for (low = lower_bound(pairs, 2, low, high, upper); low < n && pairs[2 * low] == upper; low++)
        if (pairs[2 * low + 1] == lower) return 1;
    return 0;
}

/* Whether one Members object (uint64 arrays `pairs`, n rows of upper and lower, and `fence`)
 * holds the words: 1, 0, or -1 with an exception set. */
static int members_hold(PyObject *members, uint64_t upper, uint64_t lower) {
    static const char *NAMES[2] = {"pairs", "fence"};
    PyObject *arrays[2] = {NULL, NULL};
    Py_buffer views[2];
    int held = -1;
    for (int viewed = 0; viewed < 2; viewed++) {
        arrays[viewed] = PyObject_GetAttrString(members, NAMES[viewed]);
        if (!arrays[viewed]) goto done;
        if (PyObject_GetBuffer(arrays[viewed], &views[viewed], PyBUF_C_CONTIGUOUS) < 0) {
            Py_CLEAR(arrays[viewed]);
            goto done;
        }
    }
    size_t n = (size_t)views[0].len / 16, fences = (size_t)views[1].len / 8;
    if (views[0].len % 16 || views[1].len % 8 ||
        fences != (n + FENCE_STRIDE - 1) / FENCE_STRIDE) {
        PyErr_SetString(PyExc_ValueError, "pairs must be rows of two uint64, the fence every "
                                          "FENCE_STRIDE-th pair's upper");
        goto done;
    }
    held = sorted_pairs_hold(views[0].buf, n, views[1].buf, fences, upper, lower);
done:
    for (int i = 0; i < 2 && arrays[i]; i++) {
        PyBuffer_Release(&views[i]);
        Py_DECREF(arrays[i]);
    }
    return held;
}

/* held(device_id: str, members: list) -> list[bool]: whether each Members holds the DeviceId. */
PyObject *members_holding(PyObject *self, PyObject *args) {
    PyObject *device_id, *members;
    if (!PyArg_ParseTuple(args, "UO!", &device_id, &PyList_Type, &members)) return NULL;
    uint64_t upper, lower;
    if (!device_words(device_id, &upper, &lower)) return NULL;
    Py_ssize_t count = PyList_GET_SIZE(members);
    PyObject *answers = PyList_New(count);
    if (!answers) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        int held = members_hold(PyList_GET_ITEM(members, i), upper, lower);
        if (held < 0) {
            Py_DECREF(answers);
            return NULL;
        }
        PyList_SET_ITEM(answers, i, PyBool_FromLong(held));
    }
    return answers;
}

/* device_digest(device_id: str) -> bytes: the MD5 digest of the DeviceId's UTF-8 (for tests). */
PyObject *device_digest(PyObject *self, PyObject *args) {
    PyObject *device_id;
    if (!PyArg_ParseTuple(args, "U", &device_id)) return NULL;
    uint64_t words[2];
    if (!device_words(device_id, &words[1], &words[0])) return NULL;
    return PyBytes_FromStringAndSize((const char *)words, 16);
}
