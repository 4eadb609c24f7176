// proto <-> domain translation shared by the services.
#pragma once
#include <torch/torch.h>

#include "attune/v1/model_service.pb.h"
#include "attune/v1/tensor.pb.h"
#include "core/model_registry.h"
#include "core/tensor_codec.h"

namespace attune::rpc {

TensorSpec from_proto(const v1::TensorSpec& p);
std::vector<TensorSpec> from_proto(const google::protobuf::RepeatedPtrField<v1::TensorSpec>& p);
void to_proto(const TensorSpec& s, v1::TensorSpec* p);
void to_proto(const ModelInfo& m, v1::Model* p);

// Validated decode (dtype, shape, byte length); copy=false aliases the message's bytes.
torch::Tensor decode(const v1::Tensor& t, std::string_view field, bool copy = false);
void encode(const torch::Tensor& t, v1::Tensor* p);

}  // namespace attune::rpc
