// Type declarations of @attune/client's public API (hand-written; records follow
// proto/attune/v1/*.proto with camelCase field names, 64-bit integers as number, enums as names).
import type { Channel, Metadata } from '@grpc/grpc-js';

// ---- tensors ------------------------------------------------------------------------------------
export type Datatype = 'FP32' | 'FP64' | 'INT64' | 'INT32' | 'UINT8' | 'INT8' | 'BOOL' | 'FP16' | 'BF16';
export type TypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array | Uint16Array;

/** Row-major values with their shape; on the wire as raw little-endian bytes. */
export interface Tensor {
  datatype: Datatype;
  shape: number[];
  data: TypedArray;
}
/** Anything `tensor()` accepts: a Tensor, or a typed array / (nested) number array. */
export type TensorLike = Tensor | { data: TypedArray; shape: number[]; datatype?: Datatype } | TypedArray | number[] | number[][];

/** tensor(new Float32Array(8), [2, 4]); tensor([[1, 2], [3, 4]]) (FP32); tensor([1, 2], [2], 'INT64'). */
export function tensor(data: TypedArray | number[] | number[][] | number[][][] | number[][][][], shape?: number[], datatype?: Datatype): Tensor;
/** Nested arrays of the tensor's values (bigint for INT64). */
export function toNested(t: Tensor): any;
/** Index of the largest value in each row of a [n, c] tensor. */
export function argmax(t: Tensor): number[];

/** gRPC status codes by name (status.NOT_FOUND === 5), re-exported from @grpc/grpc-js. */
export { status } from '@grpc/grpc-js';

// ---- errors -------------------------------------------------------------------------------------
export type StatusName = 'OK' | 'CANCELLED' | 'UNKNOWN' | 'INVALID_ARGUMENT' | 'DEADLINE_EXCEEDED' | 'NOT_FOUND' |
  'ALREADY_EXISTS' | 'PERMISSION_DENIED' | 'RESOURCE_EXHAUSTED' | 'FAILED_PRECONDITION' | 'ABORTED' | 'OUT_OF_RANGE' |
  'UNIMPLEMENTED' | 'INTERNAL' | 'UNAVAILABLE' | 'DATA_LOSS' | 'UNAUTHENTICATED';

/** Every rejected call: `code` is the gRPC status number, `codeName` its name, `details` the server's message. */
export class AttuneError extends Error {
  constructor(code: number, details: string, options?: { cause?: unknown });
  readonly code: number;
  readonly codeName: StatusName;
  readonly details: string;
  /** Set by NowcastStream.ingest: observations of the call stored before the rejected one. */
  acknowledged?: number;
}
/** A training job ended FAILED: `code`/`details` are the job's error, `job` the final job record. */
export class JobFailed extends AttuneError {
  constructor(code: number, details: string, job: JobRecord);
  readonly job: JobRecord;
}
export class JobCancelled extends JobFailed {}

export namespace errors {
  export { AttuneError, JobFailed, JobCancelled };
  export class Cancelled extends AttuneError {}
  export class Unknown extends AttuneError {}
  export class InvalidArgument extends AttuneError {}
  export class DeadlineExceeded extends AttuneError {}
  export class NotFound extends AttuneError {}
  export class AlreadyExists extends AttuneError {}
  export class PermissionDenied extends AttuneError {}
  export class ResourceExhausted extends AttuneError {}
  export class FailedPrecondition extends AttuneError {}
  export class Aborted extends AttuneError {}
  export class OutOfRange extends AttuneError {}
  export class Unimplemented extends AttuneError {}
  export class Internal extends AttuneError {}
  export class Unavailable extends AttuneError {}
  export class DataLoss extends AttuneError {}
  export class Unauthenticated extends AttuneError {}
  export function errorClass(code: number): typeof AttuneError;
  export function fromServiceError(e: unknown): AttuneError;
  export const STATUS_NAMES: Record<number, StatusName>;
}

