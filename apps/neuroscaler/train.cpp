// neuroscaler train: runs the trainer program (neuroscaler-train, built next to this one) with the remaining
// arguments, so that only training pays for loading the training libraries (libtorch when built with it).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "ns/core/child_process.h"
#include "ns/core/error.h"

namespace ns::app {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void run_trainer(const std::vector<std::string>& args) {
  const fs::path trainer = trainer_program();
  std::error_code ec;
  if (!fs::exists(trainer, ec)) {
    throw Error(ErrorCode::unsupported, "train: the trainer program " + trainer.string() +
                                            " is missing; build it (scripts/build, or the target "
                                            "neuroscaler-train)");
  }
  std::vector<std::string> argv_strings = {"neuroscaler-train"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(trainer.c_str(), argv.data());
  throw Error(ErrorCode::internal, "train: cannot run " + trainer.string() + " (" + std::strerror(errno) + ")");
}

}  // namespace

fs::path trainer_program() { return core::self_executable().parent_path() / "neuroscaler-train"; }

void register_train(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "train", "Train EDSR models (oneDNN or libtorch): 'train pretrain' on photographs or a built data set,\n"
               "'train finetune' on one stream, 'train data' builds a data set whose LR went through real encoders\n"
               "(reference §5.2). Run 'neuroscaler train pretrain --help' for the options.");
  // Everything after "train" goes to the trainer program, --help included.
  cmd->prefix_command();
  cmd->set_help_flag();
  cmd->callback([cmd] {
    std::vector<std::string> args = cmd->remaining();
    run_trainer(args);
  });
}

}  // namespace ns::app
