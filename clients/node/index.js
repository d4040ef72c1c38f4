'use strict';
/**
 * trackstore for Node: a Promise-based client on @grpc/grpc-js.
 *
 *   const { Client } = require('trackstore-client');
 *   const client = new Client({ target: 'localhost:50051', scope: 'default' });
 *   const [id] = await client.track([{ EventType: 'pageview', User: { Email: 'a@example.com' } }]);
 *   const { items } = await client.preview("Events | where EventType == 'pageview' | take 10");
 *   await client.delete(id);
 */
const { status } = require('@grpc/grpc-js');
const { Client, DEFAULT_DEADLINE_MS } = require('./lib/client');
const { TrackstoreError } = require('./lib/errors');
const { eventToMessage, parseEventTime } = require('./lib/events');
const { PROTO_ROOT } = require('./lib/contract');

module.exports = { Client, TrackstoreError, status, eventToMessage, parseEventTime, PROTO_ROOT, DEFAULT_DEADLINE_MS };