// ---- records (replies) --------------------------------------------------------------------------
export type DataTypeName = 'DATA_TYPE_UNSPECIFIED' | 'FLOAT32' | 'FLOAT64' | 'INT64' | 'INT32' | 'UINT8' | 'INT8' |
  'FLOAT16' | 'BFLOAT16' | 'BOOL';

export interface TensorSpec { name: string; dtype: DataTypeName; shape: number[] }

export interface ModelVersion {
  version: number;
  state: 'MODEL_STATE_UNSPECIFIED' | 'LOADING' | 'READY' | 'FAILED';
  parameterCount: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  hasFeatures: boolean;
  /** "upload", "repository:<path>", "architecture:<kind>", "training:<job>", "adaptation:<session>" */
  origin: string;
  sizeBytes: number;
  createdUnixSeconds: number;
  error: string;
  batchnormLayers: number;
}
export interface Model { name: string; versions: ModelVersion[]; servingVersion: number }

export interface Dataset {
  name: string;
  samples: number;
  features: TensorSpec | null;
  labels: TensorSpec | null;
  featureScale: number;
  sizeBytes: number;
  origin: string;
  createdUnixSeconds: number;
  classes: number;
}

export type JobState = 'JOB_STATE_UNSPECIFIED' | 'JOB_QUEUED' | 'JOB_RUNNING' | 'JOB_SUCCEEDED' | 'JOB_FAILED' | 'JOB_CANCELLED';
export interface JobMetadata {
  state: JobState;
  step: number;
  totalSteps: number;
  epoch: number;
  samples: number;
  loss: number;
  validationLoss: number;
  validationAccuracy: number;
  learningRate: number;
  batchSize: number;
  samplesPerSecond: number;
  etaSeconds: number;
  checkpointStep: number;
  createdUnixSeconds: number;
  startedUnixSeconds: number;
  finishedUnixSeconds: number;
  model: string;
  resumes: number;
}
export interface JobResult {
  modelName: string;
  modelVersion: number;
  finalLoss: number;
  validationLoss: number;
  validationAccuracy: number;
  steps: number;
  stopReason: string;
}
/** google.longrunning.Operation-shaped job: `error` or `response` is set once done. */
export interface JobRecord {
  name: string;
  done: boolean;
  metadata: JobMetadata;
  error?: { code: number; message: string };
  response?: JobResult;
  spec: Record<string, any> | null;
}
export interface JobEvent {
  kind: 'KIND_UNSPECIFIED' | 'STATE' | 'PROGRESS' | 'VALIDATION' | 'CHECKPOINT' | 'BATCH_SIZE';
  metadata: JobMetadata;
  message: string;
  done: boolean;
  /** The final job, on the last event. */
  job: JobRecord | null;
}
export interface TrainStepResult { step: number; loss: number; learningRate: number; published: Model | null }

export interface SessionStats {
  batches: number; samples: number; updates: number; resets: number; reliable: number; used: number;
  filteredEntropy: number; filteredRedundant: number; paramDistance: number; fisherDrift: number;
  movingAvgEntropy: number; lameInputs: string;
}
export interface SessionRecord {
  id: string;
  model: { name: string; version: number };
  options: AdaptationOptions & { method: string };
  stats: SessionStats;
  hasFisher: boolean;
  fisherSamples: number;
  createdUnixSeconds: number;
  idleSeconds: number;
}
export interface BatchStats {
  samples: number; meanEntropy: number; reliable: number; used: number; filteredEntropy: number;
  filteredRedundant: number; updated: boolean; loss: number; fisherPenalty: number; lameIterations: number;
}
export interface AdaptResult {
  /** 1, 2, ... per Adapt stream */
  sequence: number;
  /** [N, C]: softmax, or LAME's corrected assignment */
  probabilities: Tensor;
  predictions: number[];
  /** with { returnLogits: true } */
  logits: Tensor | null;
  stats: BatchStats;
}

