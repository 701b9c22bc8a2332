"""Procedural scenes for the demo model: coloured shapes on plain or gradient backgrounds, their captions,
a held-out split of combinations training never sees, and the objective checker the proof test uses.

Everything is deterministic: a scene is a pure function of (split, seed). Captions come from one small
grammar, and `parse_caption` inverts it, so the checker can say from a caption alone what should be
where. Needs numpy only (Debian: python3-numpy); writing a preview grid (main) needs Pillow too.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# The named colours. Far enough apart that nearest-colour classification of a generated image is
# meaningful; the generator jitters each channel by a few levels so the model sees shades, not one value.
COLOURS: Dict[str, Tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 60, 220),
    "yellow": (240, 225, 30),
    "orange": (245, 140, 20),
    "purple": (130, 40, 170),
    "pink": (245, 140, 200),
    "cyan": (40, 210, 225),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "brown": (120, 70, 30),
}
COLOUR_NAMES: List[str] = list(COLOURS)

SHAPES: List[str] = ["circle", "square", "triangle", "star", "ring", "diamond", "cross", "hexagon"]

# Named positions: the object's centre in unit coordinates (x right, y down).
POSITIONS: Dict[str, Tuple[float, float]] = {
    "centre": (0.5, 0.5),
    "left": (0.25, 0.5),
    "right": (0.75, 0.5),
    "top": (0.5, 0.25),
    "bottom": (0.5, 0.75),
    "top left": (0.27, 0.27),
    "top right": (0.73, 0.27),
    "bottom left": (0.27, 0.73),
    "bottom right": (0.73, 0.73),
}
POSITION_PHRASES: Dict[str, str] = {
    "centre": "in the centre",
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "top left": "in the top left corner",
    "top right": "in the top right corner",
    "bottom left": "in the bottom left corner",
    "bottom right": "in the bottom right corner",
}

# Object radius (half the bounding box side) as a fraction of the image side. "" is the unnamed size.
SIZES: Dict[str, float] = {"small": 0.12, "": 0.17, "large": 0.23}

# Two objects: the first object's place relative to the second; centres of (first, second).
RELATIONS: Dict[str, Tuple[Tuple[float, float], Tuple[float, float]]] = {
    "left of": ((0.27, 0.5), (0.73, 0.5)),
    "right of": ((0.73, 0.5), (0.27, 0.5)),
    "above": ((0.5, 0.27), (0.5, 0.73)),
    "below": ((0.5, 0.73), (0.5, 0.27)),
}
PAIR_RADIUS = 0.15

JITTER = 0.04           # centre jitter, unit coordinates
COLOUR_JITTER = 12      # per channel, levels
SUPERSAMPLE = 4         # drawing resolution factor, for smooth edges

SPLITS = ("train", "heldout")


@dataclasses.dataclass(frozen=True)
class Background:
    top: str
    bottom: str          # == top for a plain background

    @property
    def is_gradient(self) -> bool:
        return self.top != self.bottom

    def phrase(self) -> str:
        if self.is_gradient:
            return f"{self.top} to {self.bottom} gradient background"
        return f"{self.top} background"


@dataclasses.dataclass(frozen=True)
class ObjectSpec:
    """What a caption says about one object; `place` is a position name or, for the pair's objects,
    "first <relation>" / "second <relation>"."""
    colour: str
    shape: str
    place: str
    size: str = ""

    @property
    def centre(self) -> Tuple[float, float]:
        if self.place in POSITIONS:
            return POSITIONS[self.place]
        which, relation = self.place.split(" ", 1)
        first, second = RELATIONS[relation]
        return first if which == "first" else second

    @property
    def radius(self) -> float:
        return SIZES[self.size] if self.place in POSITIONS else PAIR_RADIUS


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    """A caption's meaning: the objects and the background (None when the caption does not say)."""
    objects: Tuple[ObjectSpec, ...]
    background: Optional[Background]


