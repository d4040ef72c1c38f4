'use strict';
// Every method against a real server (TRACKSTORE_TARGET, or one started by support/server.js).
const test = require('node:test');
const assert = require('node:assert/strict');
const { Client, TrackstoreError, status } = require('..');
const { testServer } = require('../support/server');

const RUN = `node-${process.pid}-${Date.now()}`;
let server;
let client;

test.before(async () => {
  server = await testServer();
  client = new Client({ target: server.target, scope: RUN });
});

test.after(async () => {
  if (client) client.close();
  if (server) await server.stop();
});

function events(count, type = 'pageview') {
  return Array.from({ length: count }, (_, i) => ({
    DeviceId: `device-${i}`,
    EventType: type,
    User: i % 2 === 0 ? { Email: `user${i}@example.com` } : null,
    Payload: { price: i * 1.5, n: i, tags: ['a', i] },
    EventTime: `2020-01-0${1 + i}T12:00:00.123456Z`,
  }));
}

async function rejection(promise) {
  const error = await promise.then(() => assert.fail('the call succeeded'), (failure) => failure);
  assert.ok(error instanceof TrackstoreError, `not a TrackstoreError: ${error}`);
  return error;
}

test('track then preview: the rows come back with Profile Store names and JSON values', async () => {
  const scope = `${RUN}-preview`;
  const ids = await client.track(events(3), { scope });
  assert.equal(ids.length, 3);
  const result = await client.preview(
    'Events | where EventType == "pageview" | sort by EventTime asc | project TrackId, DeviceId, User, Payload, EventTime',
    { scope },
  );
  assert.deepEqual(result.columns.map((c) => c.name), ['TrackId', 'DeviceId', 'User', 'Payload', 'EventTime']);
  assert.equal(result.count, 3);
  assert.equal(result.truncated, false);
  assert.deepEqual(result.items[0], {
    TrackId: ids[0], DeviceId: 'device-0', User: { Email: 'user0@example.com' },
    Payload: { price: 0, n: 0, tags: ['a', 0] }, EventTime: '2020-01-01T12:00:00.123456Z',
  });
  assert.equal(result.items[1].User, null);
  assert.deepEqual(Object.keys(result.items[2]), ['TrackId', 'DeviceId', 'User', 'Payload', 'EventTime']);
});

test('the client scope applies unless a call names another', async () => {
  const [id] = await client.track([{ EventType: 'scoped' }]);
  const own = await client.preview('Events | where EventType == "scoped" | project TrackId, Scope');
  assert.deepEqual(own.items, [{ TrackId: id, Scope: RUN }]);
  const other = await client.preview('Events | where EventType == "scoped" | count', { scope: `${RUN}-other` });
  assert.deepEqual(other.items, [{ Count: 0 }]);
});

test('list filters, orders and pages', async () => {
  const scope = `${RUN}-list`;
  await client.track([...events(5), ...events(2, 'purchase')], { scope });
  const page = await client.list({ scope, filter: "EventType eq 'pageview'", orderby: 'EventTime desc', skip: 1, top: 2 });
  assert.equal(page.count, 2);
  assert.deepEqual(page.items.map((e) => e.DeviceId), ['device-3', 'device-2']);
  assert.deepEqual(Object.keys(page.items[0]).slice(0, 3), ['TrackId', 'DeviceId', 'EventType']);
  assert.equal(page.items[0].Scope, scope);
  const all = await client.list({ scope });
  assert.equal(all.count, 7);
});

test('delete removes one event; deleting it again is NOT_FOUND', async () => {
  const scope = `${RUN}-delete`;
  const [first, second] = await client.track(events(2), { scope });
  assert.equal(await client.delete(first, { scope }), first);
  const left = await client.list({ scope });
  assert.deepEqual(left.items.map((e) => e.TrackId), [second]);
  const error = await rejection(client.delete(first, { scope }));
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.codeName, 'NOT_FOUND');
  assert.match(error.message, /^NOT_FOUND: .*no event with TrackId/);
  assert.equal(error.reason, 'NOT_FOUND');
});

