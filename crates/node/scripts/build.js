// Builds the addon with cargo and puts it next to index.js as tidings_nim.node.
// Also builds the `tidings` binary the tests run as their server.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');
const profile = process.env.TIDINGS_NODE_PROFILE === 'release' ? 'release' : 'debug';
const args = ['build', '-p', 'tidings-node', '-p', 'tidings-cli'];
if (profile === 'release') args.push('--release');
execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });

const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const names = { linux: 'libtidings_node.so', darwin: 'libtidings_node.dylib', win32: 'tidings_node.dll' };
const built = path.join(targetDir, profile, names[process.platform] || names.linux);
fs.copyFileSync(built, path.join(__dirname, '..', 'tidings_nim.node'));
console.log(`addon: ${built} -> tidings_nim.node`);
