'use strict';
// Nowcasting streams (NowcastService).
const fs = require('node:fs');
const { fromServiceError } = require('./errors');

const MAX_BATCH = 10000; // observations per IngestRequest (server limit)
const UNITS = { s: 1, m: 60, h: 3600, d: 86400 };
const TIME_KEYS = ['time', 'date', 'timestamp', 'datetime'];

/** 86400, '1d', '1h', '15m' or '30s' -> seconds. */
function resolutionSeconds(r) {
  if (typeof r === 'number' && Number.isInteger(r) && r > 0) return r;
  const m = /^\s*(\d+)\s*([smhd]?)\s*$/.exec(String(r));
  if (!m || Number(m[1]) <= 0) {
    throw new TypeError(`resolution: expected seconds or a count with s/m/h/d such as '1d' or '15m', received '${r}'`);
  }
  return Number(m[1]) * UNITS[m[2] || 's'];
}

/** Keyword config -> NowcastStreamConfig. */
function streamConfig(name, config) {
  const { variables, targets, resolution, model, window, retrain, ...rest } = config;
  if (!Array.isArray(variables) || !Array.isArray(targets)) {
    throw new TypeError('nowcastStream: `variables` and `targets` (a subset of the variables) are arrays of names');
  }
  const c = { ...rest, name, variables, targets };
  if (resolution !== undefined) c.resolutionSeconds = resolutionSeconds(resolution);
  if (model !== undefined) c.model = typeof model === 'string' ? { kind: model } : model;
  if (window !== undefined) c.window = typeof window === 'string' ? { kind: window } : window;
  if (retrain !== undefined) c.retrain = typeof retrain === 'string' ? { trigger: retrain } : retrain;
  return c;
}

/** Unix seconds, a Date, or 'YYYY-MM-DD[THH:MM[:SS]][Z]' (UTC unless it names an offset). */
function unixSeconds(t) {
  if (typeof t === 'number') {
    if (!Number.isInteger(t)) throw new TypeError(`time: expected whole seconds, received ${t}`);
    return t;
  }
  if (typeof t === 'bigint') return Number(t);
  if (t instanceof Date) return Math.floor(t.getTime() / 1000);
  if (typeof t === 'string') {
    const s = t.trim();
    if (/^-?\d+$/.test(s)) return Number(s);
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
    if (m) {
      let secs = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)) / 1000;
      if (m[7] && m[7] !== 'Z') {
        const sign = m[7][0] === '-' ? -1 : 1;
        const digits = m[7].slice(1).replace(':', '');
        secs -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
      }
      return secs;
    }
  }
  throw new TypeError(`time: expected unix seconds, a Date or 'YYYY-MM-DD[THH:MM[:SS]]', received '${t}'`);
}

function number(v) {
  if (v === null || v === undefined || (typeof v === 'string' && !v.trim())) return NaN; // the server names the variable
  return Number(v);
}

/** [time, { variable: value }] or { time|date|timestamp|datetime, ...variables } (other keys ignored)
 * -> Observation. */
function observation(row, variables, index) {
  try {
    let time;
    let values;
    if (Array.isArray(row)) {
      [time, values] = row;
      if (!values || typeof values !== 'object') throw new TypeError('expected [time, { variable: value }]');
    } else if (row && typeof row === 'object') {
      const key = TIME_KEYS.find((k) => k in row);
      if (!key) throw new TypeError(`no time: name it one of ${TIME_KEYS.join(', ')}`);
      const missing = variables.filter((v) => !(v in row));
      if (missing.length) throw new TypeError(`no value for variable(s) ${missing.join(', ')}`);
      time = row[key];
      values = Object.fromEntries(variables.map((v) => [v, row[v]]));
    } else {
      throw new TypeError(`expected [time, { variable: value }] or an object, received ${row}`);
    }
    return { time: unixSeconds(time), values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, number(v)])) };
  } catch (e) {
    throw new TypeError(`rows[${index}]: ${e.message}`);
  }
}

/** A named observation stream with a forecaster. `info` is the latest stream record. */
class NowcastStream {
  constructor(client, stream) {
    this.client = client;
    this.info = stream;
    this.name = stream.config.name;
    this.variables = stream.config.variables;
    this.targets = stream.config.targets;
  }

  _unary(method, request) {
    return this.client.unary(this.client.nowcast, method, request);
  }

  /**
   * Appends observations, `batchSize` per message over one Ingest call. Resolves to { ingested,
   * observations (the stream's durable total), results (one per observation: step, time, forecast,
   * matured errors, drift and retrain events) }. rows: [time, { variable: value }] pairs or objects with
   * a time key ('time', 'date', 'timestamp' or 'datetime') and the stream's variables; times strictly
   * increasing. A rejected message rejects with InvalidArgument naming the observation; the error's
   * `acknowledged` counts the observations of this call stored before it (they stay).
   */
  async ingest(rows, { batchSize = 1000 } = {}) {
    if (!(batchSize >= 1 && batchSize <= MAX_BATCH)) throw new TypeError(`ingest: batchSize expected 1..${MAX_BATCH}, received ${batchSize}`);
    const obs = Array.from(rows, (r, i) => observation(r, this.variables, i));
    if (!obs.length) return { ingested: 0, observations: this.info.observations, results: [] };
    return new Promise((resolve, reject) => {
      const call = this.client.nowcast.Ingest(this.client.metadata());
      const results = [];
      let total = this.info.observations;
      call.on('data', (resp) => {
        results.push(...resp.results);
        total = resp.observations;
      });
      call.on('error', (e) => {
        const err = fromServiceError(e);
        err.acknowledged = results.length;
        reject(err);
      });
      call.on('end', () => {
        this.info.observations = total;
        resolve({ ingested: results.length, observations: total, results });
      });
      for (let i = 0; i < obs.length; i += batchSize) call.write({ stream: this.name, observations: obs.slice(i, i + batchSize) });
      call.end();
    });
  }

  /** The forecast issued at the latest observation: { step, issuedTime, fromModel, modelVersion,
   * horizons: [{ horizon, validTime, values: { target: value } }] }. FailedPrecondition before the first
   * observation. */
  forecast() {
    return this._unary('GetForecast', { name: this.name });
  }

  /** GetStream: errors per target and horizon, skill, fits, compute, drift events, recent fits. */
  async status({ recentFits = 0 } = {}) {
    this.info = await this._unary('GetStream', { name: this.name, recentFits });
    return this.info;
  }

  /** Removes the stream and its files. */
  async delete() {
    await this._unary('DeleteStream', { name: this.name });
  }

  /** The forecaster as one archive: { format, modelKind, modelVersion, observations, layout, data
   * (Buffer) } or, with `path`, written there atomically ({ ..., path }). */
  async export({ path } = {}) {
    let first = null;
    const parts = [];
    for await (const c of this.client.serverStream(this.client.nowcast, 'ExportStreamModel', { name: this.name })) {
      first = first || c;
      parts.push(c.data);
    }
    const out = {
      format: first ? first.format : '', modelKind: first ? first.modelKind : '', modelVersion: first ? first.modelVersion : 0,
      observations: first ? first.observations : 0, layout: first ? first.layout : '',
    };
    const data = Buffer.concat(parts);
    if (!path) return { ...out, data };
    const tmp = `${path}.part${process.pid}`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, path);
    return { ...out, path };
  }
}

module.exports = { NowcastStream, streamConfig, resolutionSeconds, unixSeconds, observation };
