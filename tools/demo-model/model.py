"""The demo model: a tiny Stable Diffusion 1.x in PyTorch, whose state_dict names are exactly the original
(LDM) single-file checkpoint's, so export is a rename-free dump and the engine runs it through its SD 1.x
path unchanged:

  cond_stage_model.transformer.text_model.*   CLIP text encoder (Hugging Face names, quick-GELU, causal)
  model.diffusion_model.*                     UNet with cross-attention (8 heads, the SD 1.x rule)
  first_stage_model.*                         KL autoencoder, factor-8 latents with 4 channels

The engine infers every size from the weights' shapes; what it cannot see is fixed by the SD 1.x family:
8 attention heads in the UNet, CLIP heads of 64 channels, GroupNorm with 32 groups (so channel counts are
multiples of 32), 77 text positions, VAE latents scaled by 0.18215.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

SD1_VAE_SCALE = 0.18215
TEXT_POSITIONS = 77


@dataclasses.dataclass
class DemoConfig:
    image_size: int = 64
    vocab_size: int = 638
    # CLIP text encoder
    text_width: int = 128          # a multiple of 64: heads = width / 64
    text_layers: int = 4
    text_mlp: int = 512
    # UNet
    unet_channels: int = 64
    unet_mult: Tuple[int, ...] = (1, 2, 2)
    unet_res_blocks: int = 1
    unet_attention: Tuple[bool, ...] = (True, True, True)
    # VAE
    vae_channels: int = 32
    vae_mult: Tuple[int, ...] = (1, 2, 2, 4)   # 4 levels: factor 8
    vae_res_blocks: int = 1                  # the decoder has one more per level, as in SD
    latent_channels: int = 4

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Dict) -> "DemoConfig":
        d = dict(d)
        for k in ("unet_mult", "unet_attention", "vae_mult"):
            d[k] = tuple(d[k])
        return cls(**d)


def tiny_config(**overrides) -> DemoConfig:
    """The smallest model the engine's rules allow, for tests of the tools (not for images)."""
    values = dict(text_width=64, text_layers=1, text_mlp=128, unet_channels=32, unet_mult=(1, 2),
                  unet_attention=(False, True), vae_channels=32, vae_mult=(1, 1, 1, 1))
    values.update(overrides)
    return DemoConfig(**values)


PRESETS = {"demo": DemoConfig, "tiny": tiny_config}


def group_norm(channels: int, eps: float) -> nn.GroupNorm:
    if channels % 32 != 0:
        raise ValueError(f"{channels} channels do not split into 32 groups")
    return nn.GroupNorm(32, channels, eps=eps)


# ---------------------------------------------------------------------------------------------------
# CLIP text encoder (names of transformers' CLIPTextModel)


