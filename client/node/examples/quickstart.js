#!/usr/bin/env node
// Loads a TorchScript model into attune, runs inference and shows a typed error.
//
//   node client/node/examples/quickstart.js --server localhost:50051 --model build/models/cnn_bn/1/model.pt
const { parseArgs } = require('node:util');
const { Client, tensor, argmax, errors } = require('..');

async function main() {
  const { values: args } = parseArgs({
    options: {
      server: { type: 'string', default: process.env.ATTUNE_SERVER || 'localhost:50051' },
      model: { type: 'string' },
      name: { type: 'string', default: 'quickstart' },
    },
  });
  if (!args.model) throw new Error('--model FILE.pt is required (a TorchScript file, e.g. build/models/cnn_bn/1/model.pt)');
  const client = new Client(args.server);
  try {
    const model = await client.loadModel(args.model, args.name);
    const v = model.versions.at(-1);
    console.log(`loaded ${model.name} version ${v.version}: ${v.parameterCount} parameters, features=${v.hasFeatures}`);

    const x = tensor(Float32Array.from({ length: 4 * 28 * 28 }, (_, i) => (i % 97) / 97), [4, 1, 28, 28]);
    const y = await client.infer(args.name, x);
    console.log(`output ${y.datatype} [${y.shape}], predicted classes ${argmax(y)}`);

    try {
      await client.infer('no-such-model', x);
    } catch (e) {
      if (!(e instanceof errors.NotFound)) throw e;
      console.log(`unknown model -> ${e.codeName} - ${e.details}`);
    }
  } finally {
    client.close();
  }
}

main().catch((e) => { console.error(e.message); process.exit(1); });
