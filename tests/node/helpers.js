'use strict';
// Test helpers: attune-server as a child process on free loopback ports, the attune CLI, .npy files,
// tokens files and a TLS PKI.
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const BUILD = process.env.ATTUNE_BUILD_DIR || path.join(REPO, 'build');
const MODELS = path.join(BUILD, 'models');
const CLI = path.join(BUILD, 'client', 'cli', 'attune');

let client;
try {
  client = require(path.join(REPO, 'client', 'node'));
} catch (e) {
  throw new Error(`@attune/client cannot load (${e.message}); install its npm packages: (cd client/node && npm ci)`);
}

function tempDir(prefix = 'attune-nodetest-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts attune-server with `extra` flags; resolves to { address, dir, stop() }. */
async function startServer(extra = []) {
  const binary = path.join(BUILD, 'server', 'attune-server');
  if (!fs.existsSync(binary)) {
    throw new Error(`${binary} not built: build attune-server attune attune_test_models and set ATTUNE_BUILD_DIR`);
  }
  const dir = tempDir();
  const ready = path.join(dir, 'ready.json');
  const logPath = path.join(dir, 'server.log');
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(binary, ['--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data'),
    '--model-repository', MODELS, '--ready-file', ready, '--threads', '1', ...extra], { stdio: ['ignore', log, log] });
  let exited = null;
  proc.on('exit', (code) => { exited = code; });
  const deadline = Date.now() + 120000;
  while (!fs.existsSync(ready)) {
    if (exited !== null) throw new Error(`attune-server exited (${exited}): ${fs.readFileSync(logPath, 'utf8')}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`attune-server did not start: ${fs.readFileSync(logPath, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const info = JSON.parse(fs.readFileSync(ready, 'utf8'));
  return {
    address: `127.0.0.1:${info.grpc_port}`,
    dir,
    log: () => fs.readFileSync(logPath, 'utf8'),
    async stop() {
      if (exited === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
        await done;
        clearTimeout(timer);
      }
      fs.closeSync(log);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the attune CLI against `address`; returns its stdout (throws with stderr on failure). */
function cli(address, args, env = {}) {
  try {
    return execFileSync(CLI, args, { env: { ...process.env, ATTUNE_SERVER: address, ...env }, encoding: 'utf8', timeout: 300000 });
  } catch (e) {
    throw new Error(`attune ${args.join(' ')} failed (${e.status}): ${e.stderr}${e.stdout}`);
  }
}

const NPY_DTYPES = { FP32: '<f4', FP64: '<f8', INT64: '<i8', INT32: '<i4', UINT8: '|u1' };

/** Writes a tensor as a .npy file (format 1.0). */
function writeNpy(file, t) {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${NPY_DTYPES[t.datatype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
}

/** Reads a .npy file written by the CLI into a tensor. */
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const len = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + len).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const datatype = Object.keys(NPY_DTYPES).find((k) => NPY_DTYPES[k] === descr);
  const { fromBytes } = require(path.join(REPO, 'client', 'node', 'lib', 'tensors'));
  return fromBytes(datatype, shape, buf.subarray(10 + len));
}

/** A deterministic pseudo-random FP32 tensor in [0, 1). */
function randomTensor(shape, seed) {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; // xorshift32
    data[i] = s / 4294967296;
  }
  return client.tensor(data, shape);
}

/** tokens: { name: [token, roles] } -> a tokens file (server/rpc/auth.h format). */
function writeTokens(file, tokens) {
  const lines = Object.entries(tokens).map(([name, [token, roles]]) =>
    `${name} ${crypto.createHash('sha256').update(token).digest('hex')} ${roles}`);
  fs.writeFileSync(file, `# written by the Node client tests\n${lines.join('\n')}\n`);
  return file;
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate (openssl). */
function makePki(dir) {
  const script = [
    'set -e',
    'openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=attune-test-ca -keyout ca.key -out ca.pem',
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext",
    'openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr',
    'openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem',
    'openssl req -newkey rsa:2048 -nodes -subj /CN=attune-client -keyout client.key -out client.csr',
    'openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem',
  ].join('; ');
  execFileSync('bash', ['-c', script], { cwd: dir, stdio: 'pipe' });
  const p = (f) => path.join(dir, f);
  return { ca: p('ca.pem'), server: p('server.pem'), serverKey: p('server.key'), client: p('client.pem'), clientKey: p('client.key') };
}

/** Rows of tests/fixtures/noaa/weather.csv for one location, as objects of strings. */
function weatherRows(location = 'Seattle', limit = Infinity) {
  const [head, ...lines] = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'noaa', 'weather.csv'), 'utf8').trim().split('\n');
  const cols = head.split(',');
  const rows = [];
  for (const line of lines) {
    const f = line.split(',');
    if (f[0] !== location) continue;
    rows.push(Object.fromEntries(cols.map((c, i) => [c, f[i]])));
    if (rows.length >= limit) break;
  }
  return rows;
}

module.exports = { REPO, BUILD, MODELS, CLI, client, tempDir, startServer, cli, writeNpy, readNpy, randomTensor, writeTokens, makePki, weatherRows };
