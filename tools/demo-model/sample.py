"""PyTorch-side sampling from a training checkpoint: DDIM (eta 0, SD's "leading" timesteps) with
classifier-free guidance, then the same objective checks as evaluate.py on held-out captions. For a GPU
session to judge progress without building the engine; the acceptance test is evaluate.py, through the
engine, on the exported file.

    python3 sample.py --run runs/demo --captions 60 --grid heldout.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import model as demo  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402


@torch.no_grad()
def ddim(net: demo.DemoModel, tokenizer: Tokenizer, captions, size: int, steps: int, cfg: float, seed: int,
         device: torch.device) -> np.ndarray:
    alphas = torch.cumprod(1.0 - demo.sd_betas(), 0).float().to(device)
    n = len(captions)
    ids = torch.tensor([tokenizer.encode_padded(c) for c in captions] + [tokenizer.encode_padded("")] * n,
                       device=device)
    context = net.cond_stage_model(ids)
    x = torch.randn((n, 4, size // 8, size // 8), generator=torch.Generator().manual_seed(seed)).to(device)
    ratio = 1000 // steps
    for t in reversed(range(1, 1000, ratio)):
        a = alphas[t]
        a_prev = alphas[t - ratio] if t - ratio >= 0 else alphas[0]
        eps = net.model.diffusion_model(torch.cat([x, x]), torch.full((2 * n,), float(t), device=device), context)
        cond, uncond = eps.chunk(2)
        eps = uncond + cfg * (cond - uncond)
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps
    images = net.first_stage_model.decode(x / demo.SD1_VAE_SCALE)
    return ((images.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True)
    p.add_argument("--captions", type=int, default=60)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-ema", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--grid")
    p.add_argument("--vocab", default=os.path.join(HERE, "vocab"))
    args = p.parse_args()
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    state = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    config = demo.DemoConfig.from_dict(state["config"])
    net = demo.DemoModel(config)
    weights = dict(state["weights"])
    if not args.no_ema and state.get("ema") and state.get("unet_step", 0) > 0:
        weights.update(state["ema"])
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    net.to(device).eval()
    tokenizer = Tokenizer.load(args.vocab)
    captions = data.heldout_captions(args.captions)
    images = np.concatenate([ddim(net, tokenizer, captions[i:i + 20], config.image_size, args.steps, args.cfg,
                                  args.seed + i, device) for i in range(0, len(captions), 20)])
    checks = [c for img, cap in zip(images, captions) for c in data.check_image(img, cap)]
    by_kind = {}
    for c in checks:
        ok, total = by_kind.get(c.name.split()[-1], (0, 0))
        by_kind[c.name.split()[-1]] = (ok + c.passed, total + 1)
    print(json.dumps({"unet_step": state["unet_step"], "checks": len(checks), "rate": sum(c.passed for c in checks) / len(checks),
                      "by_kind": {k: f"{ok}/{t}" for k, (ok, t) in by_kind.items()}}))
    if args.grid:
        s = config.image_size
        cols = 10
        rows = (len(images) + cols - 1) // cols
        grid = np.zeros((rows * s, cols * s, 3), dtype=np.uint8)
        for i, img in enumerate(images):
            r, c = divmod(i, cols)
            grid[r * s:(r + 1) * s, c * s:(c + 1) * s] = img
        try:
            from PIL import Image
            Image.fromarray(grid).save(args.grid)
        except ImportError:  # a GPU machine may lack Pillow: keep the pixels
            np.save(os.path.splitext(args.grid)[0] + ".npy", grid)


if __name__ == "__main__":
    main()