class ClipAttention(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.heads = width // 64
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        h = self.heads

        def split(v: torch.Tensor) -> torch.Tensor:
            return v.view(n, t, h, d // h).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        w = (q @ k.transpose(-1, -2)) / math.sqrt(d // h) + mask
        out = (w.softmax(-1) @ v).transpose(1, 2).reshape(n, t, d)
        return self.out_proj(out)


class ClipMlp(nn.Module):
    def __init__(self, width: int, inner: int):
        super().__init__()
        self.fc1 = nn.Linear(width, inner)
        self.fc2 = nn.Linear(inner, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc1(x)
        return self.fc2(x * torch.sigmoid(1.702 * x))  # quick GELU, as OpenAI's CLIP


class ClipLayer(nn.Module):
    def __init__(self, width: int, inner: int):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(width)
        self.self_attn = ClipAttention(width)
        self.layer_norm2 = nn.LayerNorm(width)
        self.mlp = ClipMlp(width, inner)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class ClipEmbeddings(nn.Module):
    def __init__(self, vocab: int, width: int):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.position_embedding = nn.Embedding(TEXT_POSITIONS, width)


class ClipEncoder(nn.Module):
    def __init__(self, width: int, layers: int, inner: int):
        super().__init__()
        self.layers = nn.ModuleList([ClipLayer(width, inner) for _ in range(layers)])


class ClipTextModel(nn.Module):
    def __init__(self, c: DemoConfig):
        super().__init__()
        if c.text_width % 64 != 0:
            raise ValueError("the CLIP width must be a multiple of 64 (64 channels per head)")
        self.embeddings = ClipEmbeddings(c.vocab_size, c.text_width)
        self.encoder = ClipEncoder(c.text_width, c.text_layers, c.text_mlp)
        self.final_layer_norm = nn.LayerNorm(c.text_width)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids [N, 77] -> last hidden state [N, 77, width] (SD 1.x conditions on it)."""
        t = ids.shape[1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[:t]
        mask = torch.full((t, t), float("-inf"), device=ids.device).triu(1)
        for layer in self.encoder.layers:
            x = layer(x, mask)
        return self.final_layer_norm(x)


class ClipTransformer(nn.Module):
    """cond_stage_model.transformer.text_model.*"""

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.text_model = ClipTextModel(c)


class CondStage(nn.Module):
    def __init__(self, c: DemoConfig):
        super().__init__()
        self.transformer = ClipTransformer(c)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.transformer.text_model(ids)


# ---------------------------------------------------------------------------------------------------
# UNet (names of the LDM openaimodel.UNetModel)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)  # cos first, as LDM


class ResBlock(nn.Module):
    def __init__(self, channels: int, emb: int, out: int):
        super().__init__()
        self.in_layers = nn.Sequential(group_norm(channels, 1e-5), nn.SiLU(), nn.Conv2d(channels, out, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, out))
        self.out_layers = nn.Sequential(group_norm(out, 1e-5), nn.SiLU(), nn.Dropout(0.0),
                                        nn.Conv2d(out, out, 3, padding=1))
        self.skip_connection = nn.Conv2d(channels, out, 1) if channels != out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    def __init__(self, dim: int, context: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context, dim, bias=False)
        self.to_v = nn.Linear(context, dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        ctx = x if context is None else context
        n, t, d = x.shape
        h = self.heads
        q = self.to_q(x).view(n, t, h, d // h).transpose(1, 2)
        k = self.to_k(ctx).view(n, ctx.shape[1], h, d // h).transpose(1, 2)
        v = self.to_v(ctx).view(n, ctx.shape[1], h, d // h).transpose(1, 2)
        w = (q @ k.transpose(-1, -2)) / math.sqrt(d // h)
        out = (w.softmax(-1) @ v).transpose(1, 2).reshape(n, t, d)
        return self.to_out(out)


class GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * 4), nn.Dropout(0.0), nn.Linear(dim * 4, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim: int, context: int, heads: int):
        super().__init__()
        self.attn1 = CrossAttention(dim, dim, heads)
        self.ff = FeedForward(dim)
        self.attn2 = CrossAttention(dim, context, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    """SD 1.x's: 1x1 convolutions in and out (SD 2.x uses linear layers)."""

    def __init__(self, channels: int, context: int, heads: int = 8):
        super().__init__()
        self.norm = group_norm(channels, 1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, context, heads)])
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        n, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        for block in self.transformer_blocks:
            h = block(h, context)
        h = h.transpose(1, 2).reshape(n, c, hh, ww)
        return x + self.proj_out(h)


class Downsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TimestepSequential(nn.Sequential):
    def forward(self, x: torch.Tensor, emb: torch.Tensor, context: torch.Tensor) -> torch.Tensor:  # type: ignore
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            else:
                x = layer(x)
        return x


class UNetModel(nn.Module):
    def __init__(self, c: DemoConfig):
        super().__init__()
        mc = c.unet_channels
        emb = mc * 4
        ctx = c.text_width
        self.time_embed = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.input_blocks = nn.ModuleList([TimestepSequential(nn.Conv2d(c.latent_channels, mc, 3, padding=1))])
        skips = [mc]
        ch = mc
        levels = len(c.unet_mult)
        for level, mult in enumerate(c.unet_mult):
            for _ in range(c.unet_res_blocks):
                layers: List[nn.Module] = [ResBlock(ch, emb, mult * mc)]
                ch = mult * mc
                if c.unet_attention[level]:
                    layers.append(SpatialTransformer(ch, ctx))
                self.input_blocks.append(TimestepSequential(*layers))
                skips.append(ch)
            if level != levels - 1:
                self.input_blocks.append(TimestepSequential(Downsample(ch)))
                skips.append(ch)
        self.middle_block = TimestepSequential(ResBlock(ch, emb, ch), SpatialTransformer(ch, ctx), ResBlock(ch, emb, ch))
        self.output_blocks = nn.ModuleList()
        for level, mult in reversed(list(enumerate(c.unet_mult))):
            for i in range(c.unet_res_blocks + 1):
                layers = [ResBlock(ch + skips.pop(), emb, mult * mc)]
                ch = mult * mc
                if c.unet_attention[level]:
                    layers.append(SpatialTransformer(ch, ctx))
                if level and i == c.unet_res_blocks:
                    layers.append(Upsample(ch))
                self.output_blocks.append(TimestepSequential(*layers))
        self.out = nn.Sequential(group_norm(ch, 1e-5), nn.SiLU(), nn.Conv2d(ch, c.latent_channels, 3, padding=1))
        self.model_channels = mc

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(t, self.model_channels))
        hs = []
        h = x
        for block in self.input_blocks:
            h = block(h, emb, context)
            hs.append(h)
        h = self.middle_block(h, emb, context)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb, context)
        return self.out(h)


