// neuroscaler-train data: builds the training set whose LR looks like a streamer's encode (ns/sr/train/stream_set.h)
// in a folder, for `neuroscaler train pretrain --data DIR`. Errors: ns::Error, printed by run_app.
#pragma once

namespace CLI {
class App;
}  // namespace CLI

namespace ns::app {

// Adds the subcommand `data` to the trainer program's command line.
void register_data_command(CLI::App& train_app);

}  // namespace ns::app