export interface HorizonForecast { horizon: number; validTime: number; values: Record<string, number> }
export interface NowcastForecast {
  stream: string; step: number; issuedTime: number; fromModel: boolean; modelVersion: number; horizons: HorizonForecast[];
}
export interface FitRecord {
  version: number; fireStep: number; fireTime: number; trigger: string; ratio?: number; modelAge: number; window: number;
  trainRows: number; holdoutRows: number; epochs: number; rowsEpochs: number; flops: number; cpuSeconds: number;
  swapStep: number; eRef: number[];
}
export interface ObservationResult {
  step: number;
  time: number;
  forecast: NowcastForecast | null;
  matured: Array<{ target: string; horizon: number; issuedStep: number; validTime: number; forecast: number; actual: number;
    absError: number; persistenceAbsError: number; climatologyAbsError: number; fromModel: boolean; modelVersion: number }>;
  normalisedError?: number;
  readings: Array<{ detector: string; value: number }>;
  drifts: Array<{ step: number; detector: string; statistic: number }>;
  retrainStarted: Array<{ step: number; trigger: string; window: number; ratio?: number; modelAge: number }>;
  retrainFinished: FitRecord[];
  retrainFailed: Array<{ step: number; trigger: string; message: string }>;
}
export interface HorizonStats {
  target: string; horizon: number; count: number; mae: number; rmse: number; persistenceMae: number;
  climatologyMae: number; skill: number;
}
export interface NowcastStreamRecord {
  /** The configuration with every default filled in (NowcastStreamConfig). */
  config: { name: string; variables: string[]; targets: string[]; resolutionSeconds: number; lags?: number;
    horizons: number[]; calendarFeatures?: boolean; model: Record<string, any> | null; window: Record<string, any> | null;
    retrain: Record<string, any> | null; retrainMode: string };
  observations: number;
  lastTime?: number;
  modelReady: boolean;
  modelVersion: number;
  modelAge: number;
  retrainPending: boolean;
  fits: number;
  fitsByTrigger: Record<string, number>;
  meanWindow: number;
  compute: { trainCpuSeconds: number; trainRowsEpochs: number; trainFlops: number } | null;
  driftEvents: number;
  ratio?: number;
  horizons: HorizonStats[];
  recentFits: FitRecord[];
  persistence: { durableObservations: number; snapshotObservations: number; logBytes: number } | null;
  createdUnixSeconds: number;
}
export interface StreamSummary {
  name: string; variables: string[]; targets: string[]; model: string; trigger: string; observations: number;
  lastTime?: number; fits: number; driftEvents: number; error: string;
}
export interface IngestResult { ingested: number; observations: number; results: ObservationResult[] }

// ---- requests -----------------------------------------------------------------------------------
export type ModelRefLike = string | [string, number] | { name: string; version?: number };
export type TensorSpecLike = [string, Datatype, number[]] | { name: string; datatype: Datatype; shape: number[] };

