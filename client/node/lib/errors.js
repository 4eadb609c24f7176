'use strict';
// Typed errors carrying the gRPC status code and the server's message.
const { status } = require('@grpc/grpc-js');

const NAMES = Object.fromEntries(Object.entries(status).map(([name, code]) => [code, name]));

/** Base class: `code` is the numeric gRPC status, `codeName` its name ('NOT_FOUND'), `details` the
 * server's message. */
class AttuneError extends Error {
  constructor(code, details, options) {
    super(`${NAMES[code] || 'UNKNOWN'}: ${details}`, options);
    this.name = this.constructor.name;
    this.code = code;
    this.codeName = NAMES[code] || 'UNKNOWN';
    this.details = details;
  }
}

const CLASSES = {};
const exported = { AttuneError };
for (const [codeName, className] of [
  ['CANCELLED', 'Cancelled'], ['UNKNOWN', 'Unknown'], ['INVALID_ARGUMENT', 'InvalidArgument'],
  ['DEADLINE_EXCEEDED', 'DeadlineExceeded'], ['NOT_FOUND', 'NotFound'], ['ALREADY_EXISTS', 'AlreadyExists'],
  ['PERMISSION_DENIED', 'PermissionDenied'], ['RESOURCE_EXHAUSTED', 'ResourceExhausted'],
  ['FAILED_PRECONDITION', 'FailedPrecondition'], ['ABORTED', 'Aborted'], ['OUT_OF_RANGE', 'OutOfRange'],
  ['UNIMPLEMENTED', 'Unimplemented'], ['INTERNAL', 'Internal'], ['UNAVAILABLE', 'Unavailable'],
  ['DATA_LOSS', 'DataLoss'], ['UNAUTHENTICATED', 'Unauthenticated'],
]) {
  // A named class per status code, so `instanceof NotFound` and stack traces read well.
  const cls = { [className]: class extends AttuneError {} }[className];
  CLASSES[status[codeName]] = cls;
  exported[className] = cls;
}

/** A training job ended FAILED (or CANCELLED: JobCancelled). `code`/`details` are the job's
 * error; `job` the final job record. */
class JobFailed extends AttuneError {
  constructor(code, details, job) {
    super(code, details);
    this.job = job;
    this.message = `job ${job.name} ended ${job.metadata && job.metadata.state}: ${this.codeName}: ${details}`;
  }
}
class JobCancelled extends JobFailed {}

function errorClass(code) {
  return CLASSES[code] || AttuneError;
}

/** Converts a grpc-js ServiceError (anything with code/details) into the matching AttuneError. */
function fromServiceError(e) {
  if (e instanceof AttuneError || typeof e?.code !== 'number') return e;
  const details = e.details || (e.code === status.UNAVAILABLE ? 'server unreachable' : e.message || '');
  return new (errorClass(e.code))(e.code, details, { cause: e });
}

module.exports = { ...exported, JobFailed, JobCancelled, errorClass, fromServiceError, STATUS_NAMES: NAMES };
