"""The proof: the engine generates from held-out captions (combinations training never drew) and the
objective checker (data.check_image) judges every image. Exits 1 when fewer than --min-pass of the checks
pass, so it serves as the acceptance test of a trained demo model.

    python3 evaluate.py --model demo.gguf                                  # tokenizer from the GGUF
    python3 evaluate.py --model demo.safetensors --tokenizer vocab --captions 60 --grid heldout.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import data  # noqa: E402
import engine  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--tokenizer", default=None, help="vocab folder (a GGUF carries its own)")
    p.add_argument("--captions", type=int, default=60)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--sampler", default="euler_a")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-pass", type=float, default=0.9)
    p.add_argument("--grid", help="write the images side by side to this PNG")
    p.add_argument("--library", default=None)
    args = p.parse_args()

    captions = data.heldout_captions(args.captions)
    lib = engine.Engine(args.library or engine.find_library(REPO))
    results = []
    images = []
    start = time.time()
    with lib.load(args.model, tokenizer=args.tokenizer, threads=args.threads) as m:
        for i, caption in enumerate(captions):
            t0 = time.time()
            image = m.generate(caption, width=args.size, height=args.size, steps=args.steps, cfg=args.cfg,
                               seed=args.seed + i, sampler=args.sampler)[0]
            checks = data.check_image(image, caption)
            images.append(image)
            results.append({"caption": caption, "seconds": time.time() - t0,
                             "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in checks]})
            failed = [c.name for c in checks if not c.passed]
            print(f"{i:3d} {'ok  ' if not failed else 'FAIL'} {caption}" + (f"  ({', '.join(failed)})" if failed else ""))
    checks = [c for r in results for c in r["checks"]]
    passed = sum(c["passed"] for c in checks)
    rate = passed / len(checks)
    by_kind = {}
    for c in checks:
        kind = c["name"].split()[-1]
        ok, total = by_kind.get(kind, (0, 0))
        by_kind[kind] = (ok + c["passed"], total + 1)
    summary = {"checks": len(checks), "passed": passed, "rate": rate,
               "by_kind": {k: f"{ok}/{total}" for k, (ok, total) in by_kind.items()},
               "seconds_per_image": (time.time() - start) / len(captions), "min_pass": args.min_pass}
    print(json.dumps(summary))
    if args.grid:
        from PIL import Image
        cols = 10
        rows = (len(images) + cols - 1) // cols
        grid = np.zeros((rows * args.size, cols * args.size, 3), dtype=np.uint8)
        for i, img in enumerate(images):
            r, c = divmod(i, cols)
            grid[r * args.size:(r + 1) * args.size, c * args.size:(c + 1) * args.size] = img
        Image.fromarray(grid).save(args.grid)
    sys.exit(0 if rate >= args.min_pass else 1)


if __name__ == "__main__":
    main()
