#include "architecture_args.h"

namespace attune::cli {

const char* kArchitectureUsage =
    "  --architecture mlp --in-features N [--hidden 64,64] --out-features N\n"
    "  --architecture cnn --in-channels C --height H --width W --classes K [--channels 16,32,64]\n"
    "  --architecture lstm --in-features N --out-features N [--hidden-size 32] [--layers 1] [--time-steps 8]\n"
    "  --architecture transformer --in-features N --out-features N [--d-model 32] [--heads 4]\n"
    "                             [--layers 2] [--feedforward 64] [--time-steps 8]\n";

const std::set<std::string>& architecture_options() {
  static const std::set<std::string> o{"architecture", "in-features", "hidden", "out-features",
                                       "in-channels", "height", "width", "classes", "channels",
                                       "hidden-size", "layers", "time-steps", "d-model", "heads",
                                       "feedforward"};
  return o;
}

v1::ArchitectureSpec parse_architecture(const Args& a) {
  const std::string kind = a.get_or("architecture", "");
  v1::ArchitectureSpec spec;
  if (kind == "mlp") {
    auto* m = spec.mutable_mlp();
    m->set_in_features(a.get_int("in-features", 0));
    m->set_out_features(a.get_int("out-features", 0));
    if (auto h = a.get("hidden"))
      for (auto v : parse_shape(*h)) m->add_hidden(v);
  } else if (kind == "cnn") {
    auto* m = spec.mutable_cnn();
    m->set_in_channels(a.get_int("in-channels", 1));
    m->set_height(a.get_int("height", 0));
    m->set_width(a.get_int("width", 0));
    m->set_classes(a.get_int("classes", 0));
    if (auto c = a.get("channels"))
      for (auto v : parse_shape(*c)) m->add_channels(v);
  } else if (kind == "lstm") {
    auto* m = spec.mutable_lstm();
    m->set_in_features(a.get_int("in-features", 0));
    m->set_out_features(a.get_int("out-features", 0));
    m->set_hidden(a.get_int("hidden-size", 0));
    m->set_layers(a.get_int("layers", 0));
    m->set_time_steps(a.get_int("time-steps", 0));
  } else if (kind == "transformer") {
    auto* m = spec.mutable_transformer();
    m->set_in_features(a.get_int("in-features", 0));
    m->set_out_features(a.get_int("out-features", 0));
    m->set_d_model(a.get_int("d-model", 0));
    m->set_heads(a.get_int("heads", 0));
    m->set_layers(a.get_int("layers", 0));
    m->set_feedforward(a.get_int("feedforward", 0));
    m->set_time_steps(a.get_int("time-steps", 0));
  } else {
    throw UsageError("--architecture: expected mlp, cnn, lstm or transformer, received '" + kind + "'");
  }
  return spec;
}

}  // namespace attune::cli
