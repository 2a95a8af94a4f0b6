#include "ns/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace ns::log {

static Level level_from_environment() {
  const char* value = std::getenv("NS_LOG_LEVEL");
  if (!value) return Level::info;
  if (!std::strcmp(value, "debug")) return Level::debug;
  if (!std::strcmp(value, "warn")) return Level::warn;
  if (!std::strcmp(value, "error")) return Level::error;
  if (!std::strcmp(value, "off")) return Level::off;
  return Level::info;
}

static std::atomic<Level>& current_level() {
  static std::atomic<Level> value{level_from_environment()};
  return value;
}

void set_level(Level value) { current_level().store(value); }
Level level() { return current_level().load(std::memory_order_relaxed); }

static spdlog::logger& sink_logger() {
  // One stderr sink shared by all named loggers; the name goes into the line.
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto made = spdlog::stderr_color_mt("neuroscaler");
    made->set_pattern("%^[%H:%M:%S.%e %l]%$ %v");
    made->set_level(spdlog::level::trace);
    return made;
  }();
  return *logger;
}

void write(std::string_view logger, Level value, std::string_view message) {
  spdlog::level::level_enum spd = spdlog::level::info;
  switch (value) {
    case Level::debug: spd = spdlog::level::debug; break;
    case Level::info: spd = spdlog::level::info; break;
    case Level::warn: spd = spdlog::level::warn; break;
    case Level::error: spd = spdlog::level::err; break;
    case Level::off: return;
  }
  sink_logger().log(spd, "{}: {}", logger, message);
}

}  // namespace ns::log
