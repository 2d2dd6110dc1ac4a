// Starts the real `tidings` binary on ephemeral ports with a temporary data
// directory, and creates accounts through its server API.
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const root = path.resolve(__dirname, '..', '..', '..', '..');
const profile = process.env.TIDINGS_NODE_PROFILE === 'release' ? 'release' : 'debug';
const binary = path.join(process.env.CARGO_TARGET_DIR || path.join(root, 'target'), profile, 'tidings');

async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-node-'));
  const dataDir = path.join(dir, 'server');
  const child = spawn(binary, ['serve', '--data-dir', dataDir, '--http', '127.0.0.1:0', '--tcp', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, TIDINGS_LOG: 'warn' },
  });
  const lines = readline.createInterface({ input: child.stdout });
  const addresses = await new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error('server did not start')), 20000);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (line) => {
      const http = line.match(/^\s*http\s+http:\/\/(\S+)/);
      const tcp = line.match(/^\s*tcp\s+(\S+)/);
      if (http) found.http = http[1];
      if (tcp) found.tcp = tcp[1];
      if (found.http && found.tcp) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  const secrets = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8'));
  return {
    dir,
    http: addresses.http,
    tcp: addresses.tcp,
    appKey: secrets.default_app_key,
    appSecret: secrets.default_app_secret,
    async createAccount(accid) {
      const nonce = crypto.randomBytes(8).toString('hex');
      const curTime = String(Math.floor(Date.now() / 1000));
      const checkSum = crypto.createHash('sha1').update(secrets.default_app_secret + nonce + curTime).digest('hex');
      const response = await fetch(`http://${addresses.http}/nimserver/user/create.action`, {
        method: 'POST',
        headers: {
          AppKey: secrets.default_app_key,
          Nonce: nonce,
          CurTime: curTime,
          CheckSum: checkSum,
          'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8',
        },
        body: new URLSearchParams({ accid, name: accid }).toString(),
      });
      const answer = await response.json();
      if (answer.code !== 200) throw new Error(`create.action: ${JSON.stringify(answer)}`);
      return answer.info.token;
    },
    stop() {
      return new Promise((resolve) => {
        child.on('exit', () => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}

module.exports = { startServer };