test('batchDelete deletes all or none; allowMissing skips unknown ids', async () => {
  const scope = `${RUN}-batch`;
  const ids = await client.track(events(3), { scope });
  const error = await rejection(client.batchDelete([ids[0], 'no-such-id'], { scope }));
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal((await client.list({ scope })).count, 3);
  assert.deepEqual(await client.batchDelete([ids[0], 'no-such-id', ids[1]], { scope, allowMissing: true }), [ids[0], ids[1]]);
  assert.deepEqual((await client.list({ scope })).items.map((e) => e.TrackId), [ids[2]]);
});

test('trackStream sends batches from an async iterable in one call', async () => {
  const scope = `${RUN}-stream`;
  async function* batches() {
    yield events(2);
    yield events(3, 'purchase');
  }
  const result = await client.trackStream(batches(), { scope });
  assert.equal(result.eventCount, 5);
  assert.equal(result.trackIds.length, 5);
  assert.equal(result.streams, 1);
  assert.deepEqual((await client.preview('Events | count', { scope })).items, [{ Count: 5 }]);
});

test('trackStream goes on in a new call where an answer would not fit one message', async () => {
  const scope = `${RUN}-streams`;
  const limits = require('../lib/client').STREAM_LIMITS;
  const saved = limits.ackBytes;
  limits.ackBytes = 2 * 2 * (36 + 3) + 10; // scaled down: two batches of two events a call
  try {
    async function* batches() {
      for (let i = 0; i < 5; i += 1) yield events(2);
    }
    const result = await client.trackStream(batches(), { scope });
    assert.equal(result.streams, 3);
    assert.equal(result.eventCount, 10);
    assert.equal(new Set(result.trackIds).size, 10);
    assert.deepEqual((await client.preview('Events | count', { scope })).items, [{ Count: 10 }]);
  } finally {
    limits.ackBytes = saved;
  }
});

test('trackStream fails with the server refusal, or with the error of the batches themselves', async () => {
  const scope = `${RUN}-stream-refused`;
  const tooLarge = [{ EventType: 'big', Payload: { text: 'x'.repeat(1100 * 1024) } }];
  async function* refused() {
    yield events(1);
    yield tooLarge;
    yield events(1);
  }
  const refusal = await rejection(client.trackStream(refused(), { scope }));
  assert.equal(refusal.code, status.INVALID_ARGUMENT);
  async function* broken() {
    yield events(1);
    throw new Error('the source failed');
  }
  await assert.rejects(client.trackStream(broken(), { scope }), /the source failed/);
});

test('a query error is INVALID_ARGUMENT with its position and the google.rpc details', async () => {
  const error = await rejection(client.preview('Events | whre EventType == "x"'));
  assert.equal(error.code, status.INVALID_ARGUMENT);
  assert.match(error.serverMessage, /^line 1, column 10: /);
  assert.equal(error.reason, 'QUERY_INVALID');
  assert.deepEqual(error.fieldViolations.map((v) => v.field), ['query']);
  assert.equal(error.retryDelayMs, null);
  assert.deepEqual(error.details.map((d) => d.type), ['google.rpc.ErrorInfo', 'google.rpc.BadRequest']);
});

test('a bad event is refused before any call is made', async () => {
  await assert.rejects(client.track([{ EventType: 'x', Nope: 1 }]), TypeError);
});

test('every call has a deadline', async () => {
  const error = await rejection(client.preview('Events | count', { deadlineMs: 0 }));
  assert.equal(error.code, status.DEADLINE_EXCEEDED);
});

test('stats report the store', async () => {
  const stats = await client.stats();
  assert.ok(stats.events >= 1);
  assert.equal(typeof stats.maxPendingDeletions, 'number');
  assert.ok(Array.isArray(stats.promotedKeys));
  assert.ok(stats.memory.residentBytes > stats.memory.duckdbBytes);
  assert.equal(typeof stats.memory.trackIdIndexBytes, 'number');
});
