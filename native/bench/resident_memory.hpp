// The process's resident high-water mark for the model benchmarks (Linux; 0 elsewhere): reset it
// (/proc/self/clear_refs) and read it (VmHWM in /proc/self/status) in MiB.
#pragma once

#include <fstream>
#include <string>

namespace nd::bench {

inline void reset_peak_rss() {
    std::ofstream("/proc/self/clear_refs") << "5";
}

inline double peak_rss_mib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return std::stod(line.substr(6)) / 1024.0;
        }
    }
    return 0.0;
}

} // namespace nd::bench
