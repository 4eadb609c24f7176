'use strict';
// Runs the Node client's example scripts as a user would, against one live attune-server hosting the
// models scripts/run.sh hosts (cnn_bn, mlp), and checks what they report.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const h = require('./helpers');

const EXAMPLES = path.join(h.REPO, 'client', 'node', 'examples');

describe('examples', { timeout: 300000 }, () => {
  let server;
  before(async () => { server = await h.startServer(['--load-model', 'cnn_bn', '--load-model', 'mlp']); });
  after(async () => { await server?.stop(); });

  const run = (name, ...args) => {
    try {
      return execFileSync(process.execPath, [path.join(EXAMPLES, name), '--server', server.address, ...args], { encoding: 'utf8', timeout: 300000 });
    } catch (e) {
      throw new Error(`${name} failed (${e.status}): ${e.stderr}${e.stdout}`);
    }
  };

  it('quickstart.js', () => {
    const out = run('quickstart.js', '--model', path.join(h.MODELS, 'cnn_bn', '1', 'model.pt'));
    assert.match(out, /loaded quickstart version 1: \d+ parameters, features=true/);
    assert.match(out, /output FP32 \[4,10\], predicted classes \d,\d,\d,\d/);
    assert.match(out, /unknown model -> NOT_FOUND - model 'no-such-model' not found/);
  });

  it('training.js', () => {
    const out = run('training.js', '--epochs', '4');
    assert.match(out, /uploaded dataset quadrants: 1024 samples, 4 classes/);
    assert.match(out, /mlp version 2: 52 steps \(completed\)/);
    const [, before, after] = /([\d.]+) before, ([\d.]+) after/.exec(out).map(Number);
    assert.ok(after > before && after > 0.8, out);
  });

  it('adaptation.js', () => {
    const out = run('adaptation.js', '--batches', '6', '--publish', 'cnn_tent');
    const entropies = [...out.matchAll(/mean entropy ([\d.]+)/g)].map((m) => Number(m[1]));
    assert.equal(entropies.length, 6, out);
    assert.ok(entropies.at(-1) < entropies[0], out); // Tent minimises the prediction entropy
    assert.match(out, /192 samples, 6 updates/);
    assert.match(out, /published cnn_tent version 1/);
    assert.match(out, /\(eata\): Fisher information from 128 samples/);
    assert.equal([...out.matchAll(/reliable, \d+ used/g)].length, 6);
  });

  it('nowcasting.js', () => {
    const out = run('nowcasting.js', '--days', '200');
    assert.match(out, /ingested 200 days into weather-demo \(200 in total\)/);
    assert.match(out, /forecast issued 2012-07-18 \(/);
    assert.match(out, /temp_max\s+1\s+\d+\s+[\d.]+/);
    assert.match(run('nowcasting.js', '--days', '200'), /ingested 0 days into weather-demo \(200 in total\)/);
  });
});
