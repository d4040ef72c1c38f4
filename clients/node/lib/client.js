'use strict';
// A Promise-based client: one method per RPC, events and rows as plain objects with the
// Profile Store field names, a deadline on every call, failures as TrackstoreError.
const { once } = require('node:events');
const grpc = require('@grpc/grpc-js');
const { contract } = require('./contract');
const { eventToMessage, EVENT_FIELD_ORDER } = require('./events');
const { fromStruct } = require('./struct');
const { TrackstoreError } = require('./errors');

const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const DEFAULT_DEADLINE_MS = 30_000;
// A TrackStream's answer lists every TrackId of the stream in one message (the server's
// limits.MAX_STREAM_ACK_BYTES): a stream ends before its ids would pass this and the batches go
// on in the next. An id costs its UTF-8 bytes and 3 of framing; one the server makes is a
// 36-character UUID. Mutable for tests only.
const STREAM_LIMITS = { ackBytes: MAX_MESSAGE_BYTES - 1024 * 1024, serverTrackIdLength: 36 };

function listedBytes(events) {
  let bytes = 0;
  for (const event of events) {
    bytes += (event.track_id ? Buffer.byteLength(event.track_id) : STREAM_LIMITS.serverTrackIdLength) + 3;
  }
  return bytes;
}

class Client {
  #events;
  #admin;
  #metadata;

