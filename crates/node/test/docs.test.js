// The Node example of docs/nim-api.md, run as a user would: saved as
// example.js in a folder of its own, `require('tidings-nim')` resolved to
// this package, the TIDINGS_* variables pointing at a real server.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { startServer } = require('./support/server');

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

/** The fenced block of `lang` right after the line holding `marker`. */
function blockAfter(file, marker, lang) {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `no ${marker} in ${file}`);
  const open = text.indexOf('```' + lang + '\n', at);
  const close = text.indexOf('\n```', open + 4 + lang.length);
  return text.slice(open + 4 + lang.length, close + 1);
}

test('the Node example of docs/nim-api.md runs as it is', async () => {
  const doc = path.join(__dirname, '..', '..', '..', 'docs', 'nim-api.md');
  const example = blockAfter(doc, 'tested: crates/node/test/docs.test.js', 'js');
  const app = path.join(server.dir, 'docs-example');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.symlinkSync(path.join(__dirname, '..'), path.join(app, 'node_modules', 'tidings-nim'));
  fs.writeFileSync(path.join(app, 'example.js'), example);
  const token = await server.createAccount('doc-alice');
  await server.createAccount('doc-bob');
  const env = {
    ...process.env,
    TIDINGS_APP_KEY: server.appKey,
    TIDINGS_SERVER: `http://${server.http}`,
    TIDINGS_ACCOUNT: 'doc-alice',
    TIDINGS_TOKEN: token,
    TIDINGS_PEER: 'doc-bob',
  };
  const output = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['example.js'], { cwd: app, env, timeout: 30000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
  assert.match(output, /^sent \d+$/m);
  assert.match(output, /^recent sessions 1$/m);
});
