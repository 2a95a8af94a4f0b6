// neuroscaler: one program, one subcommand per job. Errors are printed by run_app only: one line, exit 1.
#include <csignal>

#include "commands.h"
#include "run_app.h"

int main(int argc, char** argv) {
  // A peer that closes its socket early (an admin client, a NATS server, a network input) must be an error on that
  // socket, not the end of the process: cpp-httplib writes without MSG_NOSIGNAL (found by `neuroscaler soak`).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "NeuroScaler: neural video enhancement at scale.\n"
      "Super-resolves a few anchor frames per stream and rebuilds the others by reuse.\n"
      "Run 'neuroscaler <command> --help' for the options of a command."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "neuroscaler 0.1.0");

  ns::app::register_demo(app);
  ns::app::register_sample(app);
  ns::app::register_probe(app);
  ns::app::register_quality(app);
  ns::app::register_reconstruct(app);
  ns::app::register_select(app);
  ns::app::register_enhance(app);
  ns::app::register_decode(app);
  ns::app::register_serve(app);
  ns::app::register_sr_worker(app);
  ns::app::register_soak(app);
  ns::app::register_bench_streams(app);
  ns::app::register_transcode(app);
  ns::app::register_upscale(app);
  ns::app::register_anchor_codecs(app);
  ns::app::register_model(app);
  ns::app::register_train(app);

  return ns::app::run_app(app, argc, argv, "neuroscaler");
}