@dataclasses.dataclass(frozen=True)
class Scene:
    spec: SceneSpec
    background: Background                      # always set: drawn even when the caption omits it
    centres: Tuple[Tuple[float, float], ...]    # jittered
    rotations: Tuple[float, ...]                # degrees, small
    rgb: Tuple[Tuple[int, int, int], ...]       # jittered object colours
    background_rgb: Tuple[Tuple[int, int, int], Tuple[int, int, int]]
    caption: str


# ---------------------------------------------------------------------------------------------------
# Captions


def article(word: str) -> str:
    """"an" before a vowel sound ("an orange circle"), else "a"; the parser takes either anywhere."""
    return "an" if word[0] in "aeiou" else "a"


def caption_of(spec: SceneSpec) -> str:
    objs = spec.objects
    if len(objs) == 1:
        o = objs[0]
        size = f"{o.size} " if o.size else ""
        first = o.size or o.colour
        text = f"{article(first)} {size}{o.colour} {o.shape} {POSITION_PHRASES[o.place]}"
    else:
        a, b = objs
        relation = a.place.split(" ", 1)[1]
        text = f"{article(a.colour)} {a.colour} {a.shape} {relation} {article(b.colour)} {b.colour} {b.shape}"
    if spec.background is not None:
        text += f" on {article(spec.background.top)} {spec.background.phrase()}"
    return text


def parse_caption(caption: str) -> SceneSpec:
    """Inverts `caption_of`. Raises ValueError for text outside the grammar."""
    words = ["a" if w == "an" else w for w in caption.strip().lower().split()]
    background = None
    if "on" in words and words[-1] == "background":
        at = len(words) - 1 - words[::-1].index("on")
        tail = words[at:]
        if tail[:2] != ["on", "a"]:
            raise ValueError(f"caption {caption!r}: expected 'on a ... background'")
        colours = tail[2:-1]
        if len(colours) == 1 and colours[0] in COLOURS:
            background = Background(colours[0], colours[0])
        elif len(colours) == 4 and colours[1] == "to" and colours[3] == "gradient" and \
                colours[0] in COLOURS and colours[2] in COLOURS:
            background = Background(colours[0], colours[2])
        else:
            raise ValueError(f"caption {caption!r}: unknown background {' '.join(colours)!r}")
        words = words[:at]
    if not words or words[0] != "a":
        raise ValueError(f"caption {caption!r}: must start with 'a'")
    text = " ".join(words[1:])
    for relation in RELATIONS:
        marker = f" {relation} a "
        if marker in f" {text} ":
            left, right = f" {text} ".split(marker, 1)
            first = _colour_shape(left.strip(), caption)
            second = _colour_shape(right.strip(), caption)
            return SceneSpec((ObjectSpec(first[0], first[1], f"first {relation}"),
                              ObjectSpec(second[0], second[1], f"second {relation}")), background)
    for place, phrase in POSITION_PHRASES.items():
        if text.endswith(" " + phrase):
            head = text[: -len(phrase) - 1].split()
            size = ""
            if head and head[0] in SIZES and head[0]:
                size, head = head[0], head[1:]
            colour, shape = _colour_shape(" ".join(head), caption)
            return SceneSpec((ObjectSpec(colour, shape, place, size),), background)
    raise ValueError(f"caption {caption!r}: no position or relation")


def _colour_shape(text: str, caption: str) -> Tuple[str, str]:
    parts = text.split()
    if len(parts) != 2 or parts[0] not in COLOURS or parts[1] not in SHAPES:
        raise ValueError(f"caption {caption!r}: expected '<colour> <shape>', found {text!r}")
    return parts[0], parts[1]


# ---------------------------------------------------------------------------------------------------
# The held-out split: whole combinations training never draws.


def _bucket(key: str) -> int:
    return zlib.crc32(key.encode("utf-8")) % 10


