// npm's install step: puts the addon next to index.js as tidings_nim.node.
// A package that already has it (built, or shipped) keeps it; otherwise it
// is built from this checkout with cargo (release profile unless
// TIDINGS_NODE_PROFILE=debug). TIDINGS_NODE_REBUILD=1 builds it anyway.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const addon = path.join(__dirname, '..', 'tidings_nim.node');
if (fs.existsSync(addon) && !process.env.TIDINGS_NODE_REBUILD) {
  process.exit(0);
}
const root = path.resolve(__dirname, '..', '..', '..');
if (!fs.existsSync(path.join(root, 'Cargo.toml'))) {
  console.error('tidings-nim: no tidings_nim.node in this package and no Tidings checkout to build it from');
  process.exit(1);
}
const profile = process.env.TIDINGS_NODE_PROFILE === 'debug' ? 'debug' : 'release';
const args = ['build', '-p', 'tidings-node'];
if (profile === 'release') args.push('--release');
try {
  execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });
} catch (e) {
  console.error(`tidings-nim: building the addon failed (cargo ${args.join(' ')}): ${e.message}`);
  console.error('tidings-nim: it needs Rust (https://rustup.rs) and a C compiler');
  process.exit(1);
}
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const names = { linux: 'libtidings_node.so', darwin: 'libtidings_node.dylib', win32: 'tidings_node.dll' };
fs.copyFileSync(path.join(targetDir, profile, names[process.platform] || names.linux), addon);
console.log(`tidings-nim: built ${addon} (${profile})`);