  /**
   * @param {object} [options]
   * @param {string} [options.target] host:port, default localhost:50051
   * @param {string} [options.apiKey] sent as `authorization: epi-single <key>`
   * @param {boolean} [options.tls] TLS with the system's roots (or rootCerts)
   * @param {Uint8Array} [options.rootCerts] PEM roots for TLS
   * @param {string} [options.scope] the scope of every call that names none, default "default"
   * @param {number} [options.deadlineMs] each call's deadline, default 30 s
   */
  constructor({ target = 'localhost:50051', apiKey, tls = false, rootCerts, scope = 'default', deadlineMs = DEFAULT_DEADLINE_MS } = {}) {
    const credentials = tls || rootCerts
      ? grpc.credentials.createSsl(rootCerts ? Buffer.from(rootCerts) : null)
      : grpc.credentials.createInsecure();
    const options = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    };
    const v1 = contract();
    this.#events = new v1.TrackEventsService(target, credentials, options);
    this.#admin = new v1.AdminService(target, credentials, { ...options, channelOverride: this.#events.getChannel() });
    this.scope = scope;
    this.deadlineMs = deadlineMs;
    this.#metadata = new grpc.Metadata();
    if (apiKey) this.#metadata.set('authorization', `epi-single ${apiKey}`);
  }

  /** Stores a batch of events (at most 10,000) atomically; resolves to their TrackIds. */
  async track(events, options = {}) {
    const request = { scope: this.#scope(options), events: Array.from(events, eventToMessage) };
    return (await this.#unary(this.#events, 'Track', request, options)).track_ids;
  }

  /**
   * Bulk ingest: each batch (an array of events, from an iterable or an async iterable) is one
   * message, in as many TrackStream calls as their answers need (each lists its TrackIds in one
   * message: about 1.7 million events a call). Resolves once every batch is durable; a failure
   * leaves the earlier calls' events stored.
   */
  async trackStream(batches, options = {}) {
    const scope = this.#scope(options);
    const trackIds = [];
    let eventCount = 0;
    let streams = 0;
    let stream = null;
    let listed = 0;
    const finish = async () => {
      stream.call.end();
      const response = await stream.answer;
      for (const id of response.track_ids) trackIds.push(id);
      eventCount += response.event_count;
      stream = null;
    };
    try {
      for await (const batch of batches) {
        const message = { scope, events: Array.from(batch, eventToMessage) };
        const size = listedBytes(message.events);
        if (stream && listed && listed + size > STREAM_LIMITS.ackBytes) await finish();
        if (!stream) {
          stream = this.#openStream(options);
          streams += 1;
          listed = 0;
        }
        listed += size;
        // A call the server ended never drains: its answer ends the wait instead.
        if (!stream.call.write(message)) await Promise.race([once(stream.call, 'drain'), stream.answer]);
      }
    } catch (error) {
      if (stream) stream.call.cancel();
      throw error;
    }
    if (!stream && streams === 0) {
      stream = this.#openStream(options);
      streams = 1;
    }
    if (stream) await finish();
    return { trackIds, eventCount, streams };
  }

  #openStream(options) {
    let call;
    const answer = new Promise((resolve, reject) => {
      call = this.#events.TrackStream(this.#metadata, this.#callOptions(options), (error, response) => (
        error ? reject(TrackstoreError.fromServiceError(error)) : resolve(response)));
    });
    answer.catch(() => {}); // a refusal while batches are still read is thrown by trackStream
    return { call, answer };
  }

  /** Runs a KQL query; rows come back as objects keyed by column name, in column order. */
  async preview(query, options = {}) {
    const response = await this.#unary(this.#events, 'Preview', { scope: this.#scope(options), query }, options);
    const order = response.columns.map((column) => column.name);
    return {
      columns: response.columns.map(({ name, type }) => ({ name, type })),
      items: response.items.map((item) => fromStruct(item, order)),
      count: response.count,
      truncated: response.truncated,
    };
  }

  /** Lists events with an OData filter and orderby, paged by skip and top (skip + top < 10,000). */
  async list({ filter = '', orderby = '', skip, top, ...options } = {}) {
    const request = { scope: this.#scope(options), filter, orderby };
    if (skip !== undefined && skip !== null) request.skip = skip;
    if (top !== undefined && top !== null) request.top = top;
    const response = await this.#unary(this.#events, 'List', request, options);
    return { items: response.items.map((item) => fromStruct(item, EVENT_FIELD_ORDER)), count: response.count };
  }

  /** Deletes one event; an unknown TrackId fails with NOT_FOUND. Resolves to the TrackId. */
  async delete(trackId, options = {}) {
    const request = { scope: this.#scope(options), track_id: trackId };
    return (await this.#unary(this.#events, 'Delete', request, options)).track_id;
  }

  /** Deletes up to 1000 events at once, all or none; resolves to the TrackIds deleted. */
  async batchDelete(trackIds, { allowMissing = false, ...options } = {}) {
    const request = { scope: this.#scope(options), track_ids: Array.from(trackIds), allow_missing: allowMissing };
    return (await this.#unary(this.#events, 'BatchDelete', request, options)).track_ids;
  }

  /** Runs compaction now (a key allowed every scope only). */
  async compact(options = {}) {
    const response = await this.#unary(this.#admin, 'Compact', {}, options);
    return { appliedDeletions: response.applied_deletions, seconds: response.seconds };
  }

  /** The state of the store. */
  async stats(options = {}) {
    const response = await this.#unary(this.#admin, 'GetStoreStats', {}, options);
    return {
      pendingDeletions: response.pending_deletions,
      maxPendingDeletions: response.max_pending_deletions,
      dataFiles: response.data_files,
      events: response.events,
      promotedKeys: response.promoted_keys,
      memory: memoryUse(response.memory ?? {}),
    };
  }

  close() {
    this.#events.close();
  }

  #scope(options) {
    return options.scope ?? this.scope;
  }

  #callOptions(options) {
    return { deadline: Date.now() + (options.deadlineMs ?? this.deadlineMs) };
  }

  #unary(service, method, request, options) {
    return new Promise((resolve, reject) => {
      service[method](request, this.#metadata, this.#callOptions(options), (error, response) => (
        error ? reject(TrackstoreError.fromServiceError(error)) : resolve(response)));
    });
  }
}

/** GetStoreStats' memory split, in camelCase (bytes; 0 where the server did not report one). */
function memoryUse(memory) {
  const names = ['resident', 'duckdb', 'duckdb_spilled', 'track_id_index', 'device_id_index',
    'malloc_in_use', 'malloc_free', 'arrow'];
  return Object.fromEntries(names.map((name) => [
    `${name.replace(/_([a-z])/g, (_, letter) => letter.toUpperCase())}Bytes`,
    memory[`${name}_bytes`] ?? 0,
  ]));
}

module.exports = { Client, DEFAULT_DEADLINE_MS, STREAM_LIMITS };