def is_heldout(spec: SceneSpec) -> bool:
    """One in ten (colour, shape, position) triples, and one in ten (colour, shape, relation, colour,
    shape) pairs, belong to the held-out split. Backgrounds and sizes do not decide."""
    if len(spec.objects) == 1:
        o = spec.objects[0]
        return _bucket(f"{o.colour}|{o.shape}|{o.place}") == 0
    a, b = spec.objects
    return _bucket(f"{a.colour}|{a.shape}|{a.place}|{b.colour}|{b.shape}") == 0


# ---------------------------------------------------------------------------------------------------
# Sampling


def _contrasting(rng: random.Random, avoid: Sequence[str]) -> str:
    # Object and background colours differ, and so do gray/white/black neighbours that would blur.
    close = {"white": {"gray", "pink", "yellow", "cyan"}, "gray": {"white", "black", "brown"},
             "black": {"gray", "brown"}, "brown": {"black", "gray", "orange", "red"},
             "orange": {"brown", "yellow", "red"}, "yellow": {"orange", "white"},
             "red": {"orange", "brown", "pink"}, "pink": {"white", "red"}, "cyan": {"white", "blue", "green"},
             "blue": {"cyan", "purple"}, "purple": {"blue"}, "green": {"cyan"}}
    banned = set(avoid)
    for name in avoid:
        banned |= close.get(name, set())
    choices = [c for c in COLOUR_NAMES if c not in banned]
    return rng.choice(choices)


