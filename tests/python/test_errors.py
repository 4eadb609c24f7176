"""Every status code the API uses surfaces from the Python client as its typed exception, with the
gRPC code and the server's message; plus TLS / mutual TLS connections."""
import os
import sys
import tempfile
import unittest

import grpc
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "client", "python"))
from attune_test_server import AttuneServer, make_pki, write_tokens  # noqa: E402

from attune_client import (AlreadyExists, AttuneError, Client, FailedPrecondition, InvalidArgument,  # noqa: E402
                           JobFailed, NotFound, PermissionDenied, ResourceExhausted, Unauthenticated,
                           Unavailable)


class StatusCodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = AttuneServer("--max-sessions", "1", "--load-model", "cnn_bn", "--load-model", "mlp").__enter__()
        cls.client = Client(cls.server.address)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)

    def assertStatus(self, cm, cls, code, *fragments):
        e = cm.exception
        self.assertIs(type(e), cls)
        self.assertIsInstance(e, AttuneError)
        self.assertEqual(e.code, code)
        for f in fragments:
            self.assertIn(f, e.details)
        self.assertTrue(str(e).startswith(code.name + ": "), str(e))

    def test_not_found(self):
        with self.assertRaises(NotFound) as cm:
            self.client.infer("no-such-model", np.zeros((1, 8), np.float32))
        self.assertStatus(cm, NotFound, grpc.StatusCode.NOT_FOUND, "no-such-model", "not found")

    def test_invalid_argument_names_the_field_and_shapes(self):
        with self.assertRaises(InvalidArgument) as cm:
            self.client.infer("cnn_bn", np.zeros((2, 1, 28, 27), np.float32))
        self.assertStatus(cm, InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT,
                          "shape expected [-1,1,28,28], received [2,1,28,27]")
        with self.assertRaises(InvalidArgument) as cm:
            self.client.infer("mlp", np.full((1, 8), np.nan, np.float32))
        self.assertIn("non-finite", cm.exception.details)

    def test_already_exists(self):
        x, y = np.zeros((4, 8), np.float32), np.zeros(4, np.int64)
        self.client.upload_dataset("dup", x, y)
        with self.assertRaises(AlreadyExists) as cm:
            self.client.upload_dataset("dup", x, y)
        self.assertStatus(cm, AlreadyExists, grpc.StatusCode.ALREADY_EXISTS, "dataset 'dup' already exists")

    def test_failed_precondition(self):
        stream = self.client.nowcast_stream("empty", ["a", "b"], ["a"])
        with self.assertRaises(FailedPrecondition) as cm:
            stream.forecast()
        self.assertStatus(cm, FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, "empty")
        stream.delete()

    def test_resource_exhausted_beyond_max_sessions(self):
        with self.client.adapt_session("cnn_bn", method="norm"):
            with self.assertRaises(ResourceExhausted) as cm:
                self.client.adapt_session("cnn_bn", method="tent")
            self.assertStatus(cm, ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED, "1")
        # Closing the first frees the slot.
        with self.client.adapt_session("cnn_bn", method="tent") as s:
            self.assertEqual(s.adapt(np.zeros((2, 1, 28, 28), np.float32)).probabilities.shape, (2, 10))

    def test_job_failure_is_a_typed_error(self):
        # Labels 0..9 for a model with 4 outputs: the request is valid, the job fails while training.
        x = np.random.RandomState(0).randn(64, 8).astype(np.float32)
        y = np.arange(64, dtype=np.int64) % 10
        self.client.upload_dataset("ten-classes", x, y)
        try:
            job = self.client.train("ten-classes", model="mlp", optimizer="sgd", lr=0.1, max_steps=5)
        except InvalidArgument as e:  # rejected up front: also a typed error with the reason
            self.assertIn("class", e.details)
            return
        with self.assertRaises(JobFailed) as cm:
            job.result(timeout=60)
        e = cm.exception
        self.assertEqual(e.job.metadata.state, "JOB_FAILED")
        self.assertTrue(e.details)
        self.assertNotEqual(e.code, grpc.StatusCode.OK)

    def test_unavailable_when_nothing_listens(self):
        with Client("127.0.0.1:1", timeout=5) as c:
            with self.assertRaises(Unavailable) as cm:
                c.list_models()
            self.assertEqual(cm.exception.code, grpc.StatusCode.UNAVAILABLE)


class Tokens(unittest.TestCase):
    def test_unauthenticated_and_permission_denied(self):
        with tempfile.TemporaryDirectory() as scratch:
            tokens = write_tokens(os.path.join(scratch, "tokens"), {"ops": ("admin-secret", "admin"),
                                                             "app": ("infer-secret", "infer")})
            with AttuneServer("--tokens-file", tokens, "--load-model", "mlp") as server:
                with Client(server.address) as anonymous:
                    with self.assertRaises(Unauthenticated) as cm:
                        anonymous.list_models()
                    self.assertEqual(cm.exception.code, grpc.StatusCode.UNAUTHENTICATED)
                    self.assertTrue(cm.exception.details)
                with Client(server.address, token="wrong") as wrong:
                    with self.assertRaises(Unauthenticated):
                        wrong.infer("mlp", np.zeros((1, 8), np.float32))
                with Client(server.address, token="infer-secret") as app:
                    self.assertEqual(app.infer("mlp", np.zeros((1, 8), np.float32)).shape, (1, 4))
                    with self.assertRaises(PermissionDenied) as cm:
                        app.list_datasets()
                    self.assertEqual(cm.exception.code, grpc.StatusCode.PERMISSION_DENIED)
                    self.assertIn("train", cm.exception.details)  # names the role it lacks
                with Client(server.address, token="admin-secret") as ops:
                    self.assertEqual(ops.list_datasets(), [])
                    self.assertIn("mlp", [m.name for m in ops.list_models()])


class Tls(unittest.TestCase):
    def test_tls_and_mutual_tls(self):
        with tempfile.TemporaryDirectory() as scratch:
            pki = make_pki(scratch)
            with AttuneServer("--tls-cert", pki["server"], "--tls-key", pki["server_key"]) as server:
                with Client(server.address, tls={"ca": pki["ca"]}) as c:
                    self.assertEqual(c.list_models(), [])
                with Client(server.address, tls=pki["ca"]) as c:  # a CA path alone
                    self.assertEqual(c.health(), "SERVING")
                with Client(server.address, timeout=5) as plaintext:
                    with self.assertRaises(Unavailable):
                        plaintext.list_models()
            with AttuneServer("--tls-cert", pki["server"], "--tls-key", pki["server_key"],
                              "--tls-client-ca", pki["ca"]) as server:
                with Client(server.address, tls={"ca": pki["ca"], "cert": pki["client"],
                                                 "key": pki["client_key"]}) as c:
                    self.assertEqual(c.list_models(), [])
                with Client(server.address, tls={"ca": pki["ca"]}, timeout=5) as no_cert:
                    with self.assertRaises(AttuneError):
                        no_cert.list_models()
        with self.assertRaises(TypeError):
            Client("localhost:1", tls={"ca": "x", "cert": "y"})  # mTLS needs cert and key


if __name__ == "__main__":
    unittest.main()
