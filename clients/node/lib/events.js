'use strict';
// Events as plain objects with the Profile Store field names (the JSON a user already has),
// mapped to trackstore.v1.TrackEvent as the Python client maps them: strings as they are,
// User and Payload as JSON text (cheaper for the server to decode than a Struct), EventTime an
// RFC 3339 string or a Date.

/** Profile Store name -> TrackEvent field, for the plain string fields. */
const STRING_FIELDS = {
  TrackId: 'track_id',
  DeviceId: 'device_id',
  EventType: 'event_type',
  Value: 'value',
  Scope: 'scope',
  PageUri: 'page_uri',
  PageTitle: 'page_title',
  RemoteAddress: 'remote_address',
  SessionId: 'session_id',
  CountryCode: 'country_code',
  City: 'city',
};
const JSON_FIELDS = { User: 'user_json', Payload: 'payload_json' };
const KNOWN_FIELDS = new Set([...Object.keys(STRING_FIELDS), ...Object.keys(JSON_FIELDS), 'EventTime']);
/** The order of an event's fields in List items, as the server's schema has them. */
const EVENT_FIELD_ORDER = [
  'TrackId', 'DeviceId', 'EventType', 'Value', 'Scope', 'PageUri', 'PageTitle', 'RemoteAddress',
  'SessionId', 'User', 'Payload', 'CountryCode', 'City', 'EventTime',
];

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?$/;

/**
 * An RFC 3339 time as a google.protobuf.Timestamp, to the nanosecond (.NET writes 7 fraction
 * digits, which a Date would cut to 3). No zone means UTC.
 */
function parseEventTime(text) {
  const match = RFC3339.exec(String(text).trim());
  if (!match) {
    throw new TypeError(`EventTime ${JSON.stringify(text)} is not an RFC 3339 time like 2020-01-23T21:27:49Z`);
  }
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const utcMillis = Date.UTC(+year, +month - 1, +day, +hour, +minute, +second);
  const check = new Date(utcMillis);
  if (check.getUTCDate() !== +day || check.getUTCMonth() !== +month - 1 || +hour > 23 || +minute > 59 || +second > 59) {
    throw new TypeError(`EventTime ${JSON.stringify(text)} is not a valid date and time`);
  }
  let offsetSeconds = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    offsetSeconds = sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  return { seconds: utcMillis / 1000 - offsetSeconds, nanos: Number((fraction || '').padEnd(9, '0')) };
}

function timestampOf(value) {
  if (value instanceof Date) {
    const millis = value.getTime();
    if (Number.isNaN(millis)) throw new TypeError('EventTime is an invalid Date');
    const seconds = Math.floor(millis / 1000);
    return { seconds, nanos: (millis - seconds * 1000) * 1e6 };
  }
  return parseEventTime(value);
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

/** A Profile Store event object as a trackstore.v1.TrackEvent message. */
function eventToMessage(event) {
  if (!isPlainObject(event)) throw new TypeError('an event must be a plain object');
  const unknown = Object.keys(event).filter((name) => !KNOWN_FIELDS.has(name));
  if (unknown.length) throw new TypeError(`unknown event fields: ${unknown.sort().join(', ')}`);
  const message = {};
  for (const [name, field] of Object.entries(STRING_FIELDS)) {
    const value = event[name];
    if (value !== undefined && value !== null) message[field] = String(value);
  }
  for (const [name, field] of Object.entries(JSON_FIELDS)) {
    const value = event[name];
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) throw new TypeError(`${name} must be a JSON object`);
    message[field] = JSON.stringify(value);
  }
  if (event.EventTime !== undefined && event.EventTime !== null && event.EventTime !== '') {
    message.event_time = timestampOf(event.EventTime);
  }
  return message;
}

module.exports = { eventToMessage, parseEventTime, EVENT_FIELD_ORDER, STRING_FIELDS };
