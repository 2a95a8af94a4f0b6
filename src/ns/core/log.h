// ns/core: logging through named loggers ("media", "engine.stream.cam42") to stderr, never stdout.
// In: a logger name, a level and a fmt-style message. Out: one line on stderr via spdlog.
// Levels: debug per frame, info per file or epoch, warn for recoverable trouble, error before failing.
// Thread-safety: all functions may be called from any thread.
// Errors: none; a message that fails to format is logged as such.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace ns::log {

enum class Level { debug, info, warn, error, off };

void set_level(Level level);  // default: info, or NS_LOG_LEVEL=debug|info|warn|error|off
Level level();
void write(std::string_view logger, Level level, std::string_view message);

template <typename... Args>
void debug(std::string_view logger, fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::debug) write(logger, Level::debug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void info(std::string_view logger, fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::info) write(logger, Level::info, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(std::string_view logger, fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::warn) write(logger, Level::warn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void error(std::string_view logger, fmt::format_string<Args...> format, Args&&... args) {
  if (level() <= Level::error) write(logger, Level::error, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace ns::log
