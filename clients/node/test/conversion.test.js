'use strict';
// Events to messages and Structs to plain values, without a server.
const test = require('node:test');
const assert = require('node:assert/strict');
const { eventToMessage, parseEventTime } = require('..');
const { fromStruct } = require('../lib/struct');

test('Profile Store fields map to the TrackEvent fields, User and Payload as JSON text', () => {
  const message = eventToMessage({
    TrackId: 'id-1', DeviceId: 'device', EventType: 'pageview', Value: 42, PageUri: 'https://x/',
    User: { Email: 'a@example.com' }, Payload: { price: 9.5, tags: ['a'] }, CountryCode: 'SE', City: null,
    EventTime: '2020-01-23T21:27:49Z',
  });
  assert.deepEqual(message, {
    track_id: 'id-1', device_id: 'device', event_type: 'pageview', value: '42', page_uri: 'https://x/',
    user_json: '{"Email":"a@example.com"}', payload_json: '{"price":9.5,"tags":["a"]}', country_code: 'SE',
    event_time: { seconds: 1579814869, nanos: 0 },
  });
});

test('bad events fail before any call, naming the problem', () => {
  assert.throws(() => eventToMessage({ EventType: 'x', Colour: 'red', Bogus: 1 }), /unknown event fields: Bogus, Colour/);
  assert.throws(() => eventToMessage({ User: 'a@example.com' }), /User must be a JSON object/);
  assert.throws(() => eventToMessage({ Payload: [1, 2] }), /Payload must be a JSON object/);
  assert.throws(() => eventToMessage(['EventType']), /an event must be a plain object/);
  assert.throws(() => eventToMessage({ EventTime: 'yesterday' }), /not an RFC 3339 time/);
});

test('EventTime keeps nanoseconds and applies the offset; no zone is UTC', () => {
  assert.deepEqual(parseEventTime('2020-01-23T21:27:49.3361008Z'), { seconds: 1579814869, nanos: 336100800 });
  assert.deepEqual(parseEventTime('2020-01-23T23:27:49.5+02:00'), { seconds: 1579814869, nanos: 500000000 });
  assert.deepEqual(parseEventTime('2020-01-23 21:27:49'), { seconds: 1579814869, nanos: 0 });
  assert.deepEqual(parseEventTime('1969-12-31T23:59:59.25Z'), { seconds: -1, nanos: 250000000 });
  assert.throws(() => parseEventTime('2020-02-30T00:00:00Z'), /not a valid date/);
  assert.throws(() => parseEventTime('2020-01-01T24:00:00Z'), /not a valid date/);
});

test('a Date EventTime is sent to the millisecond', () => {
  const message = eventToMessage({ EventTime: new Date(Date.UTC(2020, 0, 23, 21, 27, 49, 336)) });
  assert.deepEqual(message.event_time, { seconds: 1579814869, nanos: 336000000 });
});

test('a Struct becomes a plain object, keys in the given order first', () => {
  const struct = {
    fields: {
      b: { kind: 'numberValue', numberValue: 1.5 },
      a: { kind: 'structValue', structValue: { fields: { x: { kind: 'boolValue', boolValue: true } } } },
      c: { kind: 'listValue', listValue: { values: [{ kind: 'stringValue', stringValue: 's' }, { kind: 'nullValue', nullValue: 'NULL_VALUE' }] } },
    },
  };
  const plain = fromStruct(struct, ['c', 'missing', 'a']);
  assert.deepEqual(plain, { c: ['s', null], a: { x: true }, b: 1.5 });
  assert.deepEqual(Object.keys(plain), ['c', 'a', 'b']);
});
