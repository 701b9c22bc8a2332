"""Proves that the engine computes what the PyTorch model computes, end to end: one Euler step from
t = 999 (trailing spacing) without guidance, so the image is decode(x - sigma * eps(x, 999, text(prompt)))
of the seed's noise, through the text encoder, the UNet and the VAE decoder. The PyTorch side uses the
exported file's F16 weights and PyTorch's CPU generator, which the engine reproduces (ND_RNG_CPU).

    python3 check_engine.py --model demo.safetensors [--tokenizer vocab]    # or a .gguf with its vocabulary
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import engine  # noqa: E402
import model as demo  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402


def read_safetensors(path: str):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        meta = header.pop("__metadata__", {})
        tensors = {}
        for name, info in header.items():
            f.seek(base + info["data_offsets"][0])
            raw = f.read(info["data_offsets"][1] - info["data_offsets"][0])
            dtype = {"F16": np.float16, "F32": np.float32}[info["dtype"]]
            tensors[name] = torch.from_numpy(np.frombuffer(raw, dtype=dtype).reshape(info["shape"]).astype(np.float32))
    return tensors, meta


@torch.no_grad()
def reference_image(net: demo.DemoModel, tokenizer: Tokenizer, prompt: str, size: int, seed: int) -> np.ndarray:
    alphas_cumprod = torch.cumprod(1.0 - demo.sd_betas(), 0)
    sigma = float(((1 - alphas_cumprod[999]) / alphas_cumprod[999]).sqrt())
    latent = size // 8
    noise = torch.randn((1, 4, latent, latent), generator=torch.Generator().manual_seed(seed))
    x = noise * sigma
    ids = torch.tensor([tokenizer.encode_padded(prompt)])
    context = net.cond_stage_model(ids)
    eps = net.model.diffusion_model(x / (sigma ** 2 + 1) ** 0.5, torch.tensor([999.0]), context)
    x0 = x - sigma * eps
    image = net.first_stage_model.decode(x0 / demo.SD1_VAE_SCALE)[0]
    return ((image.clamp(-1, 1) + 1) * 127.5).round().permute(1, 2, 0).to(torch.uint8).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="the exported .safetensors (the reference reads its weights)")
    p.add_argument("--engine-model", help="what the engine loads instead (e.g. the converted .gguf)")
    p.add_argument("--tokenizer", default=os.path.join(HERE, "vocab"))
    p.add_argument("--prompt", default="a red circle left of a blue square on a white background")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--library", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    tensors, meta = read_safetensors(args.model)
    config = demo.DemoConfig.from_dict(json.loads(meta["nd.demo.config"]))
    net = demo.DemoModel(config).eval()
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise SystemExit(f"names differ: missing {missing[:5]}, unexpected {unexpected[:5]}")
    tokenizer = Tokenizer.load(args.tokenizer)
    ref = reference_image(net, tokenizer, args.prompt, args.size, args.seed)
    lib = engine.Engine(args.library or engine.find_library(REPO))
    with lib.load(args.engine_model or args.model, tokenizer=args.tokenizer, threads=1) as m:
        got = m.generate(args.prompt, width=args.size, height=args.size, steps=1, cfg=1.0, seed=args.seed,
                         sampler="euler", timestep_spacing="trailing")[0]
    diff = np.abs(got.astype(np.int32) - ref.astype(np.int32))
    print(json.dumps({"max_abs_diff": int(diff.max()), "mean_abs_diff": float(diff.mean()),
                      "pixels_over_4": int((diff > 4).sum()), "reference_mean": float(ref.mean()),
                      "engine_mean": float(got.mean())}))


if __name__ == "__main__":
    main()
