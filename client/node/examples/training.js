#!/usr/bin/env node
// Uploads a labelled dataset, fine-tunes a hosted model with a training job, watches its progress
// and serves the new version.
//
//   node client/node/examples/training.js --server localhost:50051 --model mlp
//
// `mlp` (8 features -> 4 classes) is one of the models scripts/run.sh hosts. The dataset is
// synthetic: the class is given by the signs of the first two features.
const { parseArgs } = require('node:util');
const { Client, tensor, argmax, errors, JobFailed } = require('..');

function quadrants(n) {
  let seed = 12345;
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const x = Float32Array.from({ length: n * 8 }, () => random() * 2 - 1);
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 8] > 0 ? 2 : 0) + (x[i * 8 + 1] > 0 ? 1 : 0));
  return { x: tensor(x, [n, 8]), y: tensor(y, [n]) };
}

async function accuracy(client, model, x, y, n) {
  const logits = await client.infer(model, tensor(x.data.subarray(0, n * 8), [n, 8]));
  return argmax(logits).filter((c, i) => c === y.data[i]).length / n;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: process.env.ATTUNE_SERVER || 'localhost:50051' },
      model: { type: 'string', default: 'mlp' },
      dataset: { type: 'string', default: 'quadrants' },
      epochs: { type: 'string', default: '5' },
    },
  });
  const client = new Client(args.server);
  try {
    const { x, y } = quadrants(1024);
    try {
      const d = await client.uploadDataset(args.dataset, x, y);
      console.log(`uploaded dataset ${d.name}: ${d.samples} samples, ${d.classes} classes`);
    } catch (e) {
      if (!(e instanceof errors.AlreadyExists)) throw e;
      console.log(`dataset ${args.dataset} already uploaded`);
    }
    const before = await accuracy(client, args.model, x, y, 256);

    const job = await client.train({
      dataset: args.dataset, model: args.model, optimizer: 'adan', lr: 0.01, batchSize: 64, epochs: Number(args.epochs),
      validationSplit: 0.2, schedule: 'warmup_cosine', warmupSteps: 5,
    });
    console.log('started', job.name);
    for await (const ev of job.watch()) {
      const m = ev.metadata;
      if (ev.kind === 'PROGRESS' && m.step % 10 === 0) {
        console.log(`  step ${m.step}/${m.totalSteps}  epoch ${m.epoch}  loss ${m.loss.toFixed(4)}  lr ${m.learningRate.toExponential(2)}`);
      } else if (ev.kind === 'VALIDATION') {
        console.log(`  validation: loss ${m.validationLoss.toFixed(4)}, accuracy ${m.validationAccuracy.toFixed(3)}`);
      }
    }
    let r;
    try {
      r = await job.result();
    } catch (e) {
      if (!(e instanceof JobFailed)) throw e;
      console.log(`training failed: ${e.codeName} ${e.details}`);
      return 1;
    }
    console.log(`${r.modelName} version ${r.modelVersion}: ${r.steps} steps (${r.stopReason}), final loss ${r.finalLoss.toFixed(4)}, ` +
                `validation accuracy ${r.validationAccuracy.toFixed(3)}`);
    const after = await accuracy(client, args.model, x, y, 256);
    console.log(`accuracy of the serving version on 256 training samples: ${before.toFixed(3)} before, ${after.toFixed(3)} after`);
    return 0;
  } finally {
    client.close();
  }
}

main().then((code) => { process.exitCode = code; }, (e) => { console.error(e.message); process.exit(1); });
