'use strict';
// The API key travels as `authorization: epi-single <key>`: a server of its own with keys.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Client, TrackstoreError, status } = require('..');
const { startServer } = require('../support/server');

const KEYS = `[keys.shop]
key = "a-shop-secret"
scopes = ["shop"]
`;

async function failure(promise) {
  const error = await promise.then(() => assert.fail('the call succeeded'), (failed) => failed);
  assert.ok(error instanceof TrackstoreError, `not a TrackstoreError: ${error}`);
  return error;
}

test('a key opens its scopes only; a wrong key is UNAUTHENTICATED', async () => {
  const server = await startServer({ files: { 'keys.toml': KEYS }, args: (dir) => ['--api-keys-file', path.join(dir, 'keys.toml')] });
  const clients = [];
  const client = (options) => {
    clients.push(new Client({ target: server.target, ...options }));
    return clients[clients.length - 1];
  };
  try {
    const shop = client({ apiKey: 'a-shop-secret', scope: 'shop' });
    const [id] = await shop.track([{ EventType: 'pageview' }]);
    assert.equal(await shop.delete(id), id);
    const denied = await failure(shop.preview('Events | count', { scope: 'other' }));
    assert.equal(denied.code, status.PERMISSION_DENIED);
    const wrong = await failure(client({ apiKey: 'not-the-key', scope: 'shop' }).preview('Events | count'));
    assert.equal(wrong.code, status.UNAUTHENTICATED);
    const none = await failure(client({ scope: 'shop' }).preview('Events | count'));
    assert.equal(none.code, status.UNAUTHENTICATED);
  } finally {
    clients.forEach((c) => c.close());
    await server.stop();
  }
});
