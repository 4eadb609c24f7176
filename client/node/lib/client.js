'use strict';
// The Client: one channel, promise-returning methods, tensors in and out, typed errors.
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');

const proto = require('./proto');
const { fromServiceError } = require('./errors');
const { asTensor, toBytes, fromBytes, toMessage, slice, ENUMS } = require('./tensors');
const { Job, OnlineTraining, jobSpec, optimizerSpec, modelRef } = require('./training');
const { AdaptSession } = require('./adaptation');
const { NowcastStream, streamConfig } = require('./nowcast');

const CHUNK = 3 << 20; // model files above this go through LoadModelStream; dataset batches of about this size
const MAX_MESSAGE = 1 << 30;

function readBytes(pathOrBytes) {
  if (Buffer.isBuffer(pathOrBytes)) return pathOrBytes;
  if (pathOrBytes instanceof Uint8Array) return Buffer.from(pathOrBytes.buffer, pathOrBytes.byteOffset, pathOrBytes.byteLength);
  return fs.readFileSync(pathOrBytes);
}

function pem(x) {
  if (!x) return null;
  return Buffer.isBuffer(x) ? x : fs.readFileSync(x);
}

function tensorSpec(s) {
  const [name, datatype, shape] = Array.isArray(s) ? s : [s.name, s.datatype || s.dtype, s.shape];
  const dtype = ENUMS[String(datatype).toUpperCase()];
  if (!dtype) throw new TypeError(`tensor spec '${name}': unknown datatype ${datatype} (use ${Object.keys(ENUMS).join(', ')})`);
  return { name, dtype, shape };
}

