// What the library was built with and what the machine offers.
#include "backends/cpu/cpu_features.hpp"
#include "capi/boundary.hpp"
#include "capi/versioned_struct.hpp"
#include "core/build_config.hpp"
#include "core/system_info.hpp"
#include "native_diffusion.h"

extern "C" {

nd_status nd_get_build_info(nd_build_info* out) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_struct(out, "out");
        namespace config = nd::core::build_config;
        nd_build_info info{};
        info.struct_size = sizeof(info);
        info.version = config::version;
        info.compiler = config::compiler;
        info.build_type = config::build_type;
        info.cxx_flags = config::cxx_flags;
        info.backends = config::backends;
        nd::capi::write_versioned(out, info);
    });
}

nd_status nd_get_system_info(nd_system_info* out) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_struct(out, "out");
        const nd::core::SystemInfo system = nd::core::query_system_info();
        nd_system_info info{};
        info.struct_size = sizeof(info);
        info.cpu_features = nd::backends::cpu::cpu_features();
        info.cpu_name = nd::core::cpu_name().c_str();
        info.physical_cores = system.physical_cores;
        info.logical_cores = system.logical_cores;
        info.total_memory_bytes = system.total_memory_bytes;
        info.available_memory_bytes = system.available_memory_bytes;
        nd::capi::write_versioned(out, info);
    });
}

} // extern "C"
