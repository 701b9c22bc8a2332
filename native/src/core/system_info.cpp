#include "core/system_info.hpp"

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <set>
#include <system_error>
#include <utility>

namespace nd::core {

namespace {

// /proc and /sys files report a size of 0, so they are read to the end rather than by their size.
std::optional<std::string> read_text_file(const std::filesystem::path& path) {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) {
        return std::nullopt;
    }
    std::string text((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
    return text;
}

std::string_view trim(std::string_view text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
    text = trim(text);
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

std::optional<std::uint64_t> read_unsigned_file(const std::filesystem::path& path) {
    const auto text = read_text_file(path);
    return text ? parse_unsigned(*text) : std::nullopt;
}

// Calls visit(key, value) for each "key: value" line (the layout of /proc/cpuinfo and /proc/meminfo).
template <typename Visit>
void for_each_key_value_line(std::string_view text, Visit visit) {
    while (!text.empty()) {
        const auto end_of_line = text.find('\n');
        const std::string_view line = text.substr(0, end_of_line);
        text.remove_prefix(end_of_line == std::string_view::npos ? text.size() : end_of_line + 1);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            visit(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
        }
    }
}

bool is_cpu_directory_name(const std::string& name) {
    return name.size() > 3 && name.starts_with("cpu") &&
           std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::uint32_t logical_core_count() {
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? static_cast<std::uint32_t>(online) : 1;
}

} // namespace

std::uint32_t count_physical_cores(const std::filesystem::path& cpu_root) {
    std::set<std::pair<std::uint64_t, std::uint64_t>> cores;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(cpu_root, error)) {
        if (!is_cpu_directory_name(entry.path().filename().string())) {
            continue;
        }
        // Offline CPUs have no topology directory; they are not cores we can use anyway.
        const auto package = read_unsigned_file(entry.path() / "topology" / "physical_package_id");
        const auto core = read_unsigned_file(entry.path() / "topology" / "core_id");
        if (package && core) {
            cores.emplace(*package, *core);
        }
    }
    return static_cast<std::uint32_t>(cores.size());
}

MemoryInfo parse_meminfo(std::string_view text) {
    MemoryInfo info;
    for_each_key_value_line(text, [&info](std::string_view key, std::string_view value) {
        std::optional<std::uint64_t>* target = key == "MemTotal"       ? &info.total_bytes
                                               : key == "MemAvailable" ? &info.available_bytes
                                                                       : nullptr;
        if (target == nullptr || !value.ends_with(" kB")) {
            return;
        }
        if (const auto kib = parse_unsigned(value.substr(0, value.size() - 3))) {
            *target = *kib * 1024;
        }
    });
    return info;
}

std::optional<std::string> parse_cpu_model_name(std::string_view text) {
    // In order of preference: x86 kernels copy the CPUID brand string into "model name".
    constexpr std::string_view keys[] = {"model name", "Model", "Hardware"};
    std::optional<std::string> found[std::size(keys)];
    for_each_key_value_line(text, [&](std::string_view key, std::string_view value) {
        for (std::size_t i = 0; i < std::size(keys); ++i) {
            if (key == keys[i] && !value.empty() && !found[i]) {
                found[i] = std::string(value);
            }
        }
    });
    for (auto& name : found) {
        if (name) {
            return std::move(name);
        }
    }
    return std::nullopt;
}

SystemInfo query_system_info() {
    SystemInfo info;
    info.logical_cores = logical_core_count();
    const std::uint32_t physical = count_physical_cores("/sys/devices/system/cpu");
    info.physical_cores = physical == 0 ? info.logical_cores : std::min(physical, info.logical_cores);

    MemoryInfo memory;
    if (const auto meminfo = read_text_file("/proc/meminfo")) {
        memory = parse_meminfo(*meminfo);
    }
    if (!memory.total_bytes || !memory.available_bytes) {
        // Without /proc (some sandboxes), sysinfo gives totals; free + buffers underestimates what is
        // available, which is the safe side for deciding how much to load.
        struct sysinfo fallback {};
        if (::sysinfo(&fallback) == 0) {
            const std::uint64_t unit = fallback.mem_unit;
            memory.total_bytes = memory.total_bytes.value_or(fallback.totalram * unit);
            memory.available_bytes =
                memory.available_bytes.value_or((fallback.freeram + fallback.bufferram) * unit);
        }
    }
    info.total_memory_bytes = memory.total_bytes.value_or(0);
    info.available_memory_bytes = std::min(memory.available_bytes.value_or(0), info.total_memory_bytes);
    return info;
}

const std::string& cpu_name() {
    static const std::string name = [] {
        if (const auto cpuinfo = read_text_file("/proc/cpuinfo")) {
            if (auto model = parse_cpu_model_name(*cpuinfo)) {
                return std::move(*model);
            }
        }
        struct utsname system {};
        if (::uname(&system) == 0) {
            return std::string("unknown ") + system.machine + " CPU";
        }
        return std::string("unknown CPU");
    }();
    return name;
}

} // namespace nd::core