export interface AdaptationOptions {
  episodic?: boolean; steps?: number; optimizer?: 'sgd' | 'adam'; lr?: number; momentum?: number; nesterov?: boolean;
  weightDecay?: number; eMarginFactor?: number; dMargin?: number; fisherAlpha?: number;
  affinity?: 'knn' | 'rbf' | 'linear'; knn?: number; forceSymmetry?: boolean;
}
export interface OptimizerSpec {
  name: string; lr?: number; weightDecay?: number; betas?: number[]; eps?: number; momentum?: number; nesterov?: boolean;
  options?: Record<string, number>; excludeBiasAndNormFromDecay?: boolean;
}
export interface TrainOptions {
  dataset: string;
  /** A hosted model to fine-tune ... */
  model?: ModelRefLike;
  version?: number;
  /** ... or an architecture to train from scratch, e.g. { mlp: { inFeatures: 8, outFeatures: 4 } } (needs publishName). */
  architecture?: Record<string, any>;
  optimizer?: string | OptimizerSpec;
  lr?: number;
  weightDecay?: number;
  /** optimizer-specific options, e.g. { no_prox: 1 } */
  optimizerOptions?: Record<string, number>;
  schedule?: 'constant' | 'warmup_cosine' | 'warmup_linear' | 'step' | Record<string, any>;
  warmupSteps?: number;
  batchSize?: number;
  batch?: Record<string, any>;
  loss?: 'cross_entropy' | 'mse' | 'l1';
  earlyStopping?: number | { patience: number; minDelta?: number };
  epochs?: number;
  maxSteps?: number;
  validationSplit?: number;
  validationDataset?: string;
  clipGradNorm?: number;
  evalEverySteps?: number;
  checkpointEverySteps?: number;
  seed?: number;
  deterministic?: boolean;
  publishName?: string;
  worldSize?: number;
}
export interface NowcastConfig {
  variables?: string[];
  targets?: string[];
  /** '1d', '1h', '15m' or seconds */
  resolution?: string | number;
  lags?: number;
  horizons?: number[];
  calendarFeatures?: boolean;
  /** 'ridge' | 'mlp' | 'lstm' | 'transformer' | 'persistence' | 'climatology', or a NowcastModelConfig */
  model?: string | Record<string, any>;
  /** 'fixed' | 'variance_horizon' | 'variance_horizon_plateau', or a NowcastWindowConfig */
  window?: string | Record<string, any>;
  /** 'performance' | 'periodic' | 'adwin' | 'page_hinkley' | 'none', or a NowcastRetrainConfig */
  retrain?: string | Record<string, any>;
  retrainMode?: 'background' | 'synchronous';
  /** open the stream if it exists already */
  existOk?: boolean;
}
/** [time, { variable: value }] or { time | date | timestamp | datetime, ...variables }; time in unix
 * seconds, a Date or 'YYYY-MM-DD[THH:MM[:SS]]' (UTC). */
export type ObservationRow = [number | string | Date, Record<string, number | string | null>] | Record<string, any>;

export interface ClientOptions {
  /** bearer token for servers started with --tokens-file (default $ATTUNE_TOKEN) */
  token?: string;
  /** true (system roots), a CA file path, or { ca, cert, key, serverName } (paths or Buffers) */
  tls?: boolean | string | { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; serverName?: string };
  /** deadline of unary calls in ms (default 60000) */
  timeoutMs?: number;
  /** folder holding attune/v1/*.proto */
  protoDir?: string;
}

// ---- handles ------------------------------------------------------------------------------------
export class Job {
  info: JobRecord;
  readonly name: string;
  readonly id: string;
  readonly state: JobState;
  readonly done: boolean;
  refresh(): Promise<JobRecord>;
  cancel(): Promise<JobRecord>;
  watch(options?: { timeoutMs?: number }): AsyncGenerator<JobEvent, void, undefined>;
  wait(options?: { timeoutMs?: number }): Promise<JobRecord>;
  /** Rejects with JobFailed / JobCancelled when the job did not succeed. */
  result(options?: { timeoutMs?: number }): Promise<JobResult>;
}

export class OnlineTraining {
  published: Model | null;
  steps: number;
  step(features: TensorLike, labels: TensorLike): Promise<TrainStepResult>;
  close(): Promise<Model | null>;
  abort(): void;
}

export class AdaptSession {
  readonly id: string;
  info: SessionRecord;
  closed: boolean;
  adapt(batch: TensorLike, options?: { returnLogits?: boolean }): Promise<AdaptResult>;
  adaptMany(batches: Iterable<TensorLike> | AsyncIterable<TensorLike>, options?: { returnLogits?: boolean }): AsyncGenerator<AdaptResult, void, undefined>;
  computeFisher(options: { dataset?: string; samples?: TensorLike; size?: number; batchSize?: number; seed?: number }): Promise<SessionRecord>;
  reset(): Promise<SessionRecord>;
  refresh(): Promise<SessionRecord>;
  publish(name?: string): Promise<Model>;
  close(): Promise<void>;
}

