'use strict';
// The gRPC contract, loaded at run time from the repository's proto/: the single source of
// truth for every language, so there is no copy here to drift.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');
const PROTO_FILES = ['trackstore/v1/trackevents.proto', 'trackstore/v1/admin.proto'];

let loaded = null;

/** The trackstore.v1 package: service constructors and message types. */
function contract() {
  if (loaded === null) {
    const definition = protoLoader.loadSync(PROTO_FILES, {
      includeDirs: [PROTO_ROOT],
      keepCase: true, // fields as the .proto spells them (track_id), mapped in lib/events.js
      longs: Number, // int64 counts; far below 2^53
      enums: String,
      defaults: true,
      oneofs: true,
    });
    loaded = grpc.loadPackageDefinition(definition).trackstore.v1;
  }
  return loaded;
}

module.exports = { contract, PROTO_ROOT };
