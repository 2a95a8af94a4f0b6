// ns/core: what a measurement ran on, for the JSON and reports of the commands that measure (anchor-codecs, demo, ...).
#pragma once

#include <string>

namespace ns::core {

std::string cpu_model();     // /proc/cpuinfo "model name", or "unknown"
std::string load_average();  // "1-min 5-min 15-min" from /proc/loadavg
double memory_gib();         // MemTotal, 0 when unknown
std::string utc_now();       // ISO 8601, e.g. 2026-11-27T04:20:00Z

}  // namespace ns::core