class Client {
  /**
   * @param {string} [address] "host:port" (default $ATTUNE_SERVER or localhost:50051)
   * @param {object} [options]
   *   token: bearer token for servers started with --tokens-file (default $ATTUNE_TOKEN)
   *   tls: true (system roots), a CA file path, or { ca, cert, key, serverName } (paths or Buffers;
   *        cert+key for mutual TLS; serverName overrides the name checked in the certificate)
   *   timeoutMs: deadline of unary calls (default 60000; streams have none)
   *   protoDir: folder with attune/v1/*.proto (default: $ATTUNE_PROTO_DIR, bundled, or the repo's)
   */
  constructor(address, options = {}) {
    this.address = address || process.env.ATTUNE_SERVER || 'localhost:50051';
    const { token = process.env.ATTUNE_TOKEN, tls, timeoutMs = 60000, protoDir } = options;
    const known = new Set(['token', 'tls', 'timeoutMs', 'protoDir']);
    for (const k of Object.keys(options)) {
      if (!known.has(k)) throw new TypeError(`Client: unknown option '${k}' (expected ${[...known].join(', ')})`);
    }
    this.timeoutMs = timeoutMs;
    this.token = token || null;
    const { packages, definition } = proto.load(protoDir);
    this._definition = definition;
    const channelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
    };
    let creds;
    if (!tls) {
      creds = grpc.credentials.createInsecure();
    } else if (tls === true) {
      creds = grpc.credentials.createSsl();
    } else {
      const t = typeof tls === 'string' ? { ca: tls } : tls;
      const unknown = Object.keys(t).filter((k) => !['ca', 'cert', 'key', 'serverName'].includes(k));
      if (unknown.length) throw new TypeError(`tls: unknown keys ${unknown} (expected ca, cert, key, serverName)`);
      if (!t.cert !== !t.key) throw new TypeError('tls: mutual TLS needs both `cert` and `key`');
      creds = grpc.credentials.createSsl(pem(t.ca), pem(t.key), pem(t.cert));
      if (t.serverName) {
        channelOptions['grpc.ssl_target_name_override'] = t.serverName;
        channelOptions['grpc.default_authority'] = t.serverName;
      }
    }
    const v1 = packages.attune.v1;
    this.channel = new grpc.Channel(this.address, creds, channelOptions);
    const make = (Ctor) => new Ctor(this.address, creds, { channelOverride: this.channel });
    this.models = make(v1.ModelService);
    this.datasets = make(v1.DatasetService);
    this.training = make(v1.TrainingService);
    this.adaptation = make(v1.AdaptationService);
    this.nowcast = make(v1.NowcastService);
    this.inference = make(packages.inference.GRPCInferenceService);
    this.healthService = make(packages.grpc.health.v1.Health);
    this._inputNames = new Map();
  }

  close() {
    this.channel.close();
  }

  metadata() {
    const md = new grpc.Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  /** Normalizes a request object for message `type` (see proto.normalize). */
  _check(type, value, what) {
    return proto.normalize(this._definition, `attune.v1.${type}`, value, what);
  }

  unary(stub, method, request, timeoutMs) {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + (timeoutMs ?? this.timeoutMs);
      stub[method](request, this.metadata(), { deadline }, (err, resp) => (err ? reject(fromServiceError(err)) : resolve(resp)));
    });
  }

  /** Client-streamed call: writes `messages`, resolves to the single reply. */
  clientStream(stub, method, messages) {
    return new Promise((resolve, reject) => {
      const call = stub[method](this.metadata(), (err, resp) => (err ? reject(fromServiceError(err)) : resolve(resp)));
      call.on('error', () => {}); // reported through the callback
      (async () => {
        for (const m of messages) {
          if (!call.write(m)) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch((e) => { call.cancel(); reject(e); });
    });
  }

  /** Server-streamed call as an async iterator of replies (errors thrown as AttuneError). */
  async *serverStream(stub, method, request, options = {}) {
    const call = stub[method](request, this.metadata(), options);
    call.on('error', () => {}); // the iterator below sees errors; this keeps a late CANCELLED from being "unhandled"
    try {
      for await (const m of call) yield m;
    } catch (e) {
      throw fromServiceError(e);
    } finally {
      call.cancel();
    }
  }

  // ---- server --------------------------------------------------------------------------------
  /** grpc.health.v1 Check for the server ('') or a service ('liveness', 'attune.v1.ModelService'):
   * resolves to 'SERVING', 'NOT_SERVING', ... */
  async health(service = '') {
    return (await this.unary(this.healthService, 'Check', { service })).status;
  }

  /** Waits until the channel connects and the server answers health checks. */
  async waitReady(timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    await new Promise((resolve, reject) => this.models.waitForReady(deadline, (err) => (err
      ? reject(new Error(`attune-server at ${this.address} not reachable within ${timeoutMs} ms (is it running? ` +
                         `TLS or plaintext as the server expects?): ${err.message}`))
      : resolve())));
    return this.health();
  }

  async serverMetadata() {
    return this.unary(this.inference, 'ServerMetadata', {});
  }

  // ---- models --------------------------------------------------------------------------------
  /** Loads a TorchScript file (path, Buffer or Uint8Array) as model `name`. options: inputs/outputs
   * ([name, datatype, shape] or {name, datatype, shape}), version. Files above 3 MiB are streamed. */
  async loadModel(pathOrBytes, name, { inputs = [], outputs = [], version = 0 } = {}) {
    const data = readBytes(pathOrBytes);
    const request = { name, version, inputs: inputs.map(tensorSpec), outputs: outputs.map(tensorSpec) };
    this._inputNames.clear();
    if (data.length <= CHUNK) return this.unary(this.models, 'LoadModel', { ...request, torchscript: data });
    const messages = [{ request }];
    for (let off = 0; off < data.length; off += CHUNK) messages.push({ data: data.subarray(off, off + CHUNK) });
    return this.clientStream(this.models, 'LoadModelStream', messages);
  }

  /** Loads <model-repository>/<repositoryPath> on the server ('cnn_bn' or 'cnn_bn/1'). */
  async loadFromRepository(repositoryPath, { name = '', version = 0 } = {}) {
    this._inputNames.clear();
    return this.unary(this.models, 'LoadModel', { name, version, repositoryPath });
  }

  /** A built-in architecture: createModel('fashion', 'cnn', { inChannels: 1, height: 28, width: 28,
   * classes: 10 }) (kinds mlp, cnn, lstm, transformer; parameters as in model_service.proto). */
  async createModel(name, kind, params = {}, { seed = 0, version = 0 } = {}) {
    const architecture = typeof kind === 'string' ? { [kind]: params } : kind;
    return this.unary(this.models, 'CreateModel', this._check('CreateModelRequest', { name, architecture, seed, version }, 'createModel'));
  }

  async listModels() {
    return (await this.unary(this.models, 'ListModels', {})).models;
  }

  async getModel(name) {
    return this.unary(this.models, 'GetModel', { name });
  }

  /** Unloads one version, or the whole model (version 0); resolves to the unloaded versions. */
  async unloadModel(name, version = 0) {
    this._inputNames.clear();
    return (await this.unary(this.models, 'UnloadModel', { name, version })).unloadedVersions;
  }

  /** The TorchScript bytes of a version (0 = serving) as a Buffer; written to `path` if given. */
  async exportModel(name, { version = 0, path } = {}) {
    const parts = [];
    for await (const c of this.serverStream(this.models, 'ExportModel', { name, version })) parts.push(c.data);
    const data = Buffer.concat(parts);
    if (!path) return data;
    const tmp = `${path}.part${process.pid}`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, path);
    return path;
  }

  // ---- inference (KServe v2) ---------------------------------------------------------------
  async modelMetadata(model, version) {
    return this.unary(this.inference, 'ModelMetadata', { name: model, version: version ? String(version) : '' });
  }

  /** ModelInfer on one input tensor; resolves to the first output tensor. */
  async infer(model, input, { version, inputName } = {}) {
    const out = await this.inferAll(model, { [inputName || '']: input }, { version });
    return Object.values(out)[0];
  }

  /** inputs: { name: tensor } ('' = the model's first input). Resolves to { name: tensor }. */
  async inferAll(model, inputs, { version } = {}) {
    const v = version ? String(version) : '';
    const key = `${model}\u0000${v}`;
    const request = { modelName: model, modelVersion: v, inputs: [], rawInputContents: [] };
    for (let [name, t] of Object.entries(inputs)) {
      t = asTensor(t);
      if (!name) {
        if (!this._inputNames.has(key)) {
          const meta = await this.modelMetadata(model, v);
          this._inputNames.set(key, meta.inputs.length ? meta.inputs[0].name : 'input');
        }
        name = this._inputNames.get(key);
      }
      request.inputs.push({ name, datatype: t.datatype, shape: t.shape });
      request.rawInputContents.push(toBytes(t));
    }
    let resp;
    try {
      resp = await this.unary(this.inference, 'ModelInfer', request);
    } catch (e) {
      this._inputNames.delete(key); // the model may have changed: ask again next time
      throw e;
    }
    const out = {};
    resp.outputs.forEach((o, i) => { out[o.name] = fromBytes(o.datatype, o.shape, resp.rawOutputContents[i]); });
    return out;
  }

  // ---- datasets ------------------------------------------------------------------------------
  /** Uploads features [n, ...] and labels [n] (integer class ids, sent as INT64) or [n, ...] (float
   * regression targets), streamed in batches of about 3 MiB. */
  async uploadDataset(name, features, labels, { featureScale = 1 } = {}) {
    const x = asTensor(features);
    let y = asTensor(labels);
    if (['INT32', 'UINT8', 'INT8', 'BOOL'].includes(y.datatype)) {
      y = { datatype: 'INT64', shape: y.shape, data: BigInt64Array.from(y.data, (v) => BigInt(v)) };
    }
    const n = x.shape[0];
    if (!x.shape.length || !y.shape.length || y.shape[0] !== n) {
      throw new TypeError(`uploadDataset: features and labels need the same first dimension, received [${x.shape}] and [${y.shape}]`);
    }
      const header = {
      name, featureDtype: ENUMS[x.datatype], featureShape: x.shape.slice(1), labelDtype: ENUMS[y.datatype],
      labelShape: y.shape.slice(1), featureScale,
    };
    const rowBytes = Math.max(1, Math.floor((x.data.byteLength + y.data.byteLength) / Math.max(1, n)));
    const rows = Math.max(1, Math.floor(CHUNK / rowBytes));
    const messages = [{ header }];
    for (let i = 0; i < n; i += rows) {
      messages.push({ batch: { features: toMessage(slice(x, i, i + rows)), labels: toMessage(slice(y, i, i + rows)) } });
    }
    return this.clientStream(this.datasets, 'UploadDataset', messages);
  }

  /** Imports files inside the server's --datasets-dir: an MNIST/IDX folder (format 'idx', split
   * 'train' or 'test') or a CSV file (format 'csv', the default for *.csv). */
  async importDataset(name, path, { format, split = '', labelsPath = '', limit = 0, labelColumn = '', regression = false } = {}) {
    const fmt = (format || (String(path).toLowerCase().endsWith('.csv') ? 'csv' : 'idx')).toUpperCase();
    if (!['CSV', 'IDX'].includes(fmt)) throw new TypeError(`importDataset: format expected 'idx' or 'csv', received '${format}'`);
    return this.unary(this.datasets, 'ImportDataset',
      { name, format: fmt, path, split, labelsPath, limit, labelColumn, regression }, Math.max(this.timeoutMs, 600000));
  }

  async listDatasets() {
    return (await this.unary(this.datasets, 'ListDatasets', {})).datasets;
  }

  async getDataset(name) {
    return this.unary(this.datasets, 'GetDataset', { name });
  }

  async deleteDataset(name) {
    await this.unary(this.datasets, 'DeleteDataset', { name });
  }

  // ---- training ------------------------------------------------------------------------------
  /**
   * Starts a training job; resolves to its Job at once. options: dataset, and model (name,
   * 'name:version' or {name, version}) to fine-tune or architecture ({ mlp: {...} }) to train from
   * scratch; optimizer (name or OptimizerSpec), lr, weightDecay, optimizerOptions; schedule
   * ('warmup_cosine' or ScheduleSpec), warmupSteps; batchSize or batch (BatchSpec); loss; earlyStopping
   * (patience or EarlyStopping); and any JobSpec field (epochs, maxSteps, validationSplit, seed,
   * deterministic, publishName, ...).
   */
  async train(options) {
    const spec = this._check('JobSpec', jobSpec(options), 'train');
    return new Job(this, await this.unary(this.training, 'StartTraining', { spec }));
  }

  /** A handle on an existing job ('jobs/<id>' or '<id>'). */
  async job(name) {
    return new Job(this, await this.unary(this.training, 'GetJob', { name }));
  }

  async listJobs(state) {
    let s = 'JOB_STATE_UNSPECIFIED';
    if (state) s = state.toUpperCase().startsWith('JOB_') ? state.toUpperCase() : `JOB_${state.toUpperCase()}`;
    return (await this.unary(this.training, 'ListJobs', { state: s })).jobs;
  }

  async listOptimizers() {
    return (await this.unary(this.training, 'ListOptimizers', {})).optimizers;
  }

  /** Online fine-tuning over one TrainStream call: `await t.step(x, y)` per labelled batch, then
   * `await t.close()` publishes the new version (t.abort() publishes nothing). options: optimizer
   * (name or spec), lr and other optimizer fields, loss, clipGradNorm, publishName. */
  trainOnline(model, { optimizer = 'sgd', loss, clipGradNorm = 0, publishName = '', ...optimizerOptions } = {}) {
    const start = this._check('TrainStreamStart', {
      model: modelRef(model), optimizer: optimizerSpec(optimizer, optimizerOptions), clipGradNorm, publishName,
      ...(loss ? { loss: loss.toUpperCase() } : {}),
    }, 'trainOnline');
    return new OnlineTraining(this, start);
  }

  // ---- adaptation ----------------------------------------------------------------------------
  /** Creates a test-time adaptation session on a private copy of `model`. options: method (source,
   * norm, tent, eta (default), eata, lame), version, and AdaptationOptions fields (episodic, steps,
   * optimizer, lr, momentum, nesterov, weightDecay, eMarginFactor, dMargin, fisherAlpha, affinity, knn,
   * forceSymmetry). Close it with `await session.close()`, or use withAdaptSession(). */
  async adaptSession(model, { method = 'eta', version = 0, ...options } = {}) {
    const request = {
      model: modelRef(model, version),
      options: this._check('AdaptationOptions', { ...options, method }, 'adaptSession'),
    };
    return new AdaptSession(this, await this.unary(this.adaptation, 'CreateSession', request));
  }

  /** Runs `fn(session)` and closes the session afterwards, whatever happens; resolves to fn's result. */
  async withAdaptSession(model, options, fn) {
    const session = await this.adaptSession(model, options);
    let ok = false;
    try {
      const out = await fn(session);
      ok = true;
      return out;
    } finally {
      await session.close().catch((e) => { if (ok) throw e; });
    }
  }

  async listSessions() {
    return (await this.unary(this.adaptation, 'ListSessions', {})).sessions;
  }

  /** A handle on an existing session. */
  async session(id) {
    return new AdaptSession(this, await this.unary(this.adaptation, 'GetSession', { session: id }));
  }

  // ---- nowcasting ----------------------------------------------------------------------------
  /** Creates a nowcasting stream and resolves to its handle; without `variables`, opens an existing
   * one. config: variables, targets, resolution ('1d', '1h', '15m' or seconds), lags, horizons,
   * calendarFeatures, model ('ridge', ... or NowcastModelConfig), window ('fixed', ... or
   * NowcastWindowConfig), retrain (trigger name or NowcastRetrainConfig), retrainMode ('background' or
   * 'synchronous'), existOk (open the stream if it exists). */
  async nowcastStream(name, { existOk = false, ...config } = {}) {
    if (config.variables === undefined) {
      if (Object.keys(config).length) throw new TypeError(`nowcastStream: pass \`variables\` to create a stream (without them the existing stream '${name}' is opened)`);
      return new NowcastStream(this, await this.unary(this.nowcast, 'GetStream', { name }));
    }
    const cfg = this._check('NowcastStreamConfig', streamConfig(name, config), 'nowcastStream');
    try {
      return new NowcastStream(this, await this.unary(this.nowcast, 'CreateStream', { config: cfg }));
    } catch (e) {
      if (!(existOk && e.codeName === 'ALREADY_EXISTS')) throw e;
      return new NowcastStream(this, await this.unary(this.nowcast, 'GetStream', { name }));
    }
  }

  async listStreams() {
    return (await this.unary(this.nowcast, 'ListStreams', {})).streams;
  }
}

module.exports = { Client };
