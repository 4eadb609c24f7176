'use strict';
// Test-time adaptation sessions (AdaptationService).
const { Duplex } = require('./duplex');
const { Internal } = require('./errors');
const { asTensor, toMessage, fromMessage, slice } = require('./tensors');

const FISHER_ROWS = 256; // samples per ComputeFisher message
const INTERNAL = 13;

function adapted(resp) {
  return {
    sequence: resp.sequence,
    probabilities: fromMessage(resp.probabilities),
    predictions: resp.predictions.map(Number),
    logits: fromMessage(resp.logits),
    stats: resp.stats,
  };
}

/**
 * A session adapting a private copy of a model. adapt(batch) resolves to { probabilities (tensor
 * [N, C]: softmax, or LAME's corrected assignment), predictions (number[]), stats (samples,
 * meanEntropy, reliable, used, filteredEntropy, filteredRedundant, updated, loss, fisherPenalty,
 * lameIterations), sequence, logits (tensor with { returnLogits: true }, else null) }. Batches of one
 * session go over one Adapt stream, in order.
 */
class AdaptSession {
  constructor(client, session) {
    this.client = client;
    this.info = session;
    this.id = session.id;
    this.duplex = null;
    this.closed = false;
    this.queue = Promise.resolve(); // adapt() calls run one at a time, in call order
  }

  _unary(method, request) {
    return this.client.unary(this.client.adaptation, method, request);
  }

  /** Adapts on one batch [N, ...] of the model's input. */
  adapt(batch, { returnLogits = false } = {}) {
    const run = async () => {
      if (this.closed) throw new Error(`session ${this.id} is closed`);
      if (!this.duplex) this.duplex = new Duplex(this.client.adaptation.Adapt(this.client.metadata()));
      const duplex = this.duplex;
      duplex.send({ session: this.id, batch: toMessage(batch), returnLogits });
      let resp;
      try {
        resp = await duplex.recv();
      } catch (e) {
        if (this.duplex === duplex) this.duplex = null; // the next call opens a new stream
        throw e;
      }
      if (resp === null) {
        this.duplex = null;
        throw new Internal(INTERNAL, 'the server ended the adaptation stream early');
      }
      return adapted(resp);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Streams batches (any iterable or async iterable) through one Adapt call and yields one result
   * per batch, in order. */
  async *adaptMany(batches, { returnLogits = false } = {}) {
    const duplex = new Duplex(this.client.adaptation.Adapt(this.client.metadata()));
    let sent = 0;
    let received = 0;
    const next = async () => {
      const resp = await duplex.recv();
      if (resp === null) throw new Internal(INTERNAL, 'the server ended the adaptation stream early');
      received += 1;
      return adapted(resp);
    };
    try {
      for await (const b of batches) {
        duplex.send({ session: this.id, batch: toMessage(b), returnLogits });
        sent += 1;
        while (received < sent - 4) yield await next(); // keep a few batches in flight
      }
      while (received < sent) yield await next();
      await duplex.finish();
    } finally {
      if (received < sent) duplex.cancel();
    }
  }

  /** EATA's Fisher information from clean in-distribution samples: { dataset, size (default 2000) }
   * on the server, or { samples: tensor } streamed from here; batchSize, seed. Resolves to the session. */
  async computeFisher({ dataset, samples, size, batchSize = 0, seed = 0 } = {}) {
    if ((dataset === undefined) === (samples === undefined)) {
      throw new TypeError('computeFisher: pass `dataset` (a dataset name) or `samples` (a tensor), exactly one');
    }
    const x = samples === undefined ? null : asTensor(samples);
    const header = { session: this.id, dataset: dataset || '', size: size || (x ? x.shape[0] : 0), batchSize, seed };
    const messages = [{ header }];
    if (x) for (let i = 0; i < x.shape[0]; i += FISHER_ROWS) messages.push({ samples: toMessage(slice(x, i, i + FISHER_ROWS)) });
    this.info = await this.client.clientStream(this.client.adaptation, 'ComputeFisher', messages);
    return this.info;
  }

  /** Restores the source parameters, optimizer state and EATA's moving average. */
  async reset() {
    this.info = await this._unary('ResetSession', { session: this.id });
    return this.info;
  }

  /** GetSession: the session record with cumulative stats. */
  async refresh() {
    this.info = await this._unary('GetSession', { session: this.id });
    return this.info;
  }

  /** Publishes the adapted weights as a new model version (under `name`, default the source model's). */
  async publish(name = '') {
    return this._unary('PublishSession', { session: this.id, name });
  }

  /** Ends the adaptation stream and closes the session on the server (idempotent). */
  async close() {
    if (this.closed) return;
    await this.queue;
    if (this.duplex) {
      const duplex = this.duplex;
      this.duplex = null;
      await duplex.finish().catch(() => {}); // the session is being closed anyway
    }
    await this._unary('CloseSession', { session: this.id });
    this.closed = true;
  }
}

module.exports = { AdaptSession };
