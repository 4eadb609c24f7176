#!/usr/bin/env node
// Adapts a BatchNorm model at test time, without labels: Tent and EATA sessions on a stream of
// shifted images, then publishes the adapted weights as a new version.
//
//   node client/node/examples/adaptation.js --server localhost:50051 --model cnn_bn
//
// `cnn_bn` (Fashion-MNIST CNN, [n, 1, 28, 28]) is one of the models scripts/run.sh hosts. The images
// are synthetic: each batch draws from the same shifted distribution, so entropy minimisation (Tent)
// makes the predictions steadily more confident.
const { parseArgs } = require('node:util');
const { Client, tensor } = require('..');

function* batches(n, size, seed) {
  for (let b = 0; b < n; b++) {
    const data = new Float32Array(size * 784);
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      data[i] = 0.6 + 0.4 * (seed / 2147483648); // bright, noisy images: a shift for Fashion-MNIST
    }
    yield tensor(data, [size, 1, 28, 28]);
  }
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: process.env.ATTUNE_SERVER || 'localhost:50051' },
      model: { type: 'string', default: 'cnn_bn' },
      batches: { type: 'string', default: '10' },
      lr: { type: 'string', default: '0.01' }, // Tent learning rate (Adam)
      publish: { type: 'string', default: '' },
    },
  });
  const client = new Client(args.server);
  const n = Number(args.batches);
  try {
    await client.withAdaptSession(args.model, { method: 'tent', optimizer: 'adam', lr: Number(args.lr) }, async (session) => {
      console.log(`session ${session.id} (tent)`);
      for (const b of batches(n, 32, 1)) {
        const out = await session.adapt(b);
        const counts = Array(10).fill(0);
        for (const p of out.predictions) counts[p] += 1;
        console.log(`  batch ${out.sequence}: mean entropy ${out.stats.meanEntropy.toFixed(4)}, loss ${out.stats.loss.toFixed(4)}, classes ${counts}`);
      }
      const { stats } = await session.refresh();
      console.log(`  ${stats.samples} samples, ${stats.updates} updates, |theta - theta0| = ${stats.paramDistance.toFixed(5)}`);
      if (args.publish) {
        const m = await session.publish(args.publish);
        console.log(`published ${m.name} version ${m.servingVersion}`);
      }
    });

    await client.withAdaptSession(args.model, { method: 'eata', eMarginFactor: 0.4, dMargin: 0.05 }, async (session) => {
      const [clean] = batches(1, 128, 2);
      const info = await session.computeFisher({ samples: clean });
      console.log(`session ${session.id} (eata): Fisher information from ${info.fisherSamples} samples`);
      for await (const out of session.adaptMany(batches(n, 32, 3))) {
        const s = out.stats;
        console.log(`  batch ${out.sequence}: ${s.reliable} reliable, ${s.used} used, ${s.filteredEntropy} filtered (entropy), ` +
                    `${s.filteredRedundant} filtered (redundant)`);
      }
    });
  } finally {
    client.close();
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
