'use strict';
// @attune/client: a thin, promise-based Node client for attune-server.
//
//   const { Client, tensor } = require('@attune/client');
//   const client = new Client('localhost:50051');
//   const logits = await client.infer('cnn_bn', tensor(new Float32Array(2 * 784), [2, 1, 28, 28]));
//   const job = await client.train({ dataset: 'syn', model: 'mlp', optimizer: 'adan', lr: 0.01, epochs: 1 });
//   for await (const ev of job.watch()) console.log(ev.kind, ev.metadata.step, ev.metadata.loss);
//
// Errors are AttuneError subclasses (NotFound, InvalidArgument, ...) carrying the gRPC status `code`,
// its `codeName` and the server's message `details`.
const { status } = require('@grpc/grpc-js');
const { Client } = require('./lib/client');
const errors = require('./lib/errors');
const tensors = require('./lib/tensors');
const { Job, OnlineTraining } = require('./lib/training');
const { AdaptSession } = require('./lib/adaptation');
const { NowcastStream } = require('./lib/nowcast');

module.exports = {
  Client,
  Job,
  OnlineTraining,
  AdaptSession,
  NowcastStream,
  tensor: tensors.tensor,
  toNested: tensors.toNested,
  argmax: tensors.argmax,
  errors,
  /** gRPC status codes by name (status.NOT_FOUND === 5), as in @grpc/grpc-js */
  status,
  AttuneError: errors.AttuneError,
  JobFailed: errors.JobFailed,
  JobCancelled: errors.JobCancelled,
};
