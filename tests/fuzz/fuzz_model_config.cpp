// A model repository's config.json (LoadModel with repository_path, --load-model): any bytes
// either give tensor specs or INVALID_ARGUMENT naming the field; accepted specs survive the
// meta.json round trip unchanged.
#include <cstdint>
#include <string_view>

#include "core/model_meta.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  attune::RepositoryConfig cfg;
  if (!attune::fuzz::accepts("repository_config_from_json",
                             [&] { cfg = attune::repository_config_from_json(text, "config.json"); }))
    return 0;
  for (const auto* specs : {&cfg.inputs, &cfg.outputs}) {
    for (const auto& s : *specs) {
      FUZZ_CHECK(attune::itemsize(s.dtype) > 0);
      for (auto d : s.shape) FUZZ_CHECK(d >= -1);
    }
    std::vector<attune::TensorSpec> back;
    FUZZ_CHECK(attune::fuzz::accepts("specs_from_json(to_json)",
                                     [&] { back = attune::specs_from_json(attune::to_json(*specs), "round trip"); }));
    FUZZ_CHECK(back.size() == specs->size());
    for (size_t i = 0; i < back.size(); ++i)
      FUZZ_CHECK(back[i].name == (*specs)[i].name && back[i].dtype == (*specs)[i].dtype &&
                 back[i].shape == (*specs)[i].shape);
  }
  return 0;
}
