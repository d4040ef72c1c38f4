'use strict';
// The README's Node example runs as printed, against the test server.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('..');
const { testServer } = require('../support/server');

const README = path.resolve(__dirname, '..', '..', '..', 'README.md');

function readmeExample() {
  const section = fs.readFileSync(README, 'utf8').split('\n### Node\n')[1];
  assert.ok(section, 'README.md has no "### Node" section');
  return section.split('```js\n')[1].split('```')[0];
}

test("the README's Node example tracks, previews and deletes", async () => {
  const server = await testServer();
  const scope = `node-readme-${process.pid}-${Date.now()}`;
  try {
    const code = readmeExample()
      .replace("require('./clients/node')", 'require(clientPath)')
      .replace("'localhost:50051'", 'target')
      .replace("scope: 'default'", 'scope');
    const AsyncFunction = (async () => {}).constructor;
    const run = new AsyncFunction('require', 'clientPath', 'target', 'scope', `${code}\nclient.close();\nreturn { id, items };`);
    const { id, items } = await run(require, path.resolve(__dirname, '..'), server.target, scope);
    assert.deepEqual(items.map((item) => item.TrackId), [id]);
    assert.deepEqual(items[0].User, { Email: 'a@example.com' });
    const client = new Client({ target: server.target, scope });
    assert.equal((await client.list()).count, 0, 'the example deletes its event');
    client.close();
  } finally {
    await server.stop();
  }
});
