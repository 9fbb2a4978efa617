"""Small blocks shared by the backbones. Feature maps are channels-last ``(B, H, W, C)`` throughout."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Mlp(nn.Module):
    """``fc1 -> GELU -> fc2`` on the last dimension.

    Args:
        in_features (int): Input and output channels.
        hidden_features (int): Hidden channels.
    """

    def __init__(self, in_features: int, hidden_features: int):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ConvPosEnc(nn.Module):
    """Conditional position encoding: ``x + DWConv3x3(x)`` with bias, no norm and no activation.

    Args:
        dim (int): Channels.
        kernel_size (int): Depthwise kernel size. Defaults to 3.
    """

    def __init__(self, dim: int, kernel_size: int = 3):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        return x + self.proj(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def pad_bottom_right(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad an NCHW tensor on the right and bottom so that H and W are multiples of ``multiple``."""
    pad_h = -x.shape[-2] % multiple
    pad_w = -x.shape[-1] % multiple
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h))
    return x


class ConvMlp(Mlp):
    """DAT++'s MLP: ``fc1``, then ``x + DWConv3x3(x)`` (bias) on the hidden map, GELU, ``fc2`` (channels-last).

    ``fc1`` / ``fc2`` are the official 1x1 convolutions as Linear layers.

    Args:
        in_features (int): Input and output channels.
        hidden_features (int): Hidden channels.
    """

    def __init__(self, in_features: int, hidden_features: int):
        super().__init__(in_features, hidden_features)
        self.dwconv = ConvPosEnc(hidden_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, H, W, C) -> (B, H, W, C)."""
        return self.fc2(self.act(self.dwconv(self.fc1(x))))