def sample_spec(rng: random.Random, split: str, caption_background: bool = True) -> Tuple[SceneSpec, Background]:
    """A scene description from `split`; the background is returned separately because a caption may
    leave it out (then the model learns any background is fine)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}")
    while True:
        if rng.random() < 0.7:
            bg = _sample_background(rng, [])
            colour = _contrasting(rng, [bg.top, bg.bottom])
            spec = SceneSpec((ObjectSpec(colour, rng.choice(SHAPES), rng.choice(list(POSITIONS)),
                                         rng.choice(list(SIZES))),), bg)
        else:
            bg = _sample_background(rng, [])
            c1 = _contrasting(rng, [bg.top, bg.bottom])
            c2 = _contrasting(rng, [bg.top, bg.bottom, c1])
            relation = rng.choice(list(RELATIONS))
            spec = SceneSpec((ObjectSpec(c1, rng.choice(SHAPES), f"first {relation}"),
                              ObjectSpec(c2, rng.choice(SHAPES), f"second {relation}")), bg)
        if is_heldout(spec) == (split == "heldout"):
            break
    if not caption_background:
        spec = dataclasses.replace(spec, background=None)
    return spec, bg


def _sample_background(rng: random.Random, avoid: Sequence[str]) -> Background:
    top = rng.choice([c for c in COLOUR_NAMES if c not in avoid])
    if rng.random() < 0.3:
        bottom = _contrasting(rng, [top])
        return Background(top, bottom)
    return Background(top, top)


def _jitter_rgb(rng: random.Random, rgb: Tuple[int, int, int]) -> Tuple[int, int, int]:
    return tuple(max(0, min(255, v + rng.randint(-COLOUR_JITTER, COLOUR_JITTER))) for v in rgb)


def make_scene(split: str, seed: int, caption_background_rate: float = 0.8) -> Scene:
    """Scene `seed` of `split`: the same arguments always give the same scene."""
    rng = random.Random(f"{split}:{seed}")
    spec, bg = sample_spec(rng, split, rng.random() < caption_background_rate)
    return realise(spec, rng, bg)


def realise(spec: SceneSpec, rng: random.Random, background: Optional[Background] = None) -> Scene:
    bg = background or spec.background
    if bg is None:
        raise ValueError("a scene needs a background")
    centres = tuple((o.centre[0] + rng.uniform(-JITTER, JITTER), o.centre[1] + rng.uniform(-JITTER, JITTER))
                    for o in spec.objects)
    rotations = tuple(rng.uniform(-10.0, 10.0) for _ in spec.objects)
    rgb = tuple(_jitter_rgb(rng, COLOURS[o.colour]) for o in spec.objects)
    bg_rgb = (_jitter_rgb(rng, COLOURS[bg.top]), _jitter_rgb(rng, COLOURS[bg.bottom]))
    return Scene(spec, bg, centres, rotations, rgb, bg_rgb, caption_of(spec))


# ---------------------------------------------------------------------------------------------------
# Drawing


def _polygon(shape: str, cx: float, cy: float, r: float, rotation: float) -> List[Tuple[float, float]]:
    def regular(n: int, start: float, radii: Sequence[float]) -> List[Tuple[float, float]]:
        points = []
        for i in range(n * len(radii)):
            angle = np.deg2rad(start + rotation + i * 360.0 / (n * len(radii)))
            rr = radii[i % len(radii)] * r
            points.append((cx + rr * np.cos(angle), cy + rr * np.sin(angle)))
        return points

    if shape == "square":
        return regular(4, 45.0, [1.0 * np.sqrt(2) * 0.85])
    if shape == "triangle":
        return [(x, y + 0.15 * r) for x, y in regular(3, -90.0, [1.1])]
    if shape == "star":
        return regular(5, -90.0, [1.1, 0.45])
    if shape == "diamond":
        return regular(4, 0.0, [1.05])
    if shape == "hexagon":
        return regular(6, 0.0, [1.0])
    if shape == "cross":
        a, b = 0.95 * r, 0.33 * r
        pts = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b),
               (-b, -b)]
        t = np.deg2rad(rotation)
        return [(cx + x * np.cos(t) - y * np.sin(t), cy + x * np.sin(t) + y * np.cos(t)) for x, y in pts]
    raise ValueError(f"no polygon for {shape!r}")


def _inside_polygon(px: np.ndarray, py: np.ndarray, points: Sequence[Tuple[float, float]]) -> np.ndarray:
    """Even-odd rule, vectorised over the sample grid (the star and the cross are not convex)."""
    inside = np.zeros(px.shape, dtype=bool)
    n = len(points)
    for i in range(n):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (y1 > py) != (y2 > py)
        x_at = (x2 - x1) * (py - y1) / (y2 - y1) + x1
        inside ^= crosses & (px < x_at)
    return inside


def coverage(obj: ObjectSpec, centre: Tuple[float, float], rotation: float, size: int) -> np.ndarray:
    """How much of each pixel the object covers, [size, size] in [0, 1]: SUPERSAMPLE^2 samples a pixel,
    taken only in the object's bounding box."""
    cx, cy = centre
    r = obj.radius
    reach = 1.25 * r  # every vertex lies within 1.21 r of the centre (the square's corners, the shifted triangle)
    x0, x1 = max(0, int(np.floor((cx - reach) * size))), min(size, int(np.ceil((cx + reach) * size)))
    y0, y1 = max(0, int(np.floor((cy - reach) * size))), min(size, int(np.ceil((cy + reach) * size)))
    out = np.zeros((size, size), dtype=np.float64)
    if x1 <= x0 or y1 <= y0:
        return out
    big = size * SUPERSAMPLE
    ys, xs = np.mgrid[y0 * SUPERSAMPLE:y1 * SUPERSAMPLE, x0 * SUPERSAMPLE:x1 * SUPERSAMPLE].astype(np.float64)
    px, py = (xs + 0.5) / big, (ys + 0.5) / big
    if obj.shape in ("circle", "ring"):
        d2 = (px - cx) ** 2 + (py - cy) ** 2
        inside = d2 <= r * r
        if obj.shape == "ring":
            inside &= d2 > (0.55 * r) ** 2
    else:
        inside = _inside_polygon(px, py, _polygon(obj.shape, cx, cy, r, rotation))
    h, w = y1 - y0, x1 - x0
    out[y0:y1, x0:x1] = inside.reshape(h, SUPERSAMPLE, w, SUPERSAMPLE).mean(axis=(1, 3))
    return out


