'use strict';
// A failed call as one error type carrying the gRPC code, the server's message and the
// google.rpc details the server sends in `grpc-status-details-bin` (ErrorInfo always,
// BadRequest for invalid input, RetryInfo for retryable refusals).
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

const TYPE_PREFIX = 'type.googleapis.com/';

// The google.rpc messages the server sends (googleapis google/rpc/status.proto and
// error_details.proto), declared here rather than shipped as .proto files; field names as
// their JSON mapping spells them (only the numbers reach the wire).
const RPC_TYPES = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { typeUrl: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
            Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 },
              },
            },
            RetryInfo: { fields: { retryDelay: { type: 'google.protobuf.Duration', id: 1 } } },
            BadRequest: {
              fields: { fieldViolations: { rule: 'repeated', type: 'FieldViolation', id: 1 } },
              nested: {
                FieldViolation: {
                  fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } },
                },
              },
            },
          },
        },
      },
    },
  },
});
const STATUS = RPC_TYPES.lookupType('google.rpc.Status');
const TO_OBJECT = { longs: Number, defaults: true, arrays: true, objects: true };

const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([name, code]) => [code, name]));

/** One google.rpc detail as a plain object with its type name, e.g. {type: 'google.rpc.ErrorInfo', reason, domain}. */
function decodeDetail(any) {
  const type = any.typeUrl.startsWith(TYPE_PREFIX) ? any.typeUrl.slice(TYPE_PREFIX.length) : any.typeUrl;
  const known = type.startsWith('google.rpc.') ? RPC_TYPES.lookup(type) : null;
  if (!(known instanceof protobuf.Type)) return { type, value: Buffer.from(any.value) };
  return { type, ...known.toObject(known.decode(any.value), TO_OBJECT) };
}

class TrackstoreError extends Error {
  /**
   * @param {number} code the gRPC status code (grpc.status)
   * @param {string} serverMessage the status message, e.g. "line 1, column 10: ..."
   * @param {object[]} details the google.rpc details, decoded
   */
  constructor(code, serverMessage, details = []) {
    const codeName = CODE_NAMES[code] || `CODE_${code}`;
    super(`${codeName}: ${serverMessage}`);
    this.name = 'TrackstoreError';
    this.code = code;
    this.codeName = codeName;
    this.serverMessage = serverMessage;
    this.details = details;
  }

  /** ErrorInfo's reason code, e.g. "QUERY_INVALID", or null. */
  get reason() {
    const info = this.details.find((detail) => detail.type === 'google.rpc.ErrorInfo');
    return info ? info.reason : null;
  }

  /** RetryInfo's delay in milliseconds, or null when the server gave none. */
  get retryDelayMs() {
    const info = this.details.find((detail) => detail.type === 'google.rpc.RetryInfo');
    if (!info || !info.retryDelay) return null;
    return info.retryDelay.seconds * 1000 + Math.round(info.retryDelay.nanos / 1e6);
  }

  /** BadRequest's field violations: [{field, description}]. */
  get fieldViolations() {
    const request = this.details.find((detail) => detail.type === 'google.rpc.BadRequest');
    return request ? request.fieldViolations : [];
  }

  /** The error of a failed @grpc/grpc-js call, with its rich details decoded. */
  static fromServiceError(error) {
    const [packed] = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
    let details = [];
    if (packed) {
      try {
        details = STATUS.decode(packed).details.map(decodeDetail);
      } catch (decodeError) {
        details = [{ type: 'undecodable', value: Buffer.from(packed), error: String(decodeError) }];
      }
    }
    return new TrackstoreError(error.code, error.details || error.message, details);
  }
}

module.exports = { TrackstoreError, CODE_NAMES };
