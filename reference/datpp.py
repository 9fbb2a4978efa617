"""The official DAT++ classifier (``LeapLabTHU/DAT`` head: models/dat.py, dat_blocks.py, nat.py), transcribed for
the tests from its definition: same module tree and key layout, NCHW, the same operations in the same order,
with NATTEN 0.14's ``NATTEN2DQKRPBFunction`` / ``NATTEN2DAVFunction`` replaced by the naive references in
:mod:`reference.natten`. Only the paths DAT++ uses are kept (``N`` / ``D`` blocks with the sampled bias table,
local perception units, conv MLPs, conv patches; no layer scale, dropout 0). Reference for
``mmattn.DATPlusPlus``'s parameter counts and numerics; not part of mmattn."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from reference.natten import naive_av, naive_qk_rpb  # NATTEN 0.14's functions, naively


ARCHS = {  # the official configs/dat_{tiny,small,base}.yaml (dim_stem = dims[0])
    'tiny': dict(dims=[64, 128, 256, 512], heads=[2, 4, 8, 16], groups=[1, 2, 4, 8]),
    'small': dict(dims=[96, 192, 384, 768], heads=[3, 6, 12, 24], groups=[1, 2, 3, 6]),
    'base': dict(dims=[128, 256, 512, 1024], heads=[4, 8, 16, 32], groups=[2, 4, 8, 16]),
}
COMMON = dict(depths=[2, 4, 18, 2], stage_spec=['ND', 'NDND', 'ND' * 9, 'DD'], strides=[8, 4, 2, 1],
              ksizes=[9, 7, 5, 3], nat_ksize=7, img_size=224)


class LayerNormProxy(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class TransformerMLPWithConv(nn.Module):
    def __init__(self, channels, expansion):
        super().__init__()
        hidden = channels * expansion
        self.linear1 = nn.Sequential(nn.Conv2d(channels, hidden, 1, 1, 0))
        self.act = nn.GELU()
        self.linear2 = nn.Sequential(nn.Conv2d(hidden, channels, 1, 1, 0))
        self.dwc = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)

    def forward(self, x):
        x = self.linear1(x)
        x = x + self.dwc(x)
        return self.linear2(self.act(x))


class NeighborhoodAttention2D(nn.Module):
    def __init__(self, dim, kernel_size, num_heads):
        super().__init__()
        self.num_heads, self.head_dim, self.kernel_size = num_heads, dim // num_heads, kernel_size
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.rpb = nn.Parameter(torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1))
        nn.init.trunc_normal_(self.rpb, std=.02, mean=0., a=-2., b=2.)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        B, Hp, Wp, C = x.shape
        H, W = Hp, Wp
        pad_r, pad_b = max(0, self.kernel_size - W), max(0, self.kernel_size - H)
        if pad_r or pad_b:  # only maps smaller than the window, on the right / bottom
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
            _, H, W, _ = x.shape
        qkv = self.qkv(x).reshape(B, H, W, 3, self.num_heads, self.head_dim).permute(3, 0, 4, 1, 2, 5)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = naive_qk_rpb(q, k, self.rpb, self.kernel_size, 1).softmax(dim=-1)
        x = naive_av(attn, v, self.kernel_size, 1).permute(0, 2, 3, 1, 4).reshape(B, H, W, C)
        x = x[:, :Hp, :Wp, :]
        return self.proj(x).permute(0, 3, 1, 2), None, None


class DAttentionBaseline(nn.Module):
    """use_pe=True, dwc_pe=fixed_pe=log_cpb=no_off=False, offset_range_factor=-1 (DAT++)."""

    def __init__(self, q_size, n_heads, n_head_channels, n_groups, stride, ksize):
        super().__init__()
        self.n_head_channels, self.n_heads, self.n_groups = n_head_channels, n_heads, n_groups
        self.scale = n_head_channels**-0.5
        self.q_h, self.q_w = q_size
        self.nc = n_head_channels * n_heads
        self.n_group_channels = self.nc // n_groups
        self.n_group_heads = n_heads // n_groups
        self.offset_range_factor = -1
        pad_size = ksize // 2 if ksize != stride else 0
        cg = self.n_group_channels
        self.conv_offset = nn.Sequential(nn.Conv2d(cg, cg, ksize, stride, pad_size, groups=cg), LayerNormProxy(cg),
                                         nn.GELU(), nn.Conv2d(cg, 2, 1, 1, 0, bias=False))
        self.proj_q = nn.Conv2d(self.nc, self.nc, 1)
        self.proj_k = nn.Conv2d(self.nc, self.nc, 1)
        self.proj_v = nn.Conv2d(self.nc, self.nc, 1)
        self.proj_out = nn.Conv2d(self.nc, self.nc, 1)
        self.rpe_table = nn.Parameter(torch.zeros(n_heads, self.q_h * 2 - 1, self.q_w * 2 - 1))
        nn.init.trunc_normal_(self.rpe_table, std=0.01)

    def _grid(self, H, W, B, dtype, device, half):
        if half:  # reference points: linspace(0.5, n - 0.5, n) / (n - 1) * 2 - 1
            ys = torch.linspace(0.5, H - 0.5, H, dtype=dtype, device=device)
            xs = torch.linspace(0.5, W - 0.5, W, dtype=dtype, device=device)
        else:  # query grid: arange(n) / (n - 1) * 2 - 1
            ys = torch.arange(0, H, dtype=dtype, device=device)
            xs = torch.arange(0, W, dtype=dtype, device=device)
        ref_y, ref_x = torch.meshgrid(ys, xs, indexing='ij')
        ref = torch.stack((ref_y, ref_x), -1)
        ref[..., 1].div_(W - 1.0).mul_(2.0).sub_(1.0)
        ref[..., 0].div_(H - 1.0).mul_(2.0).sub_(1.0)
        return ref[None, ...].expand(B * self.n_groups, -1, -1, -1)

    def forward(self, x):
        B, C, H, W = x.size()
        g, cg, hg = self.n_groups, self.n_group_channels, self.n_group_heads
        q = self.proj_q(x)
        q_off = q.reshape(B, g, cg, H, W).reshape(B * g, cg, H, W)  # 'b (g c) h w -> (b g) c h w'
        offset = self.conv_offset(q_off).contiguous()
        Hk, Wk = offset.size(2), offset.size(3)
        n_sample = Hk * Wk
        offset = offset.permute(0, 2, 3, 1)  # 'b p h w -> b h w p'
        with torch.no_grad():
            reference = self._grid(Hk, Wk, B, x.dtype, x.device, half=True)
        pos = (offset + reference).clamp(-1., +1.)  # offset_range_factor < 0: no tanh, clamped
        x_sampled = F.grid_sample(x.reshape(B * g, cg, H, W), pos[..., (1, 0)], mode='bilinear',
                                  align_corners=True)
        x_sampled = x_sampled.reshape(B, C, 1, n_sample)
        q = q.reshape(B * self.n_heads, self.n_head_channels, H * W)
        k = self.proj_k(x_sampled).reshape(B * self.n_heads, self.n_head_channels, n_sample)
        v = self.proj_v(x_sampled).reshape(B * self.n_heads, self.n_head_channels, n_sample)
        attn = torch.einsum('b c m, b c n -> b m n', q, k).mul(self.scale)
        rpe_bias = self.rpe_table[None, ...].expand(B, -1, -1, -1)
        with torch.no_grad():
            q_grid = self._grid(H, W, B, x.dtype, x.device, half=False)
        displacement = (q_grid.reshape(B * g, H * W, 2).unsqueeze(2) -
                        pos.reshape(B * g, n_sample, 2).unsqueeze(1)).mul(0.5)
        table = rpe_bias.reshape(B, g, hg, *rpe_bias.shape[-2:]).reshape(B * g, hg, *rpe_bias.shape[-2:])
        attn_bias = F.grid_sample(table, displacement[..., (1, 0)], mode='bilinear', align_corners=True)
        attn = attn + attn_bias.reshape(B * self.n_heads, H * W, n_sample)
        attn = F.softmax(attn, dim=2)
        out = torch.einsum('b m n, b c n -> b c m', attn, v).reshape(B, C, H, W)
        return self.proj_out(out), pos.reshape(B, g, Hk, Wk, 2), reference.reshape(B, g, Hk, Wk, 2)


class TransformerStage(nn.Module):
    def __init__(self, fmap_size, dim, depths, stage_spec, n_groups, heads, stride, expansion, ksize, nat_ksize):
        super().__init__()
        self.depths, self.stage_spec = depths, stage_spec
        self.proj = nn.Identity()  # dims[i - 1] * 2 == dims[i] in every DAT++ model
        self.layer_norms = nn.ModuleList([LayerNormProxy(dim) for _ in range(2 * depths)])
        self.mlps = nn.ModuleList([TransformerMLPWithConv(dim, expansion) for _ in range(depths)])
        self.attns = nn.ModuleList()
        self.local_perception_units = nn.ModuleList(
            [nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, groups=dim) for _ in range(depths)])
        for kind in stage_spec:
            if kind == 'N':
                self.attns.append(NeighborhoodAttention2D(dim, nat_ksize, heads))
            else:
                self.attns.append(DAttentionBaseline((fmap_size, fmap_size), heads, dim // heads, n_groups,
                                                     stride, ksize))

    def forward(self, x):
        x = self.proj(x)
        positions = []
        for d in range(self.depths):
            x = self.local_perception_units[d](x.contiguous()) + x
            x0 = x
            x, pos, ref = self.attns[d](self.layer_norms[2 * d](x))
            x = x + x0  # layer scale and drop path are identities
            x0 = x
            x = self.mlps[d](self.layer_norms[2 * d + 1](x)) + x0
            positions.append(pos)
        return x, positions


class DAT(nn.Module):
    """The official ``DAT`` with DAT++'s settings (``use_conv_patches``, LPUs, conv MLPs, ``use_pes``)."""

    def __init__(self, dims, heads, groups, depths, stage_spec, strides, ksizes, nat_ksize, img_size,
                 num_classes=1000, expansion=4):
        super().__init__()
        dim_stem = dims[0]
        self.patch_proj = nn.Sequential(nn.Conv2d(3, dim_stem // 2, 3, 2, 1), LayerNormProxy(dim_stem // 2),
                                        nn.GELU(), nn.Conv2d(dim_stem // 2, dim_stem, 3, 2, 1),
                                        LayerNormProxy(dim_stem))
        fmap = img_size // 4
        self.stages = nn.ModuleList()
        for i in range(4):
            self.stages.append(TransformerStage(fmap, dims[i], depths[i], stage_spec[i], groups[i], heads[i],
                                                strides[i], expansion, ksizes[i], nat_ksize))
            fmap = fmap // 2
        self.down_projs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(dims[i], dims[i + 1], 3, 2, 1, bias=False), LayerNormProxy(dims[i + 1]))
            for i in range(3))
        self.cls_norm = LayerNormProxy(dims[-1])
        self.cls_head = nn.Linear(dims[-1], num_classes)

    def forward(self, x, return_positions=False):
        x = self.patch_proj(x)
        positions = []
        for i in range(4):
            x, pos = self.stages[i](x)
            positions.append(pos)
            if i < 3:
                x = self.down_projs[i](x)
        x = torch.flatten(F.adaptive_avg_pool2d(self.cls_norm(x), 1), 1)
        x = self.cls_head(x)
        return (x, positions) if return_positions else x


def build_official(arch='tiny', num_classes=1000, **overrides):
    """The official classifier for a named arch (``ARCHS``) or for ``overrides`` of its settings."""
    settings = dict(COMMON, **(ARCHS[arch] if isinstance(arch, str) else arch))
    settings.update(overrides)
    return DAT(num_classes=num_classes, **settings)


def randomize_(model, seed=0, std=0.05):
    """Random values of the official init's shapes, large enough that every bias table and norm matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=torch.float64).to(p.dtype)
            if name.endswith(('rpe_table', 'rpb')):
                p.copy_(noise * 0.5)
            elif '.norm.' in name and name.endswith('weight'):
                p.copy_(1 + noise * 0.1)
            elif name.endswith('conv_offset.3.weight'):
                p.copy_(noise * 0.5)  # offsets of a few pixels, some positions clamped at the borders
            elif p.dim() == 4 and p.shape[1] == 1:
                p.copy_(noise * 0.2)  # depthwise convs
            else:
                p.copy_(noise * std)
    return model
