'use strict';
// Tensors: { datatype, shape, data } with `data` a typed array of row-major values. On the wire they
// are raw little-endian bytes (KServe v2 raw contents, attune.v1.Tensor.data).

const ARRAYS = {
  FP32: Float32Array, FP64: Float64Array, INT64: BigInt64Array, INT32: Int32Array, UINT8: Uint8Array,
  INT8: Int8Array, BOOL: Uint8Array, FP16: Uint16Array, BF16: Uint16Array,
};
const ENUMS = {
  FP32: 'FLOAT32', FP64: 'FLOAT64', INT64: 'INT64', INT32: 'INT32', UINT8: 'UINT8', INT8: 'INT8',
  FP16: 'FLOAT16', BF16: 'BFLOAT16', BOOL: 'BOOL',
};
const FROM_ENUM = Object.fromEntries(Object.entries(ENUMS).map(([k, v]) => [v, k]));

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@attune/client: big-endian hosts are not supported (tensors travel as little-endian bytes)');
}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

function inferDatatype(data) {
  if (data instanceof Float32Array) return 'FP32';
  if (data instanceof Float64Array) return 'FP64';
  if (data instanceof BigInt64Array) return 'INT64';
  if (data instanceof Int32Array) return 'INT32';
  if (data instanceof Uint8Array) return 'UINT8';
  if (data instanceof Int8Array) return 'INT8';
  return undefined;
}

/**
 * tensor(data, shape, datatype?): data is a typed array (its type gives the datatype: Float32Array
 * FP32, Float64Array FP64, BigInt64Array INT64, Int32Array INT32, Uint8Array UINT8, Int8Array INT8)
 * or a flat/nested array of numbers (FP32 unless `datatype` says otherwise). shape defaults to the
 * nesting of a nested array, or [data.length].
 */
function tensor(data, shape, datatype) {
  if (Array.isArray(data)) {
    const nestedShape = [];
    for (let d = data; Array.isArray(d); d = d[0]) nestedShape.push(d.length);
    const flat = data.flat(Infinity);
    datatype = (datatype || 'FP32').toUpperCase();
    const Ctor = ARRAYS[datatype];
    if (!Ctor) throw new TypeError(`unsupported datatype ${datatype} (use ${Object.keys(ARRAYS).join(', ')})`);
    data = Ctor === BigInt64Array ? BigInt64Array.from(flat, (v) => BigInt(v)) : Ctor.from(flat);
    shape = shape || nestedShape;
  }
  const dt = (datatype || inferDatatype(data) || '').toUpperCase();
  if (!ARRAYS[dt]) throw new TypeError('tensor: data must be a typed array (Float32Array, Float64Array, BigInt64Array, ' +
                                       'Int32Array, Uint8Array, Int8Array) or an array of numbers');
  if (!(data instanceof ARRAYS[dt])) throw new TypeError(`tensor: ${dt} needs a ${ARRAYS[dt].name}, received ${data.constructor.name}`);
  shape = (shape || [data.length]).map(Number);
  if (product(shape) !== data.length) {
    throw new TypeError(`tensor: shape [${shape}] holds ${product(shape)} values, data has ${data.length}`);
  }
  return { datatype: dt, shape, data };
}

function asTensor(t) {
  if (t && t.data && t.shape && (t.datatype || inferDatatype(t.data))) return tensor(t.data, t.shape, t.datatype);
  if (ArrayBuffer.isView(t) || Array.isArray(t)) return tensor(t);
  throw new TypeError('expected a tensor { data: TypedArray, shape: number[], datatype? } (see tensor())');
}

function toBytes(t) {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function fromBytes(datatype, shape, bytes) {
  const Ctor = ARRAYS[datatype];
  if (!Ctor) throw new TypeError(`the server returned unsupported datatype ${datatype}`);
  const copy = new Uint8Array(bytes.length);  // aligned copy: Buffers may start at any offset
  copy.set(bytes);
  return { datatype, shape: shape.map(Number), data: new Ctor(copy.buffer) };
}

/** Tensor -> attune.v1.Tensor message. */
function toMessage(t) {
  t = asTensor(t);
  return { dtype: ENUMS[t.datatype], shape: t.shape, data: toBytes(t) };
}

/** attune.v1.Tensor message -> tensor (null when unset). */
function fromMessage(m) {
  if (!m || !m.dtype || m.dtype === 'DATA_TYPE_UNSPECIFIED') return null;
  return fromBytes(FROM_ENUM[m.dtype], m.shape, m.data);
}

/** Rows [n, ...] a..b of a tensor (a view, no copy). */
function slice(t, begin, end) {
  const n = t.shape[0];
  end = Math.min(end, n);
  const row = n ? t.data.length / n : 0;
  return { datatype: t.datatype, shape: [end - begin, ...t.shape.slice(1)], data: t.data.subarray(begin * row, end * row) };
}

/** Nested arrays of numbers (bigint for INT64), e.g. for printing or JSON. */
function toNested(t) {
  const build = (offset, dim) => {
    if (dim === t.shape.length) return t.data[offset];
    const stride = product(t.shape.slice(dim + 1));
    return Array.from({ length: t.shape[dim] }, (_, i) => build(offset + i * stride, dim + 1));
  };
  return t.shape.length === 0 ? t.data[0] : build(0, 0);
}

/** Index of the largest value in each row of a [n, c] tensor. */
function argmax(t) {
  const [n, c] = t.shape;
  const out = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (t.data[i * c + j] > t.data[i * c + best]) best = j;
    out.push(best);
  }
  return out;
}

module.exports = { tensor, asTensor, toBytes, fromBytes, toMessage, fromMessage, slice, toNested, argmax, ENUMS, ARRAYS };
