'use strict';
// The server the tests talk to: the one at TRACKSTORE_TARGET, or else one started here as
// users start it (`trackstore serve --port 0`), on a fresh data directory, stopped at the end.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const LISTENING = /trackstore listening on (\S+)/;
const START_TIMEOUT_MS = 60_000;

/** The `trackstore` command: TRACKSTORE_BIN, the repository's .venv, or the one on PATH. */
function trackstoreCommand() {
  if (process.env.TRACKSTORE_BIN) return process.env.TRACKSTORE_BIN;
  const venv = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin', 'trackstore');
  return fs.existsSync(venv) ? venv : 'trackstore';
}

/** The shared test server: resolves to {target, stop()}. */
async function testServer() {
  if (process.env.TRACKSTORE_TARGET) return { target: process.env.TRACKSTORE_TARGET, stop: async () => {} };
  return startServer();
}

/**
 * A server of its own, always started here: `files` are written into its directory first
 * (e.g. an API keys file) and `args(dir)` gives the extra arguments of `trackstore serve`.
 */
async function startServer({ files = {}, args = () => [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trackstore-node-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const logPath = path.join(dir, 'server.log');
  const child = spawn(trackstoreCommand(), [
    'serve', '--port', '0', '--http-port', '0', '--data-dir', path.join(dir, 'data'), '--drain-seconds', '0',
    ...args(dir),
  ], { stdio: ['ignore', 'pipe', fs.openSync(logPath, 'w')] });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    return { target: await listeningAddress(child, logPath), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function listeningAddress(child, logPath) {
  return new Promise((resolve, reject) => {
    const failed = (why) => {
      clearTimeout(timer);
      const log = fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').slice(-3000) : '';
      reject(new Error(`trackstore serve did not start (${why}): ${log}`));
    };
    const timer = setTimeout(() => failed('timed out'), START_TIMEOUT_MS);
    child.once('error', (error) => failed(error.message));
    child.once('exit', (code) => failed(`exit status ${code}`));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = LISTENING.exec(line);
      if (match) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(match[1]);
      }
    });
  });
}

module.exports = { testServer, startServer };
