'use strict';
// Loads attune's .proto files with @grpc/proto-loader (no code generation step).
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const FILES = [
  'attune/v1/model_service.proto',
  'attune/v1/dataset_service.proto',
  'attune/v1/training_service.proto',
  'attune/v1/adaptation_service.proto',
  'attune/v1/nowcast_service.proto',
  'inference/open_inference_grpc.proto',
  'grpc/health/v1/health.proto',
];

// Field names in camelCase, 64-bit integers as Number, enums as their names, unset fields with
// their defaults (sub-messages null).
const OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: false };

/** The folder holding attune/v1/*.proto: `dir`, $ATTUNE_PROTO_DIR, the repository's proto/ folder (in
 * a checkout), or the copy bundled into the package by `npm pack` (scripts/bundle-protos.js). */
function protoDir(dir) {
  const candidates = [dir, process.env.ATTUNE_PROTO_DIR, path.join(__dirname, '..', '..', '..', 'proto'),
    path.join(__dirname, '..', 'proto')];
  for (const c of candidates) {
    if (c && fs.existsSync(path.join(c, 'attune', 'v1', 'model_service.proto'))) return c;
  }
  throw new Error('@attune/client: attune .proto files not found; set ATTUNE_PROTO_DIR to the repository\'s ' +
                  'proto/ folder (or pass { protoDir })');
}

const cache = new Map();

/** { packages, definition }: `packages` is { attune: { v1 }, inference, grpc: { health: { v1 } } } as
 * grpc.loadPackageDefinition returns it, `definition` proto-loader's flat map of full names. */
function load(dir) {
  const root = protoDir(dir);
  if (!cache.has(root)) {
    const definition = protoLoader.loadSync(FILES.map((f) => path.join(root, f)), { ...OPTIONS, includeDirs: [root] });
    cache.set(root, { packages: grpc.loadPackageDefinition(definition), definition });
  }
  return cache.get(root);
}

const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/**
 * Checks a request object against message `typeName` (e.g. 'attune.v1.JobSpec') before it is
 * serialized, because protobufjs silently drops unknown keys: snake_case keys become camelCase,
 * unknown keys throw a TypeError naming the valid fields. Returns a normalized copy.
 */
function normalize(definition, typeName, value, what) {
  const entry = definition[typeName];
  if (!entry || !entry.type || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const fields = new Map(entry.type.field.map((f) => [f.name, f]));
  const pkg = typeName.slice(0, typeName.lastIndexOf('.'));
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const name = fields.has(key) ? key : camel(key);
    const f = fields.get(name);
    if (!f) {
      throw new TypeError(`${what}: unknown field '${key}' (expected ${[...fields.keys()].join(', ')})`);
    }
    if (f.type === 'TYPE_MESSAGE' && !(definition[`${typeName}.${f.typeName}`]?.type?.options?.mapEntry)) {
      const sub = [`${typeName}.${f.typeName}`, `${pkg}.${f.typeName}`, f.typeName].find((n) => definition[n]);
      out[name] = Array.isArray(v) ? v.map((x, i) => normalize(definition, sub, x, `${what}.${name}[${i}]`))
                                   : normalize(definition, sub, v, `${what}.${name}`);
    } else {
      out[name] = v;
    }
  }
  return out;
}

module.exports = { load, protoDir, normalize, FILES };
