// What the machine offers: cores and memory (CPU features live in backends/cpu/cpu_features.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace nd::core {

struct SystemInfo {
    std::uint32_t physical_cores = 0;
    std::uint32_t logical_cores = 0;
    std::uint64_t total_memory_bytes = 0;
    std::uint64_t available_memory_bytes = 0;
};

// Reads the current values (memory changes between calls, so nothing here is cached).
SystemInfo query_system_info();

// The CPU's brand string, read once; "unknown CPU" when the system does not say.
const std::string& cpu_name();

// The pieces below are exposed for tests, which feed them made-up /sys trees and /proc texts.

// Distinct (physical_package_id, core_id) pairs under `cpu_root` (normally /sys/devices/system/cpu);
// 0 when no topology can be read.
std::uint32_t count_physical_cores(const std::filesystem::path& cpu_root);

struct MemoryInfo {
    std::optional<std::uint64_t> total_bytes;
    std::optional<std::uint64_t> available_bytes;
};

// MemTotal and MemAvailable from the text of /proc/meminfo.
MemoryInfo parse_meminfo(std::string_view text);

// The brand string from the text of /proc/cpuinfo ("model name", or "Model"/"Hardware" on ARM boards).
std::optional<std::string> parse_cpu_model_name(std::string_view text);

} // namespace nd::core