class DiffusionWrapper(nn.Module):
    """model.diffusion_model.*"""

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.diffusion_model = UNetModel(c)


# ---------------------------------------------------------------------------------------------------
# KL autoencoder (names of the LDM AutoencoderKL)


class VaeResBlock(nn.Module):
    def __init__(self, channels: int, out: int):
        super().__init__()
        self.norm1 = group_norm(channels, 1e-6)
        self.conv1 = nn.Conv2d(channels, out, 3, padding=1)
        self.norm2 = group_norm(out, 1e-6)
        self.conv2 = nn.Conv2d(out, out, 3, padding=1)
        if channels != out:
            self.nin_shortcut = nn.Conv2d(channels, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class VaeAttention(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels, 1e-6)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        y = self.norm(x)
        q = self.q(y).flatten(2).transpose(1, 2)
        k = self.k(y).flatten(2)
        v = self.v(y).flatten(2).transpose(1, 2)
        a = ((q @ k) / math.sqrt(c)).softmax(-1)
        return x + self.proj_out((a @ v).transpose(1, 2).reshape(n, c, h, w))


class VaeMid(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block_1 = VaeResBlock(channels, channels)
        self.attn_1 = VaeAttention(channels)
        self.block_2 = VaeResBlock(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class VaeDown(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class VaeLevel(nn.Module):
    def __init__(self, blocks: Sequence[nn.Module]):
        super().__init__()
        self.block = nn.ModuleList(blocks)


class Encoder(nn.Module):
    def __init__(self, c: DemoConfig):
        super().__init__()
        ch = c.vae_channels
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.down = nn.ModuleList()
        width = ch
        for i, mult in enumerate(c.vae_mult):
            blocks = []
            for _ in range(c.vae_res_blocks):
                blocks.append(VaeResBlock(width, ch * mult))
                width = ch * mult
            level = VaeLevel(blocks)
            if i != len(c.vae_mult) - 1:
                level.downsample = VaeDown(width)
            self.down.append(level)
        self.mid = VaeMid(width)
        self.norm_out = group_norm(width, 1e-6)
        self.conv_out = nn.Conv2d(width, 2 * c.latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            for block in level.block:
                h = block(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, c: DemoConfig):
        super().__init__()
        ch = c.vae_channels
        width = ch * c.vae_mult[-1]
        self.conv_in = nn.Conv2d(c.latent_channels, width, 3, padding=1)
        self.mid = VaeMid(width)
        levels: List[Optional[VaeLevel]] = [None] * len(c.vae_mult)
        for i in reversed(range(len(c.vae_mult))):
            blocks = []
            for _ in range(c.vae_res_blocks + 1):
                blocks.append(VaeResBlock(width, ch * c.vae_mult[i]))
                width = ch * c.vae_mult[i]
            level = VaeLevel(blocks)
            if i != 0:
                level.upsample = Upsample(width)
            levels[i] = level
        self.up = nn.ModuleList(levels)
        self.norm_out = group_norm(width, 1e-6)
        self.conv_out = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            for block in level.block:
                h = block(h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    """first_stage_model.*"""

    def __init__(self, c: DemoConfig):
        super().__init__()
        self.encoder = Encoder(c)
        self.decoder = Decoder(c)
        self.quant_conv = nn.Conv2d(2 * c.latent_channels, 2 * c.latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(c.latent_channels, c.latent_channels, 1)
        self.latent_channels = c.latent_channels

    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        moments = self.quant_conv(self.encoder(x))
        mean, logvar = moments.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(z))

    @torch.no_grad()
    def fold_latent_scale(self, k: float) -> None:
        """Make the latents k times larger without changing what decodes: the encoder's mean rows of
        quant_conv are scaled by k and its log-variance shifted by 2 ln k; post_quant_conv takes 1/k on
        its input. Used once after training so that latents * 0.18215 (SD 1.x's fixed factor) have unit
        variance, as the UNet's noise schedule assumes."""
        c = self.latent_channels
        self.quant_conv.weight[:c] *= k
        self.quant_conv.bias[:c] *= k
        self.quant_conv.bias[c:] += 2.0 * math.log(k)
        self.post_quant_conv.weight /= k


# ---------------------------------------------------------------------------------------------------
# The whole checkpoint


class DemoModel(nn.Module):
    def __init__(self, c: DemoConfig):
        super().__init__()
        self.config = c
        self.model = DiffusionWrapper(c)
        self.first_stage_model = AutoencoderKL(c)
        self.cond_stage_model = CondStage(c)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def sd_betas() -> torch.Tensor:
    """SD's scaled_linear schedule: betas from 0.00085 to 0.012, linear in sqrt, 1000 steps."""
    return torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
