// A script that only listens stays alive while it is logged in, and ends
// once it logs out: the addon's callbacks alone would let Node exit at once.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const nim = require('..');
const { startServer } = require('./support/server');

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

const listener = `
const nim = require(${JSON.stringify(path.join(__dirname, '..'))});
const [appKey, address, dataDir, token] = process.argv.slice(1);
nim.init({ appKey, server: address, dataDir });
nim.onRecvIMMessages((ret) => {
  for (const m of ret.messages) console.log('got ' + m.text);
  nim.logout();
});
nim.login({ userId: 'listener', password: token }).then(() => console.log('ready'));
`;

test('a listen-only script receives a message sent 2 s after its login, and ends after logout', async () => {
  const token = await server.createAccount('listener');
  const senderToken = await server.createAccount('sender');
  const child = spawn(process.execPath, ['-e', listener, server.appKey, server.tcp, path.join(server.dir, 'listener'), token], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = [];
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === 'ready') resolve();
    });
    exited.then((code) => reject(new Error(`the script ended (${code}) before it was ready: ${lines}`)));
  });
  await ready;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const sender = new nim.Nim();
  sender.init({ appKey: server.appKey, server: server.tcp, dataDir: path.join(server.dir, 'sender') });
  await sender.login({ userId: 'sender', password: senderToken });
  await sender.sendText({ sessionId: 'listener', sessionType: 0, content: 'two seconds later' });
  const timeout = setTimeout(() => child.kill(), 20000);
  const code = await exited;
  clearTimeout(timeout);
  await sender.logout();
  assert.equal(code, 0, `the script ended by itself after logout: ${lines}`);
  assert.ok(lines.includes('got two seconds later'), lines.join('\n'));
});