def render(scene: Scene, size: int = 64) -> np.ndarray:
    """The scene as uint8 RGB [size, size, 3]. Pure numpy, so the same on any machine with numpy."""
    top, bottom = (np.array(c, dtype=np.float64) for c in scene.background_rgb)
    t = ((np.arange(size, dtype=np.float64) + 0.5) / size)[:, None, None]
    canvas = (top * (1 - t) + bottom * t) * np.ones((1, size, 1))
    for obj, centre, rot, rgb in zip(scene.spec.objects, scene.centres, scene.rotations, scene.rgb):
        cover = coverage(obj, centre, rot, size)[..., None]
        canvas = canvas * (1.0 - cover) + np.array(rgb, dtype=np.float64) * cover
    return np.clip(np.round(canvas), 0, 255).astype(np.uint8)


def batch(split: str, seeds: Sequence[int], size: int = 64) -> Tuple[np.ndarray, List[str]]:
    """Images [N, size, size, 3] uint8 and their captions."""
    scenes = [make_scene(split, s) for s in seeds]
    return np.stack([render(s, size) for s in scenes]), [s.caption for s in scenes]


def heldout_captions(count: int, seed: int = 0) -> List[str]:
    """`count` distinct held-out captions with the background stated (so every check applies)."""
    rng = random.Random(f"heldout-captions:{seed}")
    seen: List[str] = []
    while len(seen) < count:
        spec, _ = sample_spec(rng, "heldout", True)
        caption = caption_of(spec)
        if caption not in seen:
            seen.append(caption)
    return seen


# ---------------------------------------------------------------------------------------------------
# The objective checker


def nearest_colour_map(image: np.ndarray) -> np.ndarray:
    """Index into COLOUR_NAMES of each pixel's nearest named colour, [H, W]."""
    palette = np.array([COLOURS[c] for c in COLOUR_NAMES], dtype=np.float32)
    pixels = image.astype(np.float32)[..., None, :]
    return np.argmin(((pixels - palette) ** 2).sum(-1), axis=-1)


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def _disk(size: int, centre: Tuple[float, float], radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0:size, 0:size]
    px = (xs + 0.5) / size
    py = (ys + 0.5) / size
    return (px - centre[0]) ** 2 + (py - centre[1]) ** 2 <= radius ** 2


def _region_holds(place: str, x: float, y: float) -> bool:
    """Whether a centroid (unit coordinates) lies where the named position puts it."""
    lo, hi = 0.42, 0.58
    horizontal = {"left": x < lo, "right": x > hi}
    vertical = {"top": y < lo, "bottom": y > hi}
    central_x = 0.33 < x < 0.67
    central_y = 0.33 < y < 0.67
    if place == "centre":
        return central_x and central_y
    if place in horizontal:
        return horizontal[place] and central_y
    if place in vertical:
        return vertical[place] and central_x
    v, h = place.split()
    return vertical[v] and horizontal[h]


def _foreground(image: np.ndarray, near_objects: np.ndarray) -> np.ndarray:
    """Pixels that differ clearly from the background at their height. The background of a row is the
    median of its pixels away from the objects (plain and vertical-gradient backgrounds are constant
    along a row)."""
    size = image.shape[0]
    pixels = image.astype(np.float32)
    away = ~near_objects
    fallback = np.median(pixels[away], axis=0) if away.any() else np.median(pixels.reshape(-1, 3), axis=0)
    rows = np.empty((size, 3), dtype=np.float32)
    for y in range(size):
        rows[y] = np.median(pixels[y][away[y]], axis=0) if away[y].sum() >= 4 else fallback
    return np.sqrt(((pixels - rows[:, None, :]) ** 2).sum(-1)) > 60.0


