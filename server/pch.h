// Precompiled for every LibTorch translation unit (see attune_torch_target in CMakeLists.txt).
#pragma once
#include <torch/torch.h>
#include <torch/script.h>
