// `npm install <path to crates/node>` into a fresh folder gives a package
// that `require('tidings-nim')` loads: its install step builds the addon.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

test('npm install of the package folder, then require', () => {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-npm-'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'an-app', version: '1.0.0', private: true }));
  const env = { ...process.env, TIDINGS_NODE_PROFILE: 'debug', TIDINGS_NODE_REBUILD: '1' };
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', path.join(__dirname, '..')], {
    cwd: app,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const kinds = execFileSync(process.execPath, ['-e', "const nim = require('tidings-nim'); console.log(typeof nim.login, typeof nim.onRecvIMMessages)"], {
    cwd: app,
    encoding: 'utf8',
  });
  assert.equal(kinds.trim(), 'function function');
  fs.rmSync(app, { recursive: true, force: true });
});
