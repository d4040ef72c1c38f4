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

#define FIELD_COUNT (F_LAST + 1) /* a slot per TrackEvent field number */
#define SECONDS_LIMIT 9000000000000LL
#define UUID_CHARS 36

/* The string columns decode() returns, by the field each is read from (the module exports them
 * as DECODED_COLUMN_FIELDS; fast_decode.py names them by the descriptor). Scope and EventTime
 * come separately. */
static const int COLUMN_FIELDS[] = {
    F_TRACK_ID, F_DEVICE_ID, F_EVENT_TYPE, F_VALUE, F_PAGE_URI, F_PAGE_TITLE,
    F_REMOTE_ADDRESS, F_SESSION_ID, F_USER_JSON, F_PAYLOAD_JSON, F_COUNTRY_CODE, F_CITY,
};
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
        if (f.number == T_SECONDS && last_field < T_SECONDS) {
            seconds = (int64_t)f.scalar;
            last_field = T_SECONDS;
        } else if (f.number == T_NANOS && last_field < T_NANOS) {
            nanos = (int32_t)(uint32_t)f.scalar; /* an int32 keeps the low 32 bits */
            last_field = T_NANOS;
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
        if (field < 1 || field > F_LAST) return 0;
        /* Given twice, or both members of a oneof: the last one would win. */
        if (slots[field].present) return 0;
        if (field == F_USER_STRUCT || field == F_PAYLOAD_STRUCT) {
            int json_field = field == F_USER_STRUCT ? F_USER_JSON : F_PAYLOAD_JSON;
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
        if ((field == F_USER_JSON || field == F_PAYLOAD_JSON) &&
            slots[field == F_USER_JSON ? F_USER_STRUCT : F_PAYLOAD_STRUCT].present)
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
        } else if (memchr(value, 0, length)) {
            return 0; /* a NUL in a text field: the ordinary path refuses it, naming the field */
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
        if (f.number == R_SCOPE && !scope_seen) {
            if (!valid_utf8(f.bytes, f.length, NULL)) return 0;
            scan->scope = f.bytes;
            scan->scope_length = f.length;
            scope_seen = 1;
        } else if (f.number == R_EVENTS) {
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

/* The string columns of a scanned request, in COLUMN_FIELDS order; NULL with an exception set,
 * or NULL without one when a column is too large to be ours. */
static PyObject *decoded_columns(const Scan *scan) {
    PyObject *columns = PyList_New(COLUMN_COUNT);
    if (!columns) return NULL;
    for (int c = 0; c < COLUMN_COUNT; c++) {
        int field = COLUMN_FIELDS[c];
        PyObject *column = field == F_TRACK_ID && !scan->track_ids_given
                               ? generated_track_ids(scan->count, scan->micros)
                               : string_column(scan, field);
        if (!column) {
            Py_DECREF(columns);
            return NULL;
        }
        PyList_SET_ITEM(columns, c, column);
    }
    return columns;
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
    PyObject *columns = ours ? decoded_columns(&scan) : NULL;
    if (!columns) {
        if (!PyErr_Occurred()) {
            Py_INCREF(Py_None);
            result = Py_None;
        }
        goto done;
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

/* ---- the field numbers, for the test that checks them against proto/ ---------------------- */

static int add_number(PyObject *numbers, const char *name, long number) {
    PyObject *value = PyLong_FromLong(number);
    int failed = !value || PyDict_SetItemString(numbers, name, value) < 0;
    Py_XDECREF(value);
    return !failed;
}

int add_wire_constants(PyObject *module) {
    static const struct {
        const char *name;
        long number;
    } NUMBERS[] = {
        {"trackstore.v1.TrackEvent.track_id", F_TRACK_ID},
        {"trackstore.v1.TrackEvent.device_id", F_DEVICE_ID},
        {"trackstore.v1.TrackEvent.event_type", F_EVENT_TYPE},
        {"trackstore.v1.TrackEvent.value", F_VALUE},
        {"trackstore.v1.TrackEvent.scope", F_SCOPE},
        {"trackstore.v1.TrackEvent.page_uri", F_PAGE_URI},
        {"trackstore.v1.TrackEvent.page_title", F_PAGE_TITLE},
        {"trackstore.v1.TrackEvent.remote_address", F_REMOTE_ADDRESS},
        {"trackstore.v1.TrackEvent.session_id", F_SESSION_ID},
        {"trackstore.v1.TrackEvent.user_struct", F_USER_STRUCT},
        {"trackstore.v1.TrackEvent.user_json", F_USER_JSON},
        {"trackstore.v1.TrackEvent.payload_struct", F_PAYLOAD_STRUCT},
        {"trackstore.v1.TrackEvent.payload_json", F_PAYLOAD_JSON},
        {"trackstore.v1.TrackEvent.country_code", F_COUNTRY_CODE},
        {"trackstore.v1.TrackEvent.city", F_CITY},
        {"trackstore.v1.TrackEvent.event_time", F_EVENT_TIME},
        {"trackstore.v1.TrackRequest.scope", R_SCOPE},
        {"trackstore.v1.TrackRequest.events", R_EVENTS},
        {"trackstore.v1.TrackStreamRequest.scope", R_SCOPE},
        {"trackstore.v1.TrackStreamRequest.events", R_EVENTS},
        {"google.protobuf.Timestamp.seconds", T_SECONDS},
        {"google.protobuf.Timestamp.nanos", T_NANOS},
        {"google.protobuf.Value.null_value", V_NULL},
        {"google.protobuf.Value.number_value", V_NUMBER},
        {"google.protobuf.Value.string_value", V_STRING},
        {"google.protobuf.Value.bool_value", V_BOOL},
        {"google.protobuf.Value.struct_value", V_STRUCT},
        {"google.protobuf.Value.list_value", V_LIST},
    };
    PyObject *numbers = PyDict_New();
    PyObject *columns = PyTuple_New(COLUMN_COUNT);
    int ok = numbers && columns;
    for (size_t i = 0; ok && i < sizeof(NUMBERS) / sizeof(NUMBERS[0]); i++)
        ok = add_number(numbers, NUMBERS[i].name, NUMBERS[i].number);
    for (int c = 0; ok && c < COLUMN_COUNT; c++) {
        PyObject *number = PyLong_FromLong(COLUMN_FIELDS[c]);
        ok = number != NULL;
        if (ok) PyTuple_SET_ITEM(columns, c, number);
    }
    ok = ok && PyModule_AddObjectRef(module, "FIELD_NUMBERS", numbers) == 0 &&
         PyModule_AddObjectRef(module, "DECODED_COLUMN_FIELDS", columns) == 0 &&
         PyModule_AddIntConstant(module, "TRACK_ID_MAX_CHARS", TRACK_ID_MAX_CHARS) == 0 &&
         PyModule_AddIntConstant(module, "JSON_MAX_DEPTH", JSON_MAX_DEPTH) == 0;
    Py_XDECREF(numbers);
    Py_XDECREF(columns);
    return ok;
}
