"""The DaViT attention operators against direct transcriptions of the official formulas."""
import torch

from mmattn.models.layers import ChannelGroupAttention, WindowAttention


def official_channel_attention(module, x):
    B, N, C = x.shape
    qkv = module.qkv(x).reshape(B, N, 3, module.num_heads, C // module.num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    k = k * (C // module.num_heads)**-0.5
    attention = (k.transpose(-1, -2) @ v).softmax(dim=-1)
    out = (attention @ q.transpose(-1, -2)).transpose(-1, -2)
    return module.proj(out.transpose(1, 2).reshape(B, N, C))


def official_window_attention(module, x, window):
    """Pad to whole windows (padded tokens unmasked), attend per window, crop."""
    B, H, W, C = x.shape
    ph, pw = -H % window, -W % window
    x = torch.nn.functional.pad(x, (0, 0, 0, pw, 0, ph))
    Hp, Wp = H + ph, W + pw
    out = torch.zeros_like(x)
    heads, d = module.num_heads, C // module.num_heads
    for i in range(0, Hp, window):
        for j in range(0, Wp, window):
            tokens = x[:, i:i + window, j:j + window].reshape(B, -1, C)
            q, k, v = module.qkv(tokens).reshape(B, -1, 3, heads, d).permute(2, 0, 3, 1, 4)
            attn = ((q * d**-0.5) @ k.transpose(-1, -2)).softmax(-1)
            o = module.proj((attn @ v).transpose(1, 2).reshape(B, -1, C))
            out[:, i:i + window, j:j + window] = o.reshape(B, window, window, C)
    return out[:, :H, :W]


def test_channel_attention_matches_the_official_formula():
    torch.manual_seed(0)
    module = ChannelGroupAttention(64, num_heads=4)
    x = torch.randn(2, 37, 64)
    assert torch.allclose(module(x), official_channel_attention(module, x), atol=1e-5)
    # the 4-D (B, H, W, C) layout used by the backbone gives the same result
    assert torch.allclose(module(x[:, :36].reshape(2, 6, 6, 64)).reshape(2, 36, 64),
                          official_channel_attention(module, x[:, :36]), atol=1e-5)


def test_channel_attention_roles_are_not_chunk_order():
    """A standard-roles implementation (chunks as q, k, v) would give a clearly different output."""
    torch.manual_seed(0)
    module = ChannelGroupAttention(32, num_heads=1)
    x = torch.randn(1, 20, 32)
    B, N, C = x.shape
    q, k, v = module.qkv(x).reshape(B, N, 3, 1, C).permute(2, 0, 3, 1, 4)
    naive = ((q.transpose(-1, -2) * C**-0.5) @ k).softmax(-1) @ v.transpose(-1, -2)
    naive = module.proj(naive.transpose(-1, -2).transpose(1, 2).reshape(B, N, C))
    assert (module(x) - naive).abs().max() > 1e-2


def test_window_attention_pads_after_norm_without_masking():
    torch.manual_seed(0)
    module = WindowAttention(32, num_heads=2, window_size=7)
    for size in [(14, 14), (9, 16), (5, 3)]:
        x = torch.randn(2, *size, 32)
        assert torch.allclose(module(x), official_window_attention(module, x, 7), atol=1e-5), size
