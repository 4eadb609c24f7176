'use strict';
// A bidirectional call driven one message at a time: send() a request, await recv() its reply.
const { fromServiceError } = require('./errors');

class Duplex {
  constructor(call) {
    this.call = call;
    this.pending = [];
    this.buffered = [];
    this.error = null;
    this.ended = false;
    call.on('data', (m) => {
      const p = this.pending.shift();
      if (p) p.resolve(m);
      else this.buffered.push(m);
    });
    call.on('error', (e) => {
      this.error = fromServiceError(e);
      for (const p of this.pending.splice(0)) p.reject(this.error);
    });
    call.on('end', () => {
      this.ended = true;
      for (const p of this.pending.splice(0)) p.resolve(null);
    });
  }

  send(msg) {
    this.call.write(msg);
  }

  /** The next reply; null when the server ended the call; rejects with an AttuneError. */
  recv() {
    if (this.buffered.length) return Promise.resolve(this.buffered.shift());
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** Closes the client side; resolves to the replies that still arrive. */
  async finish() {
    this.call.end();
    const out = [];
    for (;;) {
      const m = await this.recv();
      if (m === null) return out;
      out.push(m);
    }
  }

  cancel() {
    this.call.cancel();
  }
}

module.exports = { Duplex };
