/* trackstore_server._wire: the protobuf wire format and JSON text, without Python objects.
 *
 * Three jobs of the hot paths, each in its own file:
 *   requests.c     Track/TrackStream requests -> Arrow column buffers (server/fast_decode.py)
 *   struct_json.c  google.protobuf.Struct -> JSON text (ingest and event_batch.struct_to_json)
 *   rows.c         result rows -> serialized Structs (Preview and List, server/rows.py)
 *   idset.c        TrackId hashes and their membership tests (server/stored_ids.py)
 *   membership.c   a DeviceId in segments' sorted hashes (server/segments/membership.py)
 * with json_check.c (the strict JSON checker of ingest) and primitives.c beside them. Each
 * function answers None for whatever it is not sure of, and its caller then takes the
 * ordinary Python path, so this code may be conservative, never lenient.
 */
#include "wire.h"

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
    {"hash_ids", hash_ids, METH_VARARGS,
     "hash_ids(strings: list[str]) -> bytes: XXH64 of each string's UTF-8 (0 given as 1)."},
    {"hash_id_buffers", hash_id_buffers, METH_VARARGS,
     "hash_id_buffers(offsets, data, first, count, large) -> bytes: the same for strings of\n"
     "an Arrow string array's buffers."},
    {"table_insert", table_insert, METH_VARARGS,
     "table_insert(table, hashes) -> int: adds hashes to an open-addressing uint64 table."},
    {"table_probe", table_probe, METH_VARARGS,
     "table_probe(table, hashes, found): found[i] = 1 where hashes[i] is in the table."},
    {"parts_probe", parts_probe, METH_VARARGS,
     "parts_probe(parts, bits, hashes, found): found[i] = 1 where hashes[i] is in its sorted\n"
     "part, parts[hash >> (64 - bits)]."},
    {"held", members_holding, METH_VARARGS,
     "held(device_id: str, members: list) -> list[bool]: whether each segment's Members (`pairs`,\n"
     "sorted rows of two uint64, and `fence`: every FENCE_STRIDE-th pair's upper) holds the\n"
     "MD5 of the DeviceId."},
    {"device_digest", device_digest, METH_VARARGS,
     "device_digest(device_id: str) -> bytes: the MD5 digest of the DeviceId's UTF-8."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_wire", NULL, -1, METHODS};

PyMODINIT_FUNC PyInit__wire(void) {
    if (!rows_init()) return NULL;
    PyObject *module = PyModule_Create(&MODULE);
    if (module && (!add_wire_constants(module) ||
                   PyModule_AddIntConstant(module, "FENCE_STRIDE", FENCE_STRIDE) < 0))
        Py_CLEAR(module);
    return module;
}

