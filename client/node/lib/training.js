'use strict';
// Training jobs (StartTraining / WatchJob / CancelJob) and online fine-tuning (TrainStream).
const { Duplex } = require('./duplex');
const { errorClass, JobFailed, JobCancelled, DeadlineExceeded, Internal, STATUS_NAMES } = require('./errors');
const { asTensor, toMessage } = require('./tensors');

const CODES = Object.fromEntries(Object.entries(STATUS_NAMES).map(([code, name]) => [name, Number(code)]));

/** 'name', 'name:3', ['name', 3] or { name, version } -> ModelRef. */
function modelRef(model, version = 0) {
  if (Array.isArray(model)) [model, version] = model;
  else if (model && typeof model === 'object') ({ name: model, version = 0 } = model);
  else if (typeof model === 'string' && model.includes(':') && !version) {
    const i = model.lastIndexOf(':');
    version = Number(model.slice(i + 1));
    model = model.slice(0, i);
  }
  if (typeof model !== 'string') throw new TypeError(`model: expected a model name, received ${model}`);
  return { name: model, version: Number(version) || 0 };
}

const OPTIMIZER_FIELDS = new Set(['name', 'lr', 'weightDecay', 'betas', 'eps', 'momentum', 'nesterov', 'options',
  'excludeBiasAndNormFromDecay', 'weight_decay', 'exclude_bias_and_norm_from_decay']);

/** 'adan' or { name, lr, betas, options: { no_prox: 1 } } plus OptimizerSpec fields; other keys go to
 * the optimizer's `options` map. */
function optimizerSpec(optimizer, extra = {}) {
  const spec = typeof optimizer === 'string' ? { name: optimizer } : { ...(optimizer || {}) };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) continue;
    if (OPTIMIZER_FIELDS.has(k)) spec[k] = v;
    else spec.options = { ...(spec.options || {}), [k]: Number(v) };
  }
  return spec;
}

const upper = (o, k) => (typeof o[k] === 'string' ? { ...o, [k]: o[k].toUpperCase() } : o);

/** Keyword options -> JobSpec (see Client.train). */
function jobSpec(options = {}) {
  const {
    dataset, model, version = 0, architecture, optimizer = 'adam', lr, weightDecay, optimizerOptions = {},
    schedule, warmupSteps, batchSize, batch, loss, earlyStopping, ...fields
  } = options;
  if (!dataset) throw new TypeError('train: `dataset` is required');
  if ((model === undefined) === (architecture === undefined)) {
    throw new TypeError('train: pass `model` (a hosted model to fine-tune) or `architecture` (to train from scratch), exactly one');
  }
  const spec = { ...fields, dataset };
  if (model !== undefined) spec.model = modelRef(model, version);
  else spec.architecture = architecture;
  spec.optimizer = optimizerSpec(optimizer, { lr, weightDecay, ...optimizerOptions });
  if (schedule !== undefined || warmupSteps !== undefined) {
    let s = typeof schedule === 'string' ? { kind: schedule } : { ...(schedule || {}) };
    if (warmupSteps !== undefined) s.warmupSteps = warmupSteps;
    spec.schedule = upper(s, 'kind');
  }
  if (batch !== undefined || batchSize !== undefined) {
    let b = { ...(batch || {}) };
    if (batchSize !== undefined) b.size = batchSize;
    spec.batch = upper(upper(b, 'policy'), 'test');
  }
  if (loss !== undefined) spec.loss = loss.toUpperCase();
  if (earlyStopping !== undefined) spec.earlyStopping = typeof earlyStopping === 'number' ? { patience: earlyStopping } : earlyStopping;
  return spec;
}

/** A training job. `info` is the latest job record (name, done, metadata, error, response, spec). */
class Job {
  constructor(client, job) {
    this.client = client;
    this.info = job;
  }

  /** 'jobs/<id>'. */
  get name() { return this.info.name; }
  get id() { return this.info.name.split('/').pop(); }
  /** JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED or JOB_CANCELLED (as last seen). */
  get state() { return this.info.metadata && this.info.metadata.state; }
  get done() { return this.info.done; }

