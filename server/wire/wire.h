/* What the parts of the _wire extension share (server/wire/; module.c says what it is for). */
#ifndef TRACKSTORE_WIRE_H
#define TRACKSTORE_WIRE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest a stored User/Payload may nest, in JSON levels (an object or array is one):
 * server/limits.py MAX_JSON_DEPTH, exported as JSON_MAX_DEPTH and checked by
 * tests/unit/test_wire_fields.py. Deeper texts and Structs are not the decoder's: the ordinary
 * path refuses them, naming the event. */
#define JSON_MAX_DEPTH 32
/* The deepest a result value may nest when rows are written (rows.c): any stored value, and
 * the bags a query builds around them. */
#define ROW_JSON_MAX_DEPTH 200

/* Field numbers of the messages read and written here. The module exports them as FIELD_NUMBERS
 * and tests/unit/test_wire_fields.py checks each against the descriptors of proto/. */
/* trackstore.v1.TrackEvent */
#define F_TRACK_ID 1
#define F_DEVICE_ID 2
#define F_EVENT_TYPE 3
#define F_VALUE 4
#define F_SCOPE 5
#define F_PAGE_URI 6
#define F_PAGE_TITLE 7
#define F_REMOTE_ADDRESS 8
#define F_SESSION_ID 9
#define F_USER_STRUCT 10
#define F_USER_JSON 11
#define F_PAYLOAD_STRUCT 12
#define F_PAYLOAD_JSON 13
#define F_COUNTRY_CODE 14
#define F_CITY 15
#define F_EVENT_TIME 16
#define F_LAST F_EVENT_TIME /* numbers run from 1 to it without gaps */
/* trackstore.v1.TrackRequest and TrackStreamRequest */
#define R_SCOPE 1
#define R_EVENTS 2
/* google.protobuf.Timestamp */
#define T_SECONDS 1
#define T_NANOS 2
/* google.protobuf.Value */
#define V_NULL 1
#define V_NUMBER 2
#define V_STRING 3
#define V_BOOL 4
#define V_STRUCT 5
#define V_LIST 6
/* The longest TrackId the decoder takes, in characters (server/limits.py MAX_TRACK_ID_LENGTH). */
#define TRACK_ID_MAX_CHARS 200

/* A growing byte buffer (malloc'ed; the owner frees data). */
typedef struct {
    char *data;
    size_t length, capacity;
} Out;

int out_reserve(Out *o, size_t extra);
int out_put(Out *o, const void *s, size_t n);

/* Protobuf varints and strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);
int valid_utf8(const uint8_t *s, size_t n, size_t *chars);

/* One field of a protobuf message: its number, wire type and value (varint, fixed64 or bytes). */
typedef struct {
    uint32_t number;
    int wire_type;
    uint64_t scalar;
    const uint8_t *bytes;
    uint64_t length;
} Field;

/* The field at *p, which then points past it; 0 when it is cut off or of a group wire type. */
int read_field(const uint8_t **p, const uint8_t *end, Field *f);

/* JSON text being read (json_check.c). */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} Json;

void json_space(Json *j);
int hex_digit(uint8_t c);
int json_literal(Json *j, const char *word);
/* The escape after a backslash at j->p, as a code point (a surrogate pair is one character);
 * 0 for an unknown escape or a lone surrogate, both of which orjson refuses. */
int json_escape(Json *j, uint32_t *code);
/* After a member of an object or array: 1 at a comma (skipped, and the space after it), 2 at
 * `close` (skipped), 0 at anything else. */
int json_next_member(Json *j, uint8_t close);
int json_number_shape(Json *j, int *integer_digits, int *exponent_digits,
                      int *exponent_magnitude, int *exact_integer);
/* 1: a JSON object; 2: the text null; 0: anything else (or not surely either). */
int json_object_or_null(const uint8_t *s, size_t n);

/* A serialized google.protobuf.Struct as JSON text, appended to o (struct_json.c). */
int struct_json(const uint8_t *p, const uint8_t *end, Out *o, int depth);

/* A segment's fence holds every FENCE_STRIDE-th of its sorted hashes (membership.c); exported
 * to server/segments/membership.py, which builds the fences. */
#define FENCE_STRIDE 256

/* The module's functions (module.c lists them). */
PyObject *decode(PyObject *self, PyObject *args);
PyObject *is_json_object(PyObject *self, PyObject *args);
PyObject *struct_json_text(PyObject *self, PyObject *args);
PyObject *encode_items(PyObject *self, PyObject *args);
int rows_init(void);
PyObject *hash_ids(PyObject *self, PyObject *args);
PyObject *hash_id_buffers(PyObject *self, PyObject *args);
PyObject *table_insert(PyObject *self, PyObject *args);
PyObject *table_probe(PyObject *self, PyObject *args);
PyObject *parts_probe(PyObject *self, PyObject *args);
PyObject *members_holding(PyObject *self, PyObject *args);
PyObject *device_digest(PyObject *self, PyObject *args);
/* FIELD_NUMBERS, DECODED_COLUMN_FIELDS, TRACK_ID_MAX_CHARS and JSON_MAX_DEPTH on the module
 * (requests.c). */
int add_wire_constants(PyObject *module);

#endif
