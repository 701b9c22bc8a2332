#include "model_files/canonical_shapes.hpp"

#include "core/dtype.hpp"

#include <string>
#include <vector>

namespace nd::model_files {

std::size_t canonicalize_unet_projection_shapes(WeightSet& weights, ModelFamily family) {
    const bool linear = family != ModelFamily::Sd1;
    std::size_t changed = 0;
    for (const std::string& name : weights.names_with_prefix("model.diffusion_model.")) {
        if (!name.ends_with(".proj_in.weight") && !name.ends_with(".proj_out.weight")) {
            continue;
        }
        const core::Tensor& tensor = weights.require(name);
        if (linear && tensor.rank() == 4 && tensor.dim(2) == 1 && tensor.dim(3) == 1) {
            weights.replace(name, tensor.reshape({tensor.dim(0), tensor.dim(1)}));
            ++changed;
        } else if (!linear && tensor.rank() == 2 && !core::dtype_is_quantized(tensor.dtype())) {
            // A block-quantized 1x1 kernel stays a matrix: its rows must be whole blocks, which [C, C, 1, 1]
            // (innermost extent 1) cannot hold; the UNet reads either form.
            weights.replace(name, tensor.reshape({tensor.dim(0), tensor.dim(1), 1, 1}));
            ++changed;
        }
    }
    return changed;
}

} // namespace nd::model_files
