// neuroscaler model: create and inspect SR model files (safetensors).
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "ns/sr/sr.h"

namespace ns::app {

namespace {

struct ModelInitOptions {
  int blocks = 8;
  int channels = 32;
  int scale = 3;
  uint64_t seed = 1;
  std::string storage = "f32";
  std::string output;
};

void run_model_init(const ModelInitOptions& o) {
  sr::ModelDesc desc;
  desc.blocks = o.blocks;
  desc.channels = o.channels;
  desc.scale = o.scale;
  sr::validate_desc(desc, "model init");
  sr::save_model(sr::random_model(desc, o.seed), o.output, sr::storage_type_from_name(o.storage));
}

void run_model_info(const std::string& path) {
  const sr::Model model = sr::load_model(path);
  nlohmann::json out = {{"file", path},
                        {"name", model.desc.name()},
                        {"arch", model.desc.arch},
                        {"blocks", model.desc.blocks},
                        {"channels", model.desc.channels},
                        {"scale", model.desc.scale},
                        {"parameters", sr::parameter_count(model.desc)},
                        {"receptive_radius", sr::receptive_radius(model.desc)}};
  std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace

void register_model(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("model", "Create or inspect SR model files (safetensors, reference §5.1).");
  cmd->require_subcommand(1);

  auto init = std::make_shared<ModelInitOptions>();
  CLI::App* init_cmd = cmd->add_subcommand(
      "init", "Write an EDSR model with PyTorch's default random initialisation (for tests and benchmarks\n"
              "before a trained model exists; its output is not a useful picture).");
  init_cmd->add_option("--blocks", init->blocks, "residual blocks")->capture_default_str();
  init_cmd->add_option("--channels", init->channels, "feature channels F")->capture_default_str();
  init_cmd->add_option("--scale", init->scale, "upscaling factor (2, 3 or 4)")->capture_default_str();
  init_cmd->add_option("--seed", init->seed, "random seed")->capture_default_str();
  init_cmd->add_option("--dtype", init->storage, "stored type: f32 | f16 | bf16")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))
      ->capture_default_str();
  init_cmd->add_option("--out,-o", init->output, "output .safetensors file")->required();
  init_cmd->callback([init] { run_model_init(*init); });

  auto path = std::make_shared<std::string>();
  CLI::App* info_cmd = cmd->add_subcommand("info", "Validate a model file and print its description as JSON.");
  info_cmd->add_option("model", *path, "a .safetensors model")->required();
  info_cmd->callback([path] { run_model_info(*path); });
}

}  // namespace ns::app
