#include "core/system_info.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/temp_dir.hpp"

namespace nd::core {
namespace {

TEST(SystemInfo, Values_of_this_machine_are_sane) {
    const SystemInfo info = query_system_info();
    EXPECT_GE(info.logical_cores, 1u);
    EXPECT_GE(info.physical_cores, 1u);
    EXPECT_LE(info.physical_cores, info.logical_cores);
    EXPECT_GT(info.total_memory_bytes, 64u << 20);
    EXPECT_GT(info.available_memory_bytes, 0u);
    EXPECT_LE(info.available_memory_bytes, info.total_memory_bytes);
    EXPECT_FALSE(cpu_name().empty());
    EXPECT_EQ(&cpu_name(), &cpu_name()) << "the name is read once";
}

// Two packages of two cores with two hardware threads each, plus an offline CPU without topology.
TEST(SystemInfo, Physical_cores_are_distinct_package_and_core_pairs) {
    const testing::TempDir root;
    int cpu = 0;
    for (int package = 0; package < 2; ++package) {
        for (int core = 0; core < 2; ++core) {
            for (int thread = 0; thread < 2; ++thread) {
                const std::string dir = "cpu" + std::to_string(cpu++) + "/topology/";
                root.write(dir + "physical_package_id", std::to_string(package) + "\n");
                root.write(dir + "core_id", std::to_string(core) + "\n");
            }
        }
    }
    root.write("cpu8/online", "0\n");
    root.write("cpufreq/topology/core_id", "9\n"); // not a cpuN directory: ignored
    EXPECT_EQ(count_physical_cores(root.path()), 4u);
}

TEST(SystemInfo, Physical_cores_are_zero_without_topology) {
    const testing::TempDir root;
    EXPECT_EQ(count_physical_cores(root.path()), 0u);
    EXPECT_EQ(count_physical_cores(root.path() / "missing"), 0u);
}

TEST(SystemInfo, Meminfo_gives_total_and_available_in_bytes) {
    const MemoryInfo info = parse_meminfo("MemTotal:       24684084 kB\n"
                                          "MemFree:        24378872 kB\n"
                                          "MemAvailable:   24372488 kB\n"
                                          "Buffers:            1024 kB\n");
    EXPECT_EQ(info.total_bytes, 24684084ull * 1024);
    EXPECT_EQ(info.available_bytes, 24372488ull * 1024);
}

TEST(SystemInfo, Meminfo_without_the_fields_gives_nothing) {
    const MemoryInfo info = parse_meminfo("MemFree: 12 kB\nMemTotal: lots\n");
    EXPECT_FALSE(info.total_bytes.has_value());
    EXPECT_FALSE(info.available_bytes.has_value());
}

TEST(SystemInfo, Cpu_model_name_comes_from_cpuinfo) {
    EXPECT_EQ(parse_cpu_model_name("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9654\n"
                                   "processor\t: 1\nmodel name\t: AMD EPYC 9654\n"),
              "AMD EPYC 9654");
    EXPECT_EQ(parse_cpu_model_name("processor\t: 0\nBogoMIPS\t: 108.00\nHardware\t: BCM2835\n"
                                   "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n"),
              "Raspberry Pi 4 Model B Rev 1.4");
    EXPECT_FALSE(parse_cpu_model_name("processor\t: 0\nCPU implementer\t: 0x41\n").has_value());
}

} // namespace
} // namespace nd::core
