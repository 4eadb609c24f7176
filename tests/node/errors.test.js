'use strict';
// Every status code the API uses surfaces from the Node client as its typed error, with the gRPC
// code and the server's message; plus TLS / mutual TLS connections.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const h = require('./helpers');

const { Client, tensor, errors, status, AttuneError, JobFailed } = h.client;

/** A predicate for assert.rejects: the error is exactly `cls`, with `code` and every fragment. */
function typed(cls, code, ...fragments) {
  return (e) => {
    assert.equal(e.constructor, cls, `${e.constructor.name}: ${e.message}`);
    assert.ok(e instanceof AttuneError);
    assert.equal(e.code, code);
    assert.equal(e.codeName, Object.keys(status).find((k) => status[k] === code));
    for (const f of fragments) assert.ok(e.details.includes(f), `'${f}' not in: ${e.details}`);
    assert.ok(e.message.startsWith(`${e.codeName}: `));
    return true;
  };
}

describe('status codes', { timeout: 180000 }, () => {
  let server;
  let client;

  before(async () => {
    server = await h.startServer(['--max-sessions', '1', '--load-model', 'cnn_bn', '--load-model', 'mlp']);
    client = new Client(server.address);
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  it('NOT_FOUND', async () => {
    await assert.rejects(client.infer('no-such-model', tensor(new Float32Array(8), [1, 8])),
      typed(errors.NotFound, status.NOT_FOUND, 'no-such-model', 'not found'));
  });

  it('INVALID_ARGUMENT names the field and the shapes', async () => {
    await assert.rejects(client.infer('cnn_bn', tensor(new Float32Array(2 * 28 * 27), [2, 1, 28, 27])),
      typed(errors.InvalidArgument, status.INVALID_ARGUMENT, 'shape expected [-1,1,28,28], received [2,1,28,27]'));
    await assert.rejects(client.infer('mlp', tensor(new Float32Array(8).fill(NaN), [1, 8])),
      typed(errors.InvalidArgument, status.INVALID_ARGUMENT, 'non-finite'));
  });

  it('ALREADY_EXISTS', async () => {
    const x = tensor(new Float32Array(32), [4, 8]);
    const y = tensor(new BigInt64Array(4), [4]);
    await client.uploadDataset('dup', x, y);
    await assert.rejects(client.uploadDataset('dup', x, y),
      typed(errors.AlreadyExists, status.ALREADY_EXISTS, "dataset 'dup' already exists"));
  });

  it('FAILED_PRECONDITION', async () => {
    const stream = await client.nowcastStream('empty', { variables: ['a', 'b'], targets: ['a'] });
    await assert.rejects(stream.forecast(), typed(errors.FailedPrecondition, status.FAILED_PRECONDITION, 'empty'));
    await stream.delete();
  });

  it('RESOURCE_EXHAUSTED beyond --max-sessions', async () => {
    const first = await client.adaptSession('cnn_bn', { method: 'norm' });
    await assert.rejects(client.adaptSession('cnn_bn', { method: 'tent' }),
      typed(errors.ResourceExhausted, status.RESOURCE_EXHAUSTED, '1'));
    await first.close();
    await client.withAdaptSession('cnn_bn', { method: 'tent' }, async (s) => {
      assert.deepEqual((await s.adapt(tensor(new Float32Array(2 * 784), [2, 1, 28, 28]))).probabilities.shape, [2, 10]);
    });
  });

  it('a failed job is a typed error', async () => {
    // Labels 0..9 for a model with 4 outputs: the request is valid, the job fails while training.
    const x = h.randomTensor([64, 8], 3);
    const y = tensor(BigInt64Array.from({ length: 64 }, (_, i) => BigInt(i % 10)), [64]);
    await client.uploadDataset('ten-classes', x, y);
    let job;
    try {
      job = await client.train({ dataset: 'ten-classes', model: 'mlp', optimizer: 'sgd', lr: 0.1, maxSteps: 5 });
    } catch (e) { // rejected up front: also a typed error with the reason
      assert.ok(e instanceof errors.InvalidArgument, e.message);
      return;
    }
    await assert.rejects(job.result({ timeoutMs: 60000 }), (e) => {
      assert.ok(e instanceof JobFailed);
      assert.equal(e.job.metadata.state, 'JOB_FAILED');
      assert.ok(e.details.length > 0);
      assert.notEqual(e.code, status.OK);
      return true;
    });
  });

  it('UNAVAILABLE when nothing listens', async () => {
    const c = new Client('127.0.0.1:1', { timeoutMs: 5000 });
    await assert.rejects(c.listModels(), (e) => e instanceof errors.Unavailable && e.code === status.UNAVAILABLE);
    c.close();
  });

  it('rejects unknown options before calling', async () => {
    assert.throws(() => new Client(server.address, { tokn: 'x' }), /unknown option 'tokn'/);
    await assert.rejects(client.train({ dataset: 'd', model: 'mlp', max_step: 3 }), /unknown field 'max_step'/);
  });
});

describe('bearer tokens', { timeout: 120000 }, () => {
  it('UNAUTHENTICATED without a valid token, PERMISSION_DENIED without the role', async () => {
    const dir = h.tempDir();
    const tokens = h.writeTokens(path.join(dir, 'tokens'), { ops: ['admin-secret', 'admin'], app: ['infer-secret', 'infer'] });
    const server = await h.startServer(['--tokens-file', tokens, '--load-model', 'mlp']);
    const x = tensor(new Float32Array(8), [1, 8]);
    try {
      const anonymous = new Client(server.address);
      await assert.rejects(anonymous.listModels(), (e) => e instanceof errors.Unauthenticated && e.code === status.UNAUTHENTICATED && e.details.length > 0);
      anonymous.close();
      const wrong = new Client(server.address, { token: 'wrong' });
      await assert.rejects(wrong.infer('mlp', x), errors.Unauthenticated);
      wrong.close();
      const app = new Client(server.address, { token: 'infer-secret' });
      assert.deepEqual((await app.infer('mlp', x)).shape, [1, 4]);
      await assert.rejects(app.listDatasets(), typed(errors.PermissionDenied, status.PERMISSION_DENIED, 'train'));
      app.close();
      const ops = new Client(server.address, { token: 'admin-secret' });
      assert.deepEqual(await ops.listDatasets(), []);
      assert.ok((await ops.listModels()).some((m) => m.name === 'mlp'));
      ops.close();
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TLS', { timeout: 120000 }, () => {
  it('connects with TLS and mutual TLS', async () => {
    const dir = h.tempDir();
    const pki = h.makePki(dir);
    try {
      let server = await h.startServer(['--tls-cert', pki.server, '--tls-key', pki.serverKey]);
      try {
        const c = new Client(server.address, { tls: { ca: pki.ca } });
        assert.deepEqual(await c.listModels(), []);
        c.close();
        const c2 = new Client(server.address, { tls: pki.ca });
        assert.equal(await c2.health(), 'SERVING');
        c2.close();
        const plain = new Client(server.address, { timeoutMs: 5000 });
        await assert.rejects(plain.listModels(), errors.Unavailable);
        plain.close();
      } finally {
        await server.stop();
      }
      server = await h.startServer(['--tls-cert', pki.server, '--tls-key', pki.serverKey, '--tls-client-ca', pki.ca]);
      try {
        const c = new Client(server.address, { tls: { ca: pki.ca, cert: pki.client, key: pki.clientKey } });
        assert.deepEqual(await c.listModels(), []);
        c.close();
        const noCert = new Client(server.address, { tls: { ca: pki.ca }, timeoutMs: 5000 });
        await assert.rejects(noCert.listModels(), AttuneError);
        noCert.close();
      } finally {
        await server.stop();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => new Client('localhost:1', { tls: { ca: 'x', cert: 'y' } }), /needs both/);
  });
});