export class NowcastStream {
  readonly name: string;
  readonly variables: string[];
  readonly targets: string[];
  info: NowcastStreamRecord;
  ingest(rows: Iterable<ObservationRow>, options?: { batchSize?: number }): Promise<IngestResult>;
  forecast(): Promise<NowcastForecast>;
  status(options?: { recentFits?: number }): Promise<NowcastStreamRecord>;
  delete(): Promise<void>;
  export(options?: { path?: string }): Promise<{ format: string; modelKind: string; modelVersion: number; observations: number;
    layout: string; data?: Buffer; path?: string }>;
}

export class Client {
  constructor(address?: string, options?: ClientOptions);
  readonly address: string;
  readonly channel: Channel;
  timeoutMs: number;
  close(): void;
  metadata(): Metadata;

  health(service?: string): Promise<'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN'>;
  waitReady(timeoutMs?: number): Promise<string>;
  serverMetadata(): Promise<{ name: string; version: string; extensions: string[] }>;

  loadModel(pathOrBytes: string | Buffer | Uint8Array, name: string,
            options?: { inputs?: TensorSpecLike[]; outputs?: TensorSpecLike[]; version?: number }): Promise<Model>;
  loadFromRepository(repositoryPath: string, options?: { name?: string; version?: number }): Promise<Model>;
  createModel(name: string, kind: 'mlp' | 'cnn' | 'lstm' | 'transformer' | Record<string, any>, params?: Record<string, any>,
              options?: { seed?: number; version?: number }): Promise<Model>;
  listModels(): Promise<Model[]>;
  getModel(name: string): Promise<Model>;
  unloadModel(name: string, version?: number): Promise<number[]>;
  exportModel(name: string, options?: { version?: number }): Promise<Buffer>;
  exportModel(name: string, options: { version?: number; path: string }): Promise<string>;

  modelMetadata(model: string, version?: number | string): Promise<{ name: string; versions: string[]; platform: string;
    inputs: Array<{ name: string; datatype: string; shape: number[] }>; outputs: Array<{ name: string; datatype: string; shape: number[] }> }>;
  infer(model: string, input: TensorLike, options?: { version?: number | string; inputName?: string }): Promise<Tensor>;
  inferAll(model: string, inputs: Record<string, TensorLike>, options?: { version?: number | string }): Promise<Record<string, Tensor>>;

  uploadDataset(name: string, features: TensorLike, labels: TensorLike, options?: { featureScale?: number }): Promise<Dataset>;
  importDataset(name: string, path: string, options?: { format?: 'idx' | 'csv'; split?: string; labelsPath?: string;
    limit?: number; labelColumn?: string; regression?: boolean }): Promise<Dataset>;
  listDatasets(): Promise<Dataset[]>;
  getDataset(name: string): Promise<Dataset>;
  deleteDataset(name: string): Promise<void>;

  train(options: TrainOptions): Promise<Job>;
  job(name: string): Promise<Job>;
  listJobs(state?: string): Promise<JobRecord[]>;
  listOptimizers(): Promise<Array<{ name: string; description: string; options: Array<{ name: string; defaultValue: string; description: string }> }>>;
  trainOnline(model: ModelRefLike, options?: { optimizer?: string | OptimizerSpec; loss?: string; clipGradNorm?: number;
    publishName?: string; [optimizerOption: string]: any }): OnlineTraining;

  adaptSession(model: ModelRefLike, options?: AdaptationOptions & { method?: 'source' | 'norm' | 'tent' | 'eta' | 'eata' | 'lame'; version?: number }): Promise<AdaptSession>;
  withAdaptSession<T>(model: ModelRefLike, options: (AdaptationOptions & { method?: string; version?: number }) | undefined,
                      fn: (session: AdaptSession) => Promise<T>): Promise<T>;
  listSessions(): Promise<SessionRecord[]>;
  session(id: string): Promise<AdaptSession>;

  nowcastStream(name: string, config?: NowcastConfig): Promise<NowcastStream>;
  listStreams(): Promise<StreamSummary[]>;
}
