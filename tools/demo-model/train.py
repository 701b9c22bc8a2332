"""Trains the demo model in resumable chunks.

Two stages, one checkpoint (RUN/checkpoint.pt, rewritten atomically every --save-every steps and at the
end of every command):
  vae   the autoencoder alone: L1 + MSE reconstruction and a small KL term. When it reaches its step
        count, the latent scale is folded into quant_conv/post_quant_conv so that latents * 0.18215
        (SD 1.x's fixed factor) have unit variance.
  unet  the UNet and the text encoder together on the frozen VAE's latents: epsilon prediction under SD's
        scaled_linear betas (0.00085..0.012, 1000 steps), captions dropped to "" one time in ten for
        classifier-free guidance; an EMA of both is kept and is what export.py writes.

Every command trains until the stage's --*-steps total is reached or --max-minutes pass, whichever is
first, then saves; run the same command again with --resume to go on. Data are scenes drawn by index
(sample i of the run is data.make_scene("train", i)), so a resumed run sees what an unbroken one would.

    python3 train.py --run runs/demo --stage all --vae-steps 3000 --unet-steps 30000 --max-minutes 9 --resume

(the same command, repeated, goes on where the last stopped; README.md has the GPU and CPU settings)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import model as demo  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

CHECKPOINT = "checkpoint.pt"


def _render(args):
    split, seed, size = args
    scene = data.make_scene(split, seed)
    return data.render(scene, size), scene.caption


class Batches:
    """Batch `step` of the run. Drawn on the fly, it is samples step*B .. step*B+B-1 of the training split;
    from a pool (--pool N: the first N training scenes, rendered once into RUN/ and memory-mapped), it is B
    indices drawn with a generator seeded by the step. Either way a resumed run sees what an unbroken one
    would."""

    def __init__(self, batch: int, size: int, workers: int, pool_size: int = 0, run: str = ""):
        self.batch = batch
        self.size = size
        self.workers = Pool(workers) if workers > 0 else None
        self.images = None
        self.captions: List[str] = []
        if pool_size > 0:
            self._load_pool(pool_size, run)

    def _load_pool(self, n: int, run: str) -> None:
        stem = os.path.join(run, f"pool-{self.size}px-{n}")
        if not os.path.exists(stem + ".json"):
            t0 = time.time()
            images = np.lib.format.open_memmap(stem + ".npy.tmp", mode="w+", dtype=np.uint8,
                                               shape=(n, self.size, self.size, 3))
            captions = []
            jobs = (("train", i, self.size) for i in range(n))
            rendered = self.workers.imap(_render, jobs, chunksize=256) if self.workers else map(_render, jobs)
            for i, (image, caption) in enumerate(rendered):
                images[i] = image
                captions.append(caption)
            images.flush()
            del images
            os.replace(stem + ".npy.tmp", stem + ".npy")
            with open(stem + ".json", "w", encoding="utf-8") as f:
                json.dump(captions, f)
            print(json.dumps({"event": "pool rendered", "scenes": n, "seconds": time.time() - t0}), flush=True)
        self.images = np.load(stem + ".npy", mmap_mode="r")
        with open(stem + ".json", encoding="utf-8") as f:
            self.captions = json.load(f)

    def get(self, step: int):
        if self.images is not None:
            index = np.sort(np.random.default_rng(step).integers(0, len(self.captions), self.batch))
            images = np.asarray(self.images[index])
            captions = [self.captions[i] for i in index]
        else:
            jobs = [("train", step * self.batch + i, self.size) for i in range(self.batch)]
            rendered = (self.workers.map(_render, jobs, chunksize=max(1, len(jobs) // 16)) if self.workers
                        else list(map(_render, jobs)))
            images = np.stack([r[0] for r in rendered])
            captions = [r[1] for r in rendered]
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return x, captions

    def close(self) -> None:
        if self.workers:
            self.workers.close()


def save(path: str, state: Dict) -> None:
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def log(run: str, record: Dict) -> None:
    print(json.dumps(record), flush=True)
    with open(os.path.join(run, "log.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


@torch.no_grad()
def measure_latent_std(vae: demo.AutoencoderKL, batches: Batches, device: torch.device, steps: int) -> float:
    values = []
    for s in range(steps):
        x, _ = batches.get(10_000_000 + s)  # a step no training run reaches
        mean, _ = vae.encode(x.to(device))
        values.append(mean.float().flatten().cpu())
    return float(torch.cat(values).std())


def train_vae(args, state: Dict, net: demo.DemoModel, device: torch.device, batches: Batches, deadline: float) -> None:
    if state.get("latent_scale"):
        return  # folded: the VAE is final, whatever --vae-steps says now
    vae = net.first_stage_model
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    if state.get("vae_opt"):
        opt.load_state_dict(state["vae_opt"])
    for g in opt.param_groups:
        g["lr"] = args.vae_lr  # the command line rules, also on resume
    vae.train()
    gen = torch.Generator(device="cpu")
    step = state["vae_step"]
    t0 = time.time()
    done_here = 0
    running = []
    while step < args.vae_steps and time.time() < deadline:
        x, _ = batches.get(step)
        x = x.to(device)
        mean, logvar = vae.encode(x)
        gen.manual_seed(2_000_003 * step + 5)  # noise by step: a resumed run draws what an unbroken one would
        z = mean + torch.randn(mean.shape, generator=gen).to(device) * torch.exp(0.5 * logvar)
        recon = vae.decode(z)
        rec = (recon - x).abs().mean() + F.mse_loss(recon, x)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=(1, 2, 3)).mean()
        loss = rec + args.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        done_here += 1
        running.append(float(rec))
        if step % args.log_every == 0 or step == args.vae_steps:
            log(args.run, {"stage": "vae", "step": step, "rec": sum(running) / len(running), "kl": float(kl),
                           "s_per_step": (time.time() - t0) / done_here})
            running = []
        if step % args.save_every == 0:
            state.update(vae_step=step, vae_opt=opt.state_dict(), weights=net.state_dict())
            save(args.checkpoint, state)
    state.update(vae_step=step, vae_opt=opt.state_dict())
    if step >= args.vae_steps and not state.get("latent_scale"):
        vae.eval()
        std = measure_latent_std(vae, batches, device, 8)
        k = 1.0 / (demo.SD1_VAE_SCALE * std)
        vae.fold_latent_scale(k)
        state["latent_scale"] = {"measured_std": std, "folded_factor": k}
        log(args.run, {"stage": "vae", "event": "latent scale folded", "std": std, "factor": k,
                       "std_after": measure_latent_std(vae, batches, device, 4)})
        state["vae_opt"] = None  # the optimiser's moments no longer match the rescaled convolutions
    state["weights"] = net.state_dict()


def train_unet(args, state: Dict, net: demo.DemoModel, ema: Dict[str, torch.Tensor], device: torch.device,
               batches: Batches, deadline: float, tokenizer: Tokenizer) -> None:
    if not state.get("latent_scale"):
        raise SystemExit("train the vae stage to its --vae-steps first (its latent scale is not folded yet)")
    unet = net.model.diffusion_model
    text = net.cond_stage_model
    vae = net.first_stage_model
    vae.eval().requires_grad_(False)
    params = list(unet.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=args.unet_lr, weight_decay=0.01)
    first = 0  # a fresh optimiser (a new run, or one resumed from a slim checkpoint) warms up again
    if state.get("unet_opt"):
        opt.load_state_dict(state["unet_opt"])
    else:
        first = state["unet_step"]
    unet.train()
    text.train()
    alphas_cumprod = torch.cumprod(1.0 - demo.sd_betas(), 0).float().to(device)
    step = state["unet_step"]
    t0 = time.time()
    done_here = 0
    running = []
    gen = torch.Generator(device="cpu")
    # state_dict tensors alias the parameters, so these lists follow training without copies.
    trained = {k: v for k, v in net.state_dict().items() if not k.startswith("first_stage_model.")}
    float_names = [k for k, v in trained.items() if v.dtype.is_floating_point]
    ema_floats = [ema[k] for k in float_names]
    live_floats = [trained[k] for k in float_names]
    while step < args.unet_steps and time.time() < deadline:
        gen.manual_seed(1_000_003 * step + 17)
        x, captions = batches.get(step)
        drop = torch.rand(len(captions), generator=gen) < args.caption_dropout
        captions = ["" if d else c for c, d in zip(captions, drop.tolist())]
        ids = torch.tensor([tokenizer.encode_padded(c) for c in captions], device=device)
        with torch.no_grad():
            mean, logvar = vae.encode(x.to(device))
            noise_z = torch.randn(mean.shape, generator=gen).to(device)
            latents = (mean + noise_z * torch.exp(0.5 * logvar)) * demo.SD1_VAE_SCALE
        t = torch.randint(0, 1000, (len(captions),), generator=gen).to(device)
        eps = torch.randn(latents.shape, generator=gen).to(device)
        a = alphas_cumprod[t][:, None, None, None]
        noisy = a.sqrt() * latents + (1.0 - a).sqrt() * eps
        warm = min(1.0, (step - first + 1) / args.warmup)
        for g in opt.param_groups:
            g["lr"] = args.unet_lr * warm
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=args.amp and device.type == "cuda"):
            context = text(ids)
            pred = unet(noisy, t.float(), context)
        loss = F.mse_loss(pred.float(), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            decay = min(args.ema, (1.0 + step) / (10.0 + step))
            torch._foreach_mul_(ema_floats, decay)
            torch._foreach_add_(ema_floats, live_floats, alpha=1.0 - decay)
        step += 1
        done_here += 1
        running.append(float(loss))
        if step % args.log_every == 0 or step == args.unet_steps:
            log(args.run, {"stage": "unet", "step": step, "loss": sum(running) / len(running),
                           "s_per_step": (time.time() - t0) / done_here})
            running = []
        if step % args.save_every == 0:
            state.update(unet_step=step, unet_opt=opt.state_dict(), weights=net.state_dict(), ema=ema)
            save(args.checkpoint, state)
    state.update(unet_step=step, unet_opt=opt.state_dict(), weights=net.state_dict(), ema=ema)


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="folder for the checkpoint and log.jsonl")
    p.add_argument("--stage", choices=["vae", "unet", "all"], default="all",
                   help="all: the vae stage to its end, then the unet stage")
    p.add_argument("--resume", action="store_true",
                   help="continue from RUN/checkpoint.pt when it exists (else start), so one command repeats")
    p.add_argument("--max-minutes", type=float, default=9.0, help="stop (and save) after this long")
    p.add_argument("--vae-steps", type=int, default=6000)
    p.add_argument("--unet-steps", type=int, default=40000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=64, help="image side, pixels (64 or 128)")
    p.add_argument("--preset", choices=sorted(demo.PRESETS), default="demo",
                   help="model sizes: demo (the shipped model), tiny (for tests of the tools)")
    p.add_argument("--vae-lr", type=float, default=2e-4)
    p.add_argument("--unet-lr", type=float, default=3e-4)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--kl-weight", type=float, default=1e-5)
    p.add_argument("--caption-dropout", type=float, default=0.1)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast for the unet stage on CUDA")
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0: torch's default")
    p.add_argument("--workers", type=int, default=0, help="processes drawing scenes; 0: in the training process")
    p.add_argument("--pool", type=int, default=0,
                   help="render the first N training scenes once into RUN/ and draw batches from them (GPU runs, "
                        "where drawing scenes on the fly would starve the GPU); 0: draw every batch anew")
    p.add_argument("--vocab", default=os.path.join(HERE, "vocab"))
    p.add_argument("--slim", help="also write a small checkpoint here at the end (F16 weights and EMA, no "
                                  "optimiser state) to carry to a fresh machine; copied to RUN/checkpoint.pt "
                                  "it resumes, with the optimiser restarting under a short warm-up")
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    os.makedirs(args.run, exist_ok=True)
    args.checkpoint = os.path.join(args.run, CHECKPOINT)
    start = time.time()
    deadline = start + args.max_minutes * 60.0
    tokenizer = Tokenizer.load(args.vocab)

    if args.resume and os.path.exists(args.checkpoint):
        state = torch.load(args.checkpoint, map_location="cpu")
        config = demo.DemoConfig.from_dict(state["config"])
    else:
        if os.path.exists(args.checkpoint):
            raise SystemExit(f"{args.checkpoint} exists: pass --resume to continue it, or choose another --run")
        config = demo.PRESETS[args.preset](image_size=args.size, vocab_size=len(tokenizer.vocab))
        state = {"config": config.to_dict(), "vae_step": 0, "unet_step": 0, "vae_opt": None, "unet_opt": None,
                 "latent_scale": None, "ema": None}
    if config.vocab_size != len(tokenizer.vocab):
        raise SystemExit(f"the checkpoint has {config.vocab_size} token embeddings but {args.vocab} {len(tokenizer.vocab)} tokens")
    # Worker processes fork before CUDA is touched.
    batches = Batches(args.batch, config.image_size, args.workers, args.pool, args.run)
    device = pick_device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # the VAE stage runs in float32; TF32 is plenty here
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    net = demo.DemoModel(config)
    if "weights" in state:
        net.load_state_dict(state["weights"])
    net.to(device)
    ema = state.get("ema")
    if ema is None:
        ema = {k: v.detach().clone() for k, v in net.state_dict().items() if not k.startswith("first_stage_model.")}
    ema = {k: (v.float() if v.is_floating_point() else v).to(device) for k, v in ema.items()}
    log(args.run, {"event": "start", "device": str(device), "threads": torch.get_num_threads(),
                   "parameters": demo.count_parameters(net), "vae_step": state["vae_step"],
                   "unet_step": state["unet_step"], "config": config.to_dict()})
    try:
        if args.stage in ("vae", "all"):
            train_vae(args, state, net, device, batches, deadline)
        if args.stage in ("unet", "all") and state.get("latent_scale") and time.time() < deadline:
            train_unet(args, state, net, ema, device, batches, deadline, tokenizer)
    finally:
        batches.close()
    state["weights"] = {k: v.cpu() for k, v in net.state_dict().items()}
    state["ema"] = {k: v.cpu() for k, v in ema.items()}
    save(args.checkpoint, state)
    if args.slim:
        slim = {k: v for k, v in state.items() if k not in ("vae_opt", "unet_opt", "weights", "ema")}
        slim["weights"] = {k: v.half() if v.is_floating_point() else v for k, v in state["weights"].items()}
        slim["ema"] = {k: v.half() if v.is_floating_point() else v for k, v in state["ema"].items()}
        slim.update(vae_opt=None, unet_opt=None)
        save(args.slim, slim)
    log(args.run, {"event": "saved", "vae_step": state["vae_step"], "unet_step": state["unet_step"],
                   "minutes": (time.time() - start) / 60.0,
                   "vae_done": bool(state.get("latent_scale")), "unet_done": state["unet_step"] >= args.unet_steps})


if __name__ == "__main__":
    main()
