// KServe v2 tensors <-> LibTorch: raw_input_contents or typed InferTensorContents, validated
// against the model's declared inputs before LibTorch sees them.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "core/model_registry.h"
#include "inference/open_inference_grpc.pb.h"

namespace attune::rpc {

// Tensors in the model's input order. They may alias the request's bytes.
std::vector<torch::Tensor> decode_inputs(const inference::ModelInferRequest& req,
                                         const ModelVersionInfo& model);
// Fills outputs (all, or those requested) as raw_output_contents when `raw`, typed otherwise.
void encode_outputs(const inference::ModelInferRequest& req, const ModelVersionInfo& model,
                    const std::vector<torch::Tensor>& outputs, bool raw,
                    inference::ModelInferResponse* resp);

}  // namespace attune::rpc
