// Builds KServe v2 requests from LibTorch tensors and reads responses back, for e2e tests.
#pragma once
#include <torch/torch.h>

#include <string>

#include "inference/open_inference_grpc.grpc.pb.h"

namespace attune::test {

std::string kserve_datatype(torch::ScalarType t);

// raw=true: bytes in raw_input_contents; raw=false: typed InferTensorContents.
inference::ModelInferRequest infer_request(const std::string& model, const std::string& input,
                                           const torch::Tensor& x, bool raw = true);
torch::Tensor output_tensor(const inference::ModelInferResponse& r, int i = 0);

}  // namespace attune::test
