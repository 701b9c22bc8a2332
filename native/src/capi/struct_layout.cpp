// nd_struct_layout: the library's own offsets and sizes, so that bindings can check their mirror structs.
// The list of structs and fields comes from struct_layout.g.inc, which the bindings generator writes from
// native_diffusion.h; the numbers come from the compiler here, so the two sides are compared for real.
#include <cstddef>
#include <string_view>

#include "capi/boundary.hpp"
#include "native_diffusion.h"

namespace {

struct LayoutEntry {
    std::string_view struct_name;
    std::string_view field_name; // empty for the struct itself
    std::size_t offset;
    std::size_t size;
};

#define ND_LAYOUT_STRUCT(type) LayoutEntry{#type, {}, 0, sizeof(type)},
#define ND_LAYOUT_FIELD(type, field) LayoutEntry{#type, #field, offsetof(type, field), sizeof(type::field)},
constexpr LayoutEntry kLayouts[] = {
#include "capi/struct_layout.g.inc"
};
#undef ND_LAYOUT_STRUCT
#undef ND_LAYOUT_FIELD

} // namespace

extern "C" {

nd_status nd_struct_layout(const char* struct_name, const char* field_name, size_t* out_offset,
                           size_t* out_size) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(struct_name, "struct_name");
        nd::capi::require_non_null(out_offset, "out_offset");
        nd::capi::require_non_null(out_size, "out_size");
        const std::string_view wanted_field = field_name != nullptr ? field_name : "";
        bool struct_known = false;
        for (const LayoutEntry& entry : kLayouts) {
            if (entry.struct_name != struct_name) {
                continue;
            }
            struct_known = true;
            if (entry.field_name == wanted_field) {
                *out_offset = entry.offset;
                *out_size = entry.size;
                return;
            }
        }
        if (!struct_known) {
            nd::core::throw_error(ND_STATUS_NOT_FOUND, "no public struct is named '{}'", struct_name);
        }
        nd::core::throw_error(ND_STATUS_NOT_FOUND, "struct '{}' has no field '{}'", struct_name,
                              wanted_field);
    });
}

} // extern "C"
