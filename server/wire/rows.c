/* Result rows -> google.protobuf.Struct wire format, for the Preview and List answers. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <datetime.h>

/* Preview and List answer rows as Structs. Building them with protobuf's Python API costs a
 * Struct.update per value, then a serialization (bench/NOTES.md#result-rows); here each row is
 * written as the serialized Struct directly. The values are what server/rows.py makes of
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
        uint32_t code;
        if (!json_escape(j, &code) || !put_utf8(o, code)) return 0;
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

/* An object as Value.struct_value (members as map entries), an array as Value.list_value. */
static int parse_container(Json *j, Out *o, int depth, int is_object) {
    uint8_t close = is_object ? '}' : ']';
    size_t value_start;
    if (!open_field(o, is_object ? V_STRUCT : V_LIST, &value_start)) return 0;
    j->p++;
    json_space(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return close_field(o, value_start);
    }
    for (;;) {
        size_t member, value;
        if (!open_field(o, 1, &member)) return 0; /* Struct.fields entry, ListValue.values */
        value = member;
        if (is_object) {
            if (j->p >= j->end || *j->p != '"' || !parse_string_field(j, o, 1)) return 0;
            json_space(j);
            if (j->p >= j->end || *j->p != ':') return 0;
            j->p++;
            json_space(j);
            if (!open_field(o, 2, &value)) return 0;
        }
        if (!parse_value(j, o, depth + 1) || !close_field(o, value)) return 0;
        if (is_object && !close_field(o, member)) return 0;
        int next = json_next_member(j, close);
        if (next != 1) return next == 2 && close_field(o, value_start);
    }
}

/* The content of one google.protobuf.Value for the JSON value at j->p. */
static int parse_value(Json *j, Out *o, int depth) {
    if (depth > ROW_JSON_MAX_DEPTH || j->p >= j->end) return 0;
    switch (*j->p) {
    case '{': return parse_container(j, o, depth, 1);
    case '[': return parse_container(j, o, depth, 0);
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
    if (depth > ROW_JSON_MAX_DEPTH) return 0;
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

PyObject *encode_items(PyObject *self, PyObject *args) {
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

int rows_init(void) {
    PyDateTime_IMPORT;
    return PyDateTimeAPI != NULL;
}
