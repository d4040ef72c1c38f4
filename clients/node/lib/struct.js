'use strict';
// google.protobuf.Struct (as @grpc/proto-loader decodes it) <-> plain JavaScript values.

/** A decoded google.protobuf.Value as a plain value (Struct numbers are doubles). */
function fromValue(value) {
  switch (value.kind) {
    case 'nullValue':
      return null;
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return (value.listValue.values || []).map(fromValue);
    default:
      return null; // an unset Value is JSON null
  }
}

/** A decoded Struct as a plain object, its keys in `order` first (a Struct keeps no order). */
function fromStruct(struct, order = []) {
  const fields = (struct && struct.fields) || {};
  const out = {};
  for (const name of order) {
    if (Object.prototype.hasOwnProperty.call(fields, name)) out[name] = fromValue(fields[name]);
  }
  for (const [name, value] of Object.entries(fields)) {
    if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = fromValue(value);
  }
  return out;
}

module.exports = { fromStruct, fromValue };