  async refresh() {
    this.info = await this.client.unary(this.client.training, 'GetJob', { name: this.name });
    return this.info;
  }

  /** Asks the job to stop (within one step; it ends JOB_CANCELLED). Resolves to the job record. */
  async cancel() {
    this.info = await this.client.unary(this.client.training, 'CancelJob', { name: this.name });
    return this.info;
  }

  /**
   * Async iterator of the job's events until it ends: first its current state, then kind PROGRESS
   * (metadata: step, epoch, loss, learningRate, batchSize, samplesPerSecond, etaSeconds, ...),
   * VALIDATION, CHECKPOINT, BATCH_SIZE and STATE; the last has done = true and the final job (also
   * stored in `info`). timeoutMs bounds the whole watch (DeadlineExceeded).
   */
  async *watch({ timeoutMs } = {}) {
    const options = timeoutMs ? { deadline: Date.now() + timeoutMs } : {};
    for await (const ev of this.client.serverStream(this.client.training, 'WatchJob', { name: this.name }, options)) {
      if (ev.done && ev.job) this.info = ev.job;
      yield ev;
    }
  }

  /** Resolves to the final job record once the job ends, whatever its state. */
  async wait({ timeoutMs } = {}) {
    if (!this.done) {
      for await (const ev of this.watch({ timeoutMs })) void ev;
      if (!this.done) await this.refresh();
    }
    if (!this.done) throw new DeadlineExceeded(CODES.DEADLINE_EXCEEDED, `job ${this.name} is still ${this.state}`);
    return this.info;
  }

  /** Resolves to the job's result (modelName, modelVersion, finalLoss, validationLoss,
   * validationAccuracy, steps, stopReason) when it succeeded; rejects with JobFailed (the job's status
   * code and message) or JobCancelled. */
  async result({ timeoutMs } = {}) {
    const info = await this.wait({ timeoutMs });
    const state = info.metadata.state;
    if (state === 'JOB_SUCCEEDED') return info.response;
    const err = info.error;
    if (state === 'JOB_CANCELLED') throw new JobCancelled(CODES.CANCELLED, err ? err.message : 'job cancelled', info);
    if (state === 'JOB_FAILED') throw new JobFailed(err ? err.code : CODES.UNKNOWN, err ? err.message : 'job failed', info);
    throw new Internal(CODES.INTERNAL, `job ${this.name} is done but in state ${state}`);
  }
}

/** One TrainStream call: step(x, y) runs one optimizer step; close() publishes the new version. */
class OnlineTraining {
  constructor(client, start) {
    this.duplex = new Duplex(client.training.TrainStream(client.metadata()));
    this.duplex.send({ start });
    this.published = null;
    this.steps = 0;
  }

  /** One optimizer step on features [n, ...] and labels [n] (class ids, sent as INT64) or targets.
   * Resolves to { step, loss (of the batch before the step), learningRate }. */
  async step(features, labels) {
    if (!this.duplex) throw new Error('online training already closed');
    let y = asTensor(labels);
    if (['INT32', 'UINT8', 'INT8', 'BOOL'].includes(y.datatype)) {
      y = { datatype: 'INT64', shape: y.shape, data: BigInt64Array.from(y.data, (v) => BigInt(v)) };
    }
    this.duplex.send({ batch: { features: toMessage(features), labels: toMessage(y) } });
    const resp = await this.duplex.recv();
    if (resp === null) {
      this.duplex = null;
      throw new Internal(CODES.INTERNAL, 'the server ended the training stream early');
    }
    this.steps += 1;
    return resp;
  }

  /** Publishes the trained copy; resolves to the new model record. */
  async close() {
    if (!this.duplex) return this.published;
    const duplex = this.duplex;
    this.duplex = null;
    for (const r of await duplex.finish()) if (r.published) this.published = r.published;
    return this.published;
  }

  /** Ends the stream without publishing. */
  abort() {
    if (this.duplex) this.duplex.cancel();
    this.duplex = null;
  }
}

module.exports = { Job, OnlineTraining, jobSpec, optimizerSpec, modelRef, errorClass };
