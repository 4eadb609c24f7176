"""Training jobs (StartTraining / WatchJob / CancelJob) and online fine-tuning (TrainStream)."""
import grpc

from attune.v1 import dataset_service_pb2 as ds
from attune.v1 import training_service_pb2 as tr

from ._duplex import Duplex
from ._requests import model_ref, optimizer_spec
from .errors import DeadlineExceeded, Internal, JobCancelled, JobFailed, from_rpc_error, rpc, status_code
from .records import to_record
from .tensors import as_array, to_tensor


class Job:
    """A training job. `info` is the latest job record (name, done, metadata, error, response,
    spec); watch() streams its progress, result() waits for its end."""

    def __init__(self, client, job):
        self._client = client
        self.info = to_record(job)

    @property
    def name(self):
        """"jobs/<id>"."""
        return self.info.name

    @property
    def id(self):
        return self.info.name.split("/")[-1]

    @property
    def state(self):
        """JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED or JOB_CANCELLED (as last seen)."""
        return self.info.metadata.state

    @property
    def done(self):
        return self.info.done

    def __repr__(self):
        return "Job(%r, %s)" % (self.name, self.state)

    @rpc
    def refresh(self):
        """GetJob: updates and returns `info`."""
        c = self._client
        self.info = to_record(c._call(c.training.GetJob, tr.GetJobRequest(name=self.name)))
        return self.info

    @rpc
    def cancel(self):
        """Asks the job to stop (honoured within one step; it ends JOB_CANCELLED after a final
        checkpoint). Returns the job record."""
        c = self._client
        self.info = to_record(c._call(c.training.CancelJob, tr.CancelJobRequest(name=self.name)))
        return self.info

    def watch(self, timeout=None):
        """Yields the job's events as records until it ends: the first is its current state, then
        kind PROGRESS (metadata: step, epoch, loss, learning_rate, batch_size,
        samples_per_second, eta_seconds...), VALIDATION, CHECKPOINT, BATCH_SIZE and STATE; the
        last has done=True and the final job (also stored in `info`). `timeout` bounds the
        whole watch (DeadlineExceeded)."""
        c = self._client
        call = c.training.WatchJob(tr.WatchJobRequest(name=self.name), timeout=timeout, metadata=c.metadata)
        try:
            for ev in call:
                rec = to_record(ev)
                if rec.done and rec.job is not None:
                    self.info = rec.job
                yield rec
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None
        finally:
            call.cancel()  # the caller stopped early: end the stream on the server too

    def wait(self, timeout=None):
        """Blocks until the job ends (or `timeout` seconds pass: DeadlineExceeded); returns the
        final job record whatever its state."""
        if not self.done:
            for _ in self.watch(timeout):
                pass
            if not self.done:
                self.refresh()
        if not self.done:
            raise DeadlineExceeded(grpc.StatusCode.DEADLINE_EXCEEDED, "job %s is still %s" % (self.name, self.state))
        return self.info

    def result(self, timeout=None):
        """Blocks until the job ends. Returns its result record (model_name, model_version,
        final_loss, validation_loss, validation_accuracy, steps, stop_reason) when it
        succeeded; raises JobFailed (with the job's status code and message) or JobCancelled."""
        info = self.wait(timeout)
        state = info.metadata.state
        if state == "JOB_SUCCEEDED":
            return info.response
        err = info.error
        if state == "JOB_CANCELLED":
            raise JobCancelled(grpc.StatusCode.CANCELLED, err.message if err else "job cancelled", info)
        if state == "JOB_FAILED":
            raise JobFailed(status_code(err.code) if err else grpc.StatusCode.UNKNOWN,
                            err.message if err else "job failed", info)
        raise Internal(grpc.StatusCode.INTERNAL, "job %s is done but in state %s" % (self.name, state))


class OnlineTraining:
    """One TrainStream call: step(x, y) runs one optimizer step on a labelled batch; close()
    (or leaving the `with` block) publishes the trained copy as a new model version."""

    def __init__(self, client, model, optimizer, loss, clip_grad_norm, publish_name, optimizer_options):
        start = tr.TrainStreamStart(model=model_ref(model), optimizer=optimizer_spec(optimizer, **optimizer_options),
                                    clip_grad_norm=clip_grad_norm, publish_name=publish_name)
        if loss is not None:
            start.loss = tr.Loss.Value(loss.upper())
        self._duplex = Duplex(client.training.TrainStream, client.metadata)
        self._duplex.send(tr.TrainStreamRequest(start=start))
        self.published = None
        self.steps = 0

    @rpc
    def step(self, x, y):
        """One optimizer step on features x [n, ...] and labels y [n] (class ids) or targets.
        Returns a record: step, loss (of the batch before the step), learning_rate."""
        if self._duplex is None:
            raise RuntimeError("online training already closed")
        y = as_array(y)
        if y.dtype.kind in "iub":
            y = y.astype("int64")
        batch = tr.TrainStreamRequest(batch=ds.DatasetBatch(features=to_tensor(x), labels=to_tensor(y)))
        self._duplex.send(batch)
        resp = self._duplex.recv()
        if resp is None:
            self._duplex = None
            raise Internal(grpc.StatusCode.INTERNAL, "the server ended the training stream early")
        self.steps += 1
        return to_record(resp)

    @rpc
    def close(self):
        """Publishes the trained model (a new version) and returns its model record."""
        if self._duplex is None:
            return self.published
        replies, self._duplex = self._duplex.finish(), None
        for r in replies:
            if r.HasField("published"):
                self.published = to_record(r.published)
        return self.published

    def abort(self):
        """Ends the stream without publishing."""
        if self._duplex is not None:
            self._duplex.cancel()
            self._duplex = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        else:
            self.abort()