def check_image(image: np.ndarray, caption: str) -> List[Check]:
    """Objective checks of `image` (uint8 RGB, square) against `caption`:
    - "<colour> <shape> colour": enough pixels nearest to the named colour near where the object belongs
      (at least 30% of a disk of half the object's radius around the expected centre, which every shape,
      the ring included, covers that much of);
    - "<colour> <shape> placement": the centroid of that colour's pixels lies in the named position's part
      of the image, or on the right side of the other object for a relation;
    - "background": away from the objects, at least 60% of pixels are nearest to the background colour; for
      a gradient, the top band's mean is nearest to the first colour and the bottom band's to the second.
    """
    spec = parse_caption(caption)
    size = image.shape[0]
    if image.shape != (size, size, 3):
        raise ValueError(f"expected a square RGB image, got shape {image.shape}")
    labels = nearest_colour_map(image)
    checks: List[Check] = []
    centroids = []
    ys, xs = np.mgrid[0:size, 0:size]
    # Where an object might be (its disk grown by the jitter and a margin): excluded from background checks.
    near_objects = np.zeros((size, size), dtype=bool)
    for obj in spec.objects:
        near_objects |= _disk(size, obj.centre, obj.radius * 1.25 + JITTER * 1.5)
    foreground = _foreground(image, near_objects)
    for obj in spec.objects:
        target = COLOUR_NAMES.index(obj.colour)
        is_target = labels == target
        core = _disk(size, obj.centre, obj.radius * 0.5 + JITTER)
        if obj.shape == "ring":
            core &= ~_disk(size, obj.centre, max(obj.radius * 0.55 - JITTER, 0.0))
        covered = float(is_target[core].mean()) if core.any() else 0.0
        checks.append(Check(f"{obj.colour} {obj.shape} colour", covered >= 0.3,
                            f"{covered:.0%} of the core is {obj.colour}"))
        # The centroid of this colour's foreground pixels anywhere in the image: a shape drawn in the wrong
        # place moves it, and a gradient's middle (which may be nearest to the colour) does not count.
        hits = is_target & foreground
        centroids.append(((xs[hits].mean() + 0.5) / size, (ys[hits].mean() + 0.5) / size) if hits.any() else None)
    if len(spec.objects) == 1:
        obj, c = spec.objects[0], centroids[0]
        ok = c is not None and _region_holds(obj.place, *c)
        checks.append(Check(f"{obj.colour} {obj.shape} placement", ok, f"centroid {c} for {obj.place}"))
    else:
        relation = spec.objects[0].place.split(" ", 1)[1]
        a, b = centroids
        ok = a is not None and b is not None
        if ok:
            dx, dy = a[0] - b[0], a[1] - b[1]
            ok = {"left of": dx < -0.15, "right of": dx > 0.15, "above": dy < -0.15, "below": dy > 0.15}[relation]
        checks.append(Check(f"{relation} placement", ok, f"centroids {a} and {b}"))
    bg = spec.background
    if bg is not None:
        away = ~near_objects
        if not bg.is_gradient:
            share = float((labels[away] == COLOUR_NAMES.index(bg.top)).mean()) if away.any() else 0.0
            checks.append(Check("background", share >= 0.6, f"{share:.0%} of the background is {bg.top}"))
        else:
            band = max(1, size // 8)
            ok = True
            detail = []
            for rows, name in ((slice(0, band), bg.top), (slice(size - band, size), bg.bottom)):
                mask = np.zeros((size, size), dtype=bool)
                mask[rows] = True
                mask &= away
                if not mask.any():
                    mask[rows] = True
                mean = image[mask].astype(np.float32).mean(0)
                got = COLOUR_NAMES[int(nearest_colour_map(mean[None, None, :])[0, 0])]
                ok = ok and got == name
                detail.append(f"{got} for {name}")
            checks.append(Check("background", ok, ", ".join(detail)))
    return checks


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description="Write a grid of demo scenes and their captions.")
    parser.add_argument("--split", default="train", choices=SPLITS)
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--out", default="scenes.png")
    args = parser.parse_args()
    from PIL import Image
    images, captions = batch(args.split, range(args.count), args.size)
    cols = 4
    rows = (len(images) + cols - 1) // cols
    grid = np.zeros((rows * args.size, cols * args.size, 3), dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * args.size:(r + 1) * args.size, c * args.size:(c + 1) * args.size] = img
    Image.fromarray(grid).save(args.out)
    for i, caption in enumerate(captions):
        print(f"{i:3d}  {caption}")


if __name__ == "__main__":
    main()
