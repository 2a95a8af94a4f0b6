// Subcommands of the neuroscaler program: each file adds one subcommand to the app; the callback
// parses nothing itself beyond options and calls the library. Errors are ns::Error, reported by main.
#pragma once

#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "ns/engine/nats_config.h"

namespace ns::app {

void register_probe(CLI::App& app);
void register_quality(CLI::App& app);
void register_reconstruct(CLI::App& app);
void register_sample(CLI::App& app);
void register_select(CLI::App& app);
void register_transcode(CLI::App& app);
void register_upscale(CLI::App& app);
void register_anchor_codecs(CLI::App& app);
void register_model(CLI::App& app);
void register_train(CLI::App& app);
void register_enhance(CLI::App& app);
void register_decode(CLI::App& app);
void register_serve(CLI::App& app);
void register_sr_worker(CLI::App& app);
void register_soak(CLI::App& app);
void register_bench_streams(CLI::App& app);
void register_demo(CLI::App& app);  // demo and eval

// The trainer program (neuroscaler-train, built next to this one; `neuroscaler train` runs it). It may be missing.
std::filesystem::path trainer_program();

// --backend: "auto" or one of the SR backends compiled in (sr::backend_names()); `note` follows the list in the help.
CLI::Option* add_backend_option(CLI::App* cmd, std::string& backend, const std::string& note = "");

// --anchor-weight (reuse::ReuseSettings::anchor_weight), in (0, 1]; `note` follows the common help.
template <typename T>
CLI::Option* add_anchor_weight_option(CLI::App* cmd, T& weight, const std::string& note = "") {
  return cmd
      ->add_option("--anchor-weight", weight,
                   "an SR anchor's share of its frame, blended into the frame's reuse prediction (1: the anchor "
                   "replaces its frame, reference §7; see the README, \"SR anchors blended into the chain\")" +
                       note)
      ->check(CLI::Range(0.001, 1.0));
}

// HOST:PORT of an option (port 0: any free one); ns::Error invalid_argument naming `option` otherwise.
struct HostPort {
  std::string host;
  int port = 0;
};
HostPort parse_host_port(const std::string& text, const std::string& option);

// --nats-token-file, --nats-creds, --nats-tls-ca/-cert/-key, --nats-prefix (serve and sr-worker).
void add_nats_options(CLI::App* cmd, engine::NatsConfig& nats);

}  // namespace ns::app
