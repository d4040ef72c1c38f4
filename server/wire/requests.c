/* The wire-format decode of Track/TrackStream requests into Arrow column buffers.
 *
 * server/fast_decode.py calls decode() on a serialized request. One pass over the bytes, with
 * the GIL released, finds each event's fields, checks UTF-8 and that each User/Payload text is
 * a JSON object (json_check.c), and writes Struct User/Payloads as JSON text (struct_json.c);
 * a second pass copies the values into one Arrow string column per field.
 *
 * Whatever this decoder does not prove it reads exactly as the protobuf parse would (a field
 * given twice, an unknown field, an unusual Timestamp, JSON that the checker is not sure
 * about) makes decode() return None: the caller then takes the ordinary parse, which stores or
 * refuses the request as it always did.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define FIELD_COUNT 17 /* TrackEvent field numbers 1..16 */
#define F_TRACK_ID 1
#define F_USER_STRUCT 10
#define F_USER_JSON 11
#define F_PAYLOAD_STRUCT 12
#define F_PAYLOAD_JSON 13
#define F_EVENT_TIME 16
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

/* ---- Timestamp --------------------------------------------------------------------------- */

/* google.protobuf.Timestamp {int64 seconds = 1; int32 nanos = 2}, each at most once, in order. */
static int timestamp_micros(const uint8_t *p, const uint8_t *end, int64_t *micros) {
    int64_t seconds = 0;
    int32_t nanos = 0;
    int last_field = 0;
    while (p < end) {
        Field f;
        if (!read_field(&p, end, &f) || f.wire_type != 0) return 0;
        if (f.number == 1 && last_field < 1) {
            seconds = (int64_t)f.scalar;
            last_field = 1;
        } else if (f.number == 2 && last_field < 2) {
            nanos = (int32_t)(uint32_t)f.scalar; /* an int32 keeps the low 32 bits */
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

/* The 48-bit time field of an event's UUIDv7: its EventTime in whole ms (floored, as Python's
 * // does), limited to the field's range; the receive time for an event without one. */
static uint64_t uuid7_millis(int64_t micros, int64_t now_ms) {
    int64_t ms = micros == INT64_MIN ? now_ms : micros / 1000 - (micros % 1000 < 0);
    if (ms < 0) return 0;
    if (ms > (int64_t)0xFFFFFFFFFFFF) return 0xFFFFFFFFFFFF;
    return (uint64_t)ms;
}

/* UUIDv7 strings, 36 characters each, written one after another into out: one per event, whose
 * time field is the event's EventTime in ms (the receive time where it has none), so that in
 * files laid out by EventTime each row group's TrackId min/max is narrow and a lookup by id
 * (Delete) reads the few row groups of its time instead of every TrackId. */
static int write_uuid7s(char *out, Py_ssize_t count, const int64_t *micros) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
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
        uint64_t ms = uuid7_millis(micros[i], now_ms);
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
        Field f; /* every field of a request and of a TrackEvent is length-delimited */
        if (!read_field(&p, end, &f) || f.wire_type != 2) return 0;
        uint32_t field = f.number;
        const uint8_t *value = f.bytes;
        uint64_t length = f.length;
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
        Field f;
        if (!read_field(&p, end, &f) || f.wire_type != 2) return 0;
        if (f.number == 1 && !scope_seen) {
            if (!valid_utf8(f.bytes, f.length, NULL)) return 0;
            scan->scope = f.bytes;
            scan->scope_length = f.length;
            scope_seen = 1;
        } else if (f.number == 2) {
            if (scan->count >= scan->max_events || f.length > scan->max_event_bytes) return 0;
            if (scan->count == capacity) {
                capacity = capacity ? capacity * 2 : 1024;
                Slot *slots = realloc(scan->slots, sizeof(Slot) * FIELD_COUNT * capacity);
                int64_t *micros = realloc(scan->micros, sizeof(int64_t) * capacity);
                if (slots) scan->slots = slots;
                if (micros) scan->micros = micros;
                if (!slots || !micros) return 0;
            }
            memset(scan->slots + scan->count * FIELD_COUNT, 0, sizeof(Slot) * FIELD_COUNT);
            if (!scan_event(scan, scan->count, f.bytes, f.bytes + f.length)) return 0;
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

static PyObject *generated_track_ids(Py_ssize_t count, const int64_t *micros) {
    PyObject *offsets = PyBytes_FromStringAndSize(NULL, (count + 1) * 4);
    PyObject *data = PyBytes_FromStringAndSize(NULL, count * UUID_CHARS);
    if (!offsets || !data) {
        Py_XDECREF(offsets);
        Py_XDECREF(data);
        return NULL;
    }
    int32_t *offset = (int32_t *)PyBytes_AS_STRING(offsets);
    for (Py_ssize_t i = 0; i <= count; i++) offset[i] = (int32_t)(i * UUID_CHARS);
    if (!write_uuid7s(PyBytes_AS_STRING(data), count, micros)) {
        Py_DECREF(offsets);
        Py_DECREF(data);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_INCREF(Py_None);
    return Py_BuildValue("(NNNn)", Py_None, offsets, data, (Py_ssize_t)0);
}

PyObject *decode(PyObject *self, PyObject *args) {
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
                               ? generated_track_ids(scan.count, scan.micros)
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
