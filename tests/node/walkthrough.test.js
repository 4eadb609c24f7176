'use strict';
// The Node client's walkthrough against one live attune-server, checked against what the attune CLI
// returns for the same requests: inference, a training job watched to completion, adaptation
// sessions, and nowcasting streams fed from the NOAA fixture.
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const h = require('./helpers');

const { Client, tensor, argmax, errors, JobCancelled } = h.client;
const CNN = path.join(h.MODELS, 'cnn_bn', '1', 'model.pt');
const WEATHER = ['precipitation', 'temp_max', 'temp_min', 'wind'];

/** 8 features, 4 classes given by the signs of the first two. */
function synthetic(n, seed) {
  const x = h.randomTensor([n, 8], seed);
  for (let i = 0; i < x.data.length; i++) x.data[i] = x.data[i] * 2 - 1;
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = (x.data[i * 8] > 0 ? 2 : 0) + (x.data[i * 8 + 1] > 0 ? 1 : 0);
  return { x, y: tensor(y, [n]) };
}

describe('walkthrough', { timeout: 300000 }, () => {
  let server;
  let client;
  let tmp;

  before(async () => {
    server = await h.startServer();
    client = new Client(server.address);
    assert.equal(await client.waitReady(), 'SERVING');
    tmp = h.tempDir();
  });

  after(async () => {
    client?.close();
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads a TorchScript model and infers exactly what the CLI returns', async () => {
    const m = await client.loadModel(CNN, 'cnn', { inputs: [['image', 'FP32', [-1, 1, 28, 28]]] });
    assert.equal(m.name, 'cnn');
    assert.equal(m.servingVersion, 1);
    const v = m.versions.at(-1);
    assert.equal(v.state, 'READY');
    assert.equal(v.hasFeatures, true);
    assert.equal(v.batchnormLayers, 3);
    assert.deepEqual(v.inputs[0], { name: 'image', dtype: 'FLOAT32', shape: [-1, 1, 28, 28] });

    const x = h.randomTensor([4, 1, 28, 28], 7);
    const y = await client.infer('cnn', x);
    assert.equal(y.datatype, 'FP32');
    assert.deepEqual(y.shape, [4, 10]);
    assert.ok(y.data instanceof Float32Array);

    const xFile = path.join(tmp, 'x.npy');
    const yFile = path.join(tmp, 'y.npy');
    h.writeNpy(xFile, x);
    const json = JSON.parse(h.cli(server.address, ['infer', 'cnn', '--npy', xFile, '--out', yFile, '--json']));
    const fromCli = h.readNpy(yFile);
    assert.deepEqual(fromCli.shape, y.shape);
    assert.deepEqual(Array.from(y.data), Array.from(fromCli.data)); // bit for bit
    assert.deepEqual(json.outputs[0].shape, [4, 10]);
    assert.deepEqual(json.outputs[0].data.map(Math.fround), Array.from(y.data));

    // Exported bytes load back and answer the same; the old version still answers when named.
    const bytes = await client.exportModel('cnn');
    assert.ok(bytes.length > 1000);
    assert.equal((await client.loadModel(bytes, 'cnn', { inputs: [['image', 'FP32', [-1, 1, 28, 28]]] })).servingVersion, 2);
    assert.deepEqual(Array.from((await client.infer('cnn', x, { version: 1 })).data), Array.from(y.data));
    assert.deepEqual(Array.from((await client.infer('cnn', x)).data), Array.from(y.data));
    assert.ok((await client.listModels()).some((mm) => mm.name === 'cnn'));
    assert.equal((await client.modelMetadata('cnn')).inputs[0].name, 'image');
    assert.deepEqual(await client.unloadModel('cnn'), [1, 2]);
    await assert.rejects(client.getModel('cnn'), (e) => e instanceof errors.NotFound && e.details.includes("'cnn'"));
  });

  it('creates a built-in architecture and agrees with the CLI on it', async () => {
    const m = await client.createModel('tiny', 'mlp', { inFeatures: 3, hidden: [5], outFeatures: 2 }, { seed: 7 });
    assert.equal(m.versions[0].origin, 'architecture:mlp');
    const x = tensor([[1, 2, 3], [0, 0, 0], [-1, 0.5, 2]]);
    const y = await client.infer('tiny', x);
    assert.deepEqual(y.shape, [3, 2]);
    const xFile = path.join(tmp, 'tiny.npy');
    h.writeNpy(xFile, x);
    const json = JSON.parse(h.cli(server.address, ['infer', 'tiny', '--npy', xFile, '--json']));
    assert.deepEqual(json.outputs[0].data.map(Math.fround), Array.from(y.data));
    await assert.rejects(client.createModel('bad', 'mlp', { in_features: 3, outFeature: 2 }), /unknown field 'outFeature'/);
  });

  it('uploads a dataset, trains, watches the job to completion and serves the new version', async () => {
    await client.loadFromRepository('mlp', { name: 'mlp-train' });
    const { x, y } = synthetic(256, 11);
    const d = await client.uploadDataset('syn', x, y);
    assert.equal(d.samples, 256);
    assert.equal(d.classes, 4);
    assert.deepEqual(d.features.shape, [8]);
    assert.equal(d.labels.dtype, 'INT64');
    assert.ok((await client.listDatasets()).some((ds) => ds.name === 'syn'));

    const job = await client.train({
      dataset: 'syn', model: 'mlp-train', optimizer: 'adan', lr: 0.01, batchSize: 32, epochs: 4,
      validationSplit: 0.25, checkpointEverySteps: 10, seed: 3,
    });
    assert.match(job.name, /^jobs\//);
    const events = [];
    for await (const ev of job.watch()) events.push(ev);
    assert.equal(events[0].kind, 'STATE');
    const last = events.at(-1);
    assert.equal(last.done, true);
    assert.equal(last.job.metadata.state, 'JOB_SUCCEEDED', JSON.stringify(last.job.error));
    const progress = events.filter((e) => e.kind === 'PROGRESS').map((e) => e.metadata);
    assert.ok(progress.length > 0);
    assert.deepEqual(progress.map((p) => p.step), [...progress.map((p) => p.step)].sort((a, b) => a - b));
    assert.ok(progress.every((p) => Number.isFinite(p.loss) && p.learningRate > 0));
    assert.ok(events.some((e) => e.kind === 'VALIDATION'));
    assert.ok(events.some((e) => e.kind === 'CHECKPOINT'));

    const r = await job.result();
    assert.equal(job.state, 'JOB_SUCCEEDED');
    assert.equal(r.modelName, 'mlp-train');
    assert.equal(r.modelVersion, 2);
    assert.equal(r.steps, 4 * 6);
    assert.equal(r.stopReason, 'completed');
    // Below chance level (ln 4 for 4 balanced classes): the job learned. (The watch may attach
    // after most of these 24 fast steps, so its first progress event is no baseline.)
    assert.ok(r.finalLoss < Math.log(4), `final loss ${r.finalLoss} vs chance ${Math.log(4)}`);

    // What the CLI sees for the job and for the new serving version is what the client saw.
    const cliJob = JSON.parse(h.cli(server.address, ['jobs', 'get', job.id, '--json']));
    assert.equal(cliJob.metadata.state, 'JOB_SUCCEEDED');
    assert.equal(Number(cliJob.response.steps), 24);
    const sample = tensor(x.data.slice(0, 8 * 8), [8, 8]);
    const xFile = path.join(tmp, 'syn.npy');
    h.writeNpy(xFile, sample);
    const json = JSON.parse(h.cli(server.address, ['infer', 'mlp-train', '--npy', xFile, '--json']));
    assert.equal(json.model_version, '2');
    assert.deepEqual(json.outputs[0].data.map(Math.fround), Array.from((await client.infer('mlp-train', sample)).data));
    assert.ok((await client.listJobs('succeeded')).some((j) => j.name === job.name));
    assert.equal((await client.job(job.id)).info.response.steps, 24);
  });

  it('cancels a running job: result() rejects with JobCancelled', async () => {
    await client.loadFromRepository('mlp', { name: 'mlp-cancel' });
    const { x, y } = synthetic(128, 12);
    await client.uploadDataset('syn-cancel', x, y);
    const job = await client.train({ dataset: 'syn-cancel', model: 'mlp-cancel', optimizer: 'sgd', lr: 0.01, batchSize: 2, maxSteps: 1e7 });
    for await (const ev of job.watch()) if (ev.kind === 'PROGRESS') break; // running; break ends the watch
    await job.cancel();
    await assert.rejects(job.result({ timeoutMs: 60000 }), (e) => e instanceof JobCancelled && e.job.metadata.state === 'JOB_CANCELLED');
    assert.equal((await client.getModel('mlp-cancel')).servingVersion, 1);
  });

  it('trains online over TrainStream and publishes on close', async () => {
    await client.loadFromRepository('mlp', { name: 'mlp-online' });
    const { x, y } = synthetic(64, 13);
    const t = client.trainOnline('mlp-online', { optimizer: 'sgd', lr: 0.1 });
    const steps = [];
    for (let i = 0; i < 64; i += 16) {
      steps.push(await t.step(tensor(x.data.slice(i * 8, (i + 16) * 8), [16, 8]), tensor(y.data.slice(i, i + 16), [16])));
    }
    assert.deepEqual(steps.map((s) => s.step), [1, 2, 3, 4]);
    assert.ok(steps.every((s) => Number.isFinite(s.loss)));
    const published = await t.close();
    assert.equal(published.name, 'mlp-online');
    assert.equal(published.servingVersion, 2);
  });

  it('adapts with Tent exactly as the CLI does, and publishes', async () => {
    await client.loadFromRepository('cnn_bn', { name: 'cnn-tent' });
    const x = h.randomTensor([16, 1, 28, 28], 21);
    const xFile = path.join(tmp, 'adapt.npy');
    h.writeNpy(xFile, x);

    const session = await client.adaptSession('cnn-tent', { method: 'tent', lr: 1e-3 });
    assert.equal(session.info.options.method, 'tent');
    const outs = [];
    for (let i = 0; i < 16; i += 8) outs.push(await session.adapt(tensor(x.data.slice(i * 784, (i + 8) * 784), [8, 1, 28, 28]), { returnLogits: i === 0 }));
    assert.deepEqual(outs.map((o) => o.sequence), [1, 2]);
    for (const o of outs) {
      assert.deepEqual(o.probabilities.shape, [8, 10]);
      assert.deepEqual(o.predictions, argmax(o.probabilities));
      assert.equal(o.stats.samples, 8);
      assert.equal(o.stats.updated, true);
      // The reported mean entropy is that of the returned probabilities.
      let entropy = 0;
      for (let r = 0; r < 8; r++) for (let c = 0; c < 10; c++) {
        const p = o.probabilities.data[r * 10 + c];
        if (p > 0) entropy -= p * Math.log(p) / 8;
      }
      assert.ok(Math.abs(entropy - o.stats.meanEntropy) < 1e-4, `${entropy} vs ${o.stats.meanEntropy}`);
    }
    assert.deepEqual(outs[0].logits.shape, [8, 10]);
    assert.equal(outs[1].logits, null);
    const info = await session.refresh();
    assert.equal(info.stats.batches, 2);
    assert.equal(info.stats.updates, 2);
    assert.ok(info.stats.paramDistance > 0);

    // The CLI adapting the same batches in a fresh session from the same source model agrees.
    const cli = JSON.parse(h.cli(server.address, ['adapt', '--model', 'cnn-tent', '--method', 'tent', '--lr', '0.001',
      '--input', xFile, '--batch-size', '8', '--json']));
    const nodeMean = (outs[0].stats.meanEntropy + outs[1].stats.meanEntropy) / 2;
    assert.ok(Math.abs(cli.mean_entropy - nodeMean) < 1e-5, `CLI ${cli.mean_entropy} vs client ${nodeMean}`);
    assert.equal(Number(cli.session.stats.updates), 2);
    assert.ok(Math.abs(cli.session.stats.param_distance - info.stats.paramDistance) < 1e-6);

    const published = await session.publish('cnn-tent-adapted');
    assert.equal(published.versions.at(-1).origin, `adaptation:${session.id}`);
    const many = [];
    for await (const o of session.adaptMany([x, x])) many.push(o.sequence);
    assert.deepEqual(many, [3, 4]); // sequence numbers are per session, not per stream
    assert.ok((await client.listSessions()).some((s) => s.id === session.id));
    await session.close();
    assert.ok(!(await client.listSessions()).some((s) => s.id === session.id));
    await assert.rejects(client.session(session.id), errors.NotFound);
    assert.deepEqual((await client.infer('cnn-tent-adapted', x)).shape, [16, 10]);
  });

  it('runs EATA with a Fisher from streamed samples and LAME, closing sessions with withAdaptSession', async () => {
    await client.loadFromRepository('cnn_bn', { name: 'cnn-eata' });
    const clean = h.randomTensor([64, 1, 28, 28], 22);
    let sid;
    const reliable = await client.withAdaptSession('cnn-eata', { method: 'eata', eMarginFactor: 0.9, fisherAlpha: 1 }, async (s) => {
      sid = s.id;
      const info = await s.computeFisher({ samples: clean, batchSize: 16 });
      assert.equal(info.hasFisher, true);
      assert.equal(info.fisherSamples, 64);
      const out = await s.adapt(tensor(clean.data.slice(0, 16 * 784), [16, 1, 28, 28]));
      assert.equal(out.stats.samples, 16);
      assert.ok(out.stats.reliable >= out.stats.used);
      assert.equal((await s.reset()).stats.resets, 1);
      return out.stats.reliable;
    });
    assert.ok(reliable >= 0);
    assert.ok(!(await client.listSessions()).some((s) => s.id === sid));
    await client.withAdaptSession('cnn-eata', { method: 'lame', affinity: 'knn', knn: 3 }, async (s) => {
      const out = await s.adapt(tensor(clean.data.slice(0, 10 * 784), [10, 1, 28, 28]));
      for (let r = 0; r < 10; r++) {
        const sum = out.probabilities.data.slice(r * 10, r * 10 + 10).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-4);
      }
    });
    await assert.rejects(client.adaptSession('cnn-eata', { method: 'tent', learningRate: 1 }), /unknown field 'learningRate'/);
  });

  it('ingests weather rows into a nowcasting stream with the same forecasts as the CLI', async () => {
    const rows = h.weatherRows('Seattle', 130);
    const stream = await client.nowcastStream('node-seattle', { variables: WEATHER, targets: ['temp_max'], retrainMode: 'synchronous' });
    assert.deepEqual(stream.info.config.horizons, [1, 2, 3]);
    assert.equal(stream.info.config.resolutionSeconds, 86400);
    await assert.rejects(stream.forecast(), errors.FailedPrecondition);

    const r = await stream.ingest(rows.slice(0, 100), { batchSize: 32 }); // objects straight from the CSV
    assert.equal(r.ingested, 100);
    assert.equal(r.observations, 100);
    assert.deepEqual(r.results.map((x) => x.step), [...Array(100).keys()]);
    assert.equal(r.results[0].time, 1325376000); // 2012-01-01T00:00:00Z
    const pairs = rows.slice(100, 120).map((row) => [row.date, Object.fromEntries(WEATHER.map((v) => [v, Number(row[v])]))]);
    assert.equal((await stream.ingest(pairs)).observations, 120);

    h.cli(server.address, ['nowcast', 'create', 'cli-seattle', '--variables', WEATHER.join(','), '--targets', 'temp_max', '--synchronous']);
    const csv = path.join(h.REPO, 'tests', 'fixtures', 'noaa', 'weather.csv');
    const ingested = JSON.parse(h.cli(server.address, ['nowcast', 'ingest', 'cli-seattle', csv, '--where', 'location=Seattle', '--limit', '120', '--json']));
    assert.equal(Number(ingested.ingested), 120);
    const fromCli = JSON.parse(h.cli(server.address, ['nowcast', 'forecast', 'cli-seattle', '--json']));
    const f = await stream.forecast();
    assert.equal(f.step, 119);
    assert.equal(f.issuedTime, Number(fromCli.issued_time));
    assert.equal(f.fromModel, Boolean(fromCli.from_model));
    assert.deepEqual(f.horizons.map((x) => x.horizon), [1, 2, 3]);
    f.horizons.forEach((hz, i) => {
      assert.equal(hz.validTime, f.issuedTime + 86400 * hz.horizon);
      assert.equal(hz.values.temp_max, fromCli.horizons[i].values.temp_max); // synchronous mode: deterministic
    });

    const st = await stream.status();
    assert.equal(st.observations, 120);
    assert.equal(st.lastTime, f.issuedTime);
    assert.equal(st.persistence.durableObservations, 120);
    assert.equal((await client.nowcastStream('node-seattle')).info.observations, 120);
    const names = (await client.listStreams()).map((s) => s.name);
    assert.ok(names.includes('node-seattle') && names.includes('cli-seattle'));

    // A rejected observation: those before it stay, the stream is otherwise untouched.
    const bad = rows.slice(120, 123).map((row) => [row.date, Object.fromEntries(WEATHER.map((v) => [v, Number(row[v])]))]);
    bad[2][0] = '2012-01-01';
    await assert.rejects(stream.ingest(bad, { batchSize: 1 }),
      (e) => e instanceof errors.InvalidArgument && e.acknowledged === 2 && e.details.includes('time'));
    assert.equal((await stream.status()).observations, 122);
    await assert.rejects(stream.ingest([['not a date', { temp_max: 1 }]]), /rows\[0\]/);

    await stream.delete();
    await assert.rejects(stream.status(), errors.NotFound);
  });

  it('reports health', async () => {
    assert.equal(await client.health(), 'SERVING');
    assert.equal(await client.health('liveness'), 'SERVING');
  });
});
