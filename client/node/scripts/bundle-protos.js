'use strict';
// npm pack / publish: copies the repository's .proto files into the package (./proto), where
// lib/proto.js finds them when the package is used outside the repository.
const fs = require('node:fs');
const path = require('node:path');

const src = path.join(__dirname, '..', '..', '..', 'proto');
const dst = path.join(__dirname, '..', 'proto');
if (!fs.existsSync(path.join(src, 'attune', 'v1'))) {
  console.error(`bundle-protos: ${src} not found; run from the attune repository`);
  process.exit(1);
}
fs.rmSync(dst, { recursive: true, force: true });
fs.cpSync(src, dst, { recursive: true, filter: (p) => fs.statSync(p).isDirectory() || p.endsWith('.proto') });
console.log(`bundle-protos: copied ${src} -> ${dst}`);
