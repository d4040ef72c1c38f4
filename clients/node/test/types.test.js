'use strict';
// index.d.ts declares the API as index.js implements it: test/types/check.ts compiles in
// strict mode, and each misuse marked @ts-expect-error there is an error.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');

test('the TypeScript declarations type-check real use and reject misuse', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const check = path.join(__dirname, 'types', 'check.ts');
  const result = spawnSync(process.execPath, [
    tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--moduleResolution', 'node10',
    '--lib', 'es2022,dom', check,
  ], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});
