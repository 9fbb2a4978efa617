"""Channel group attention (DaViT): attention among the channels of each head group, over all tokens."""
import torch
import torch.nn as nn


class ChannelGroupAttention(nn.Module):
    """DaViT's channel attention, with the official chunk roles kept in the ``qkv`` weights.

    The official model splits ``qkv(x)`` into chunks ``(a, b, c)`` and computes
    ``softmax((b * s)^T c) a^T`` per group, with ``s = (C / num_heads) ** -0.5``. In standard attention terms the
    tokens are the channels of a group, the second chunk plays the query, the third the key and the first the
    value. Keeping that chunk order means official and timm weights load without permutation.

    Args:
        dim (int): Channels.
        num_heads (int): Channel groups.
        qkv_bias (bool): Bias in the qkv projection. Defaults to True.
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'ChannelGroupAttention: dim {dim} is not divisible by num_heads {num_heads}.')
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def _values_and_weights(self, x: torch.Tensor):
        """x ``(B, N, C)`` -> values ``(B, h, N, d)`` and channel-to-channel weights ``(B, h, d, d)``, the
        affinities summed over all N tokens."""
        B, N, C = x.shape
        value, query, key = self.qkv(x).view(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        return value, ((query.transpose(-1, -2) * self.scale) @ key).softmax(dim=-1)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The softmax weights ``forward(x)`` applies: ``(B, heads, channels, channels)`` per group."""
        return self._values_and_weights(x.reshape(x.shape[0], x.shape[1:-1].numel(), x.shape[-1]))[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, N, C) or (B, H, W, C); returns the same shape."""
        shape = x.shape
        x = x.reshape(shape[0], shape[1:-1].numel(), shape[-1])  # not -1: a batch may be empty
        B, N, C = x.shape
        value, attn = self._values_and_weights(x)
        out = value @ attn.transpose(-1, -2)  # (B, h, N, d) == (attn @ value^T)^T
        out = self.proj(out.transpose(1, 2).reshape(B, N, C))
        return out.view(shape)
