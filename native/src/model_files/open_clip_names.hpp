// OpenCLIP text encoders (SD 2.x's ViT-H, SDXL's ViT-bigG) stored in transformers naming, brought back to
// OpenCLIP's own layout, which is canonical here because the original checkpoints use it
// (`cond_stage_model.model.*`, `conditioner.embedders.1.model.*`).
//
// Diffusers folders (CLIPTextModel / CLIPTextModelWithProjection) and stable-diffusion.cpp's GGUF files store
// these encoders as transformers does: separate q/k/v projections, `layer_norm1`, `mlp.fc1`... OpenCLIP
// keeps q, k and v as one `attn.in_proj_weight` [3C, C]; joining them is the one place where loading copies
// weights (rows are whole blocks, so this works for block-quantized weights too). Everything else is a
// rename.
//
// A diffusers SD 2.x text encoder has 23 layers where the checkpoint has 24: SD 2.x reads the penultimate
// layer, so diffusers drops the last one. The translation keeps what is there; the text encoder must take
// the output of resblock 22 either way.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model_files/weight_set.hpp"

namespace nd::model_files {

// The OpenCLIP name (relative, e.g. "transformer.resblocks.3.ln_1.weight") of a transformers name relative
// to the encoder ("text_model.encoder.layers.3.layer_norm1.weight"), or nullopt when it has none. q/k/v
// projections are not named here: they are fused by add_transformers_text_model_as_open_clip.
std::optional<std::string> open_clip_name(std::string_view transformers_name);

// Adds `encoder` (names relative to it: "text_model.*", and "text_projection.weight" as transformers'
// CLIPTextModelWithProjection stores it, [P, C], or "text_model.text_projection" as stable-diffusion.cpp
// keeps OpenCLIP's [C, P]) to `out` as `prefix` + "model." + OpenCLIP names. `position_ids` buffers are
// dropped. Throws Error(ND_STATUS_UNSUPPORTED) naming an unknown weight, Error(ND_STATUS_INVALID_FORMAT) for
// q/k/v projections missing one of three or of mismatched shapes or types.
void add_transformers_text_model_as_open_clip(WeightSet& out, const WeightSet& encoder, std::string_view prefix);

// stable-diffusion.cpp's GGUF naming of text encoders (`cond_stage_model.transformer.*` for every first
// encoder, `cond_stage_model.1.transformer.*` for SDXL's second, OpenCLIP in transformers naming) made
// canonical, in place:
// - with `cond_stage_model.1.` (SDXL base): CLIP ViT-L moves to `conditioner.embedders.0.transformer.`, bigG
//   becomes `conditioner.embedders.1.model.*`;
// - with a UNet `label_emb` and one encoder (SDXL refiner): bigG becomes `conditioner.embedders.0.model.*`;
// - with one encoder of width 1024 (SD 2.x's ViT-H; CLIP ViT-L is 768 wide): `cond_stage_model.model.*`.
// Files already in the original layout are left as they are.
void canonicalize_sdcpp_text_encoders(WeightSet& weights);

} // namespace nd::model_files
