"""DAT v1, written out step by step from the official definition, on official-layout state dicts.

:func:`naive_deformable_attention` is the ``DAttentionBaseline`` layer (mmattn parameter names),
:func:`naive_window_attention` the ``LocalAttention`` / ``ShiftWindowAttention`` layer, and
:func:`official_features` / :func:`official_forward` the classifier on the official keys
(:func:`official_state_dict` makes such a state dict with random values).
"""
import torch
import torch.nn.functional as F

ARCHS = {  # official DAT v1 settings: dims, depths, heads, groups, window, training size
    'tiny': ([96, 192, 384, 768], [2, 2, 6, 2], [3, 6, 12, 24], [0, 0, 3, 6], 7, 224),
    'small': ([96, 192, 384, 768], [2, 2, 18, 2], [3, 6, 12, 24], [0, 0, 3, 6], 7, 224),
    'base': ([128, 256, 512, 1024], [2, 2, 18, 2], [4, 8, 16, 32], [0, 0, 4, 8], 7, 224),
    'base-384': ([128, 256, 512, 1024], [2, 2, 18, 2], [4, 8, 16, 32], [0, 0, 4, 8], 12, 384),
}


def pixel_centres(h, w, dtype):
    """``(h, w, 2)`` normalised ``(y, x)`` centres of the pixels of an ``h x w`` map, in ``(-1, 1)``."""
    ys, xs = torch.meshgrid(torch.linspace(0.5, h - 0.5, h, dtype=dtype), torch.linspace(0.5, w - 0.5, w, dtype=dtype),
                            indexing='ij')
    ref = torch.stack((ys, xs), -1)
    ref[..., 1] = ref[..., 1] / w * 2 - 1
    ref[..., 0] = ref[..., 0] / h * 2 - 1
    return ref


def naive_deformable_attention(x, p, num_heads, num_groups, offset_range_factor=2.):
    """The DAT v1 deformable attention, step by step, on an NCHW map ``x`` (the normalised block input).

    ``p`` holds the operator's parameters (mmattn names); the 1x1 projections are used as 1x1 convolutions.
    Returns ``(y, positions, references)`` with ``y`` in NCHW.
    """
    B, C, H, W = x.shape
    g, cg, hc, hg = num_groups, C // num_groups, C // num_heads, num_heads // num_groups

    def conv1x1(t, name, bias=True):
        return F.conv2d(t, p[f'{name}.weight'][:, :, None, None], p[f'{name}.bias'] if bias else None)

    q = conv1x1(x, 'proj_q')
    q_off = q.reshape(B * g, cg, H, W)  # 'b (g c) h w -> (b g) c h w'
    w_dw = p['offset_net.conv.weight']
    off = F.conv2d(q_off, w_dw, p['offset_net.conv.bias'], padding=w_dw.shape[-1] // 2, groups=cg)
    off = F.layer_norm(off.permute(0, 2, 3, 1), (cg, ), p['offset_net.norm.weight'],
                       p['offset_net.norm.bias']).permute(0, 3, 1, 2)
    off = conv1x1(F.gelu(off), 'offset_net.proj', bias=False)  # (B*g, 2, Hk, Wk)
    Hk, Wk = off.shape[2:]
    off = off.tanh() * torch.tensor([1.0 / Hk, 1.0 / Wk], dtype=x.dtype).reshape(1, 2, 1, 1) * offset_range_factor
    off = off.permute(0, 2, 3, 1)
    reference = pixel_centres(Hk, Wk, x.dtype)[None].expand(B * g, -1, -1, -1)
    pos = off + reference
    sampled = F.grid_sample(x.reshape(B * g, cg, H, W), pos[..., (1, 0)], mode='bilinear', align_corners=True)
    sampled = sampled.reshape(B, C, 1, Hk * Wk)
    q = q.reshape(B * num_heads, hc, H * W)
    k = conv1x1(sampled, 'proj_k').reshape(B * num_heads, hc, Hk * Wk)
    v = conv1x1(sampled, 'proj_v').reshape(B * num_heads, hc, Hk * Wk)
    attn = torch.einsum('b c m, b c n -> b m n', q, k) * hc**-0.5
    table = p['rpe_table']
    if table.shape[-2:] != (2 * H - 1, 2 * W - 1):
        table = F.interpolate(table[None], (2 * H - 1, 2 * W - 1), mode='bicubic')[0]
    table = table[None].expand(B, -1, -1, -1).reshape(B * g, hg, 2 * H - 1, 2 * W - 1)
    q_grid = pixel_centres(H, W, x.dtype)[None].expand(B * g, -1, -1, -1)
    displacement = (q_grid.reshape(B * g, H * W, 2).unsqueeze(2) - pos.reshape(B * g, Hk * Wk, 2).unsqueeze(1)) * 0.5
    bias = F.grid_sample(table, displacement[..., (1, 0)], mode='bilinear', align_corners=True)
    attn = F.softmax(attn + bias.reshape(B * num_heads, H * W, Hk * Wk), dim=2)
    out = torch.einsum('b m n, b c n -> b c m', attn, v).reshape(B, C, H, W)
    return conv1x1(out, 'proj_out'), pos.reshape(B, g, Hk, Wk, 2), reference.reshape(B, g, Hk, Wk, 2)


def naive_window_attention(x, p, heads, ws, shift):
    """x: (B, C, H, W) with H, W multiples of ``ws``; ``p`` holds the parameters (mmattn names)."""
    B, C, H, W = x.shape
    if shift:
        x = torch.roll(x, shifts=(-shift, -shift), dims=(2, 3))
    r1, r2 = H // ws, W // ws
    t = x.reshape(B, C, r1, ws, r2, ws).permute(0, 2, 4, 3, 5, 1).reshape(B * r1 * r2, ws * ws, C)
    q, k, v = torch.chunk(F.linear(t, p['qkv.weight'], p['qkv.bias']), 3, dim=2)
    q = q * (C // heads)**-0.5
    q, k, v = [z.reshape(z.shape[0], ws * ws, heads, C // heads).transpose(1, 2) for z in (q, k, v)]
    attn = torch.einsum('bhmc,bhnc->bhmn', q, k)
    coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    index = (rel[..., 0] + ws - 1) * (2 * ws - 1) + rel[..., 1] + ws - 1
    attn = attn + p['relative_position_bias_table'][index.view(-1)].view(ws * ws, ws * ws, -1).permute(2, 0, 1)
    if shift:
        img = torch.zeros(H, W)
        cnt = 0
        for h in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            for w in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                img[h, w] = cnt
                cnt += 1
        mw = img.reshape(r1, ws, r2, ws).permute(0, 2, 1, 3).reshape(r1 * r2, ws * ws)
        mask = mw.unsqueeze(1) - mw.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0)
        attn = (attn.view(B, r1 * r2, heads, ws * ws, ws * ws) + mask[None, :, None]).flatten(0, 1)
    out = torch.einsum('bhmn,bhnc->bhmc', attn.softmax(dim=3), v).transpose(1, 2).reshape(-1, ws * ws, C)
    out = F.linear(out, p['proj.weight'], p['proj.bias'])
    out = out.reshape(B, r1, r2, ws, ws, C).permute(0, 5, 1, 3, 2, 4).reshape(B, C, H, W)
    if shift:
        out = torch.roll(out, shifts=(shift, shift), dims=(2, 3))
    return out


def padded_window_attention(x, p, heads, ws, shift):
    """:func:`naive_window_attention` at any size: the map zero-padded on the right/bottom to whole windows
    (the shift mask built for the padded size), the output cropped back, as Swin's dense backbones do."""
    H, W = x.shape[2:]
    padded = F.pad(x, (0, -W % ws, 0, -H % ws))
    return naive_window_attention(padded, p, heads, ws, shift)[:, :, :H, :W]


def official_state_dict(arch, num_classes=1000, seed=0, std=0.05):
    """A random state dict with exactly the keys and shapes of the official DAT v1 classifier."""
    dims, depths, heads, groups, window, img = ARCHS[arch]
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=std):
        return torch.randn(*shape, generator=g) * scale

    def norm(prefix, c):
        return {f'{prefix}.weight': 1 + rnd(c, scale=0.1), f'{prefix}.bias': rnd(c, scale=0.1)}

    sd = {'patch_proj.0.weight': rnd(dims[0], 3, 4, 4, scale=0.2), 'patch_proj.0.bias': rnd(dims[0]),
          **norm('patch_proj.1.norm', dims[0])}
    for i, (c, depth, h) in enumerate(zip(dims, depths, heads)):
        fmap = img // 2**(i + 2)
        spec = 'LS' * (depth // 2) if i < 2 else 'LD' * (depth // 2)
        for j in range(2 * depth):
            sd.update(norm(f'stages.{i}.layer_norms.{j}.norm', c))
        for d, kind in enumerate(spec):
            p = f'stages.{i}.mlps.{d}.chunk'
            sd.update({f'{p}.linear1.weight': rnd(4 * c, c), f'{p}.linear1.bias': rnd(4 * c),
                       f'{p}.linear2.weight': rnd(c, 4 * c), f'{p}.linear2.bias': rnd(c)})
            a = f'stages.{i}.attns.{d}'
            if kind in 'LS':
                sd.update({f'{a}.relative_position_bias_table': rnd((2 * window - 1)**2, h, scale=0.5),
                           f'{a}.relative_position_index': torch.zeros(window**2, window**2, dtype=torch.long),
                           f'{a}.proj_qkv.weight': rnd(3 * c, c), f'{a}.proj_qkv.bias': rnd(3 * c),
                           f'{a}.proj_out.weight': rnd(c, c), f'{a}.proj_out.bias': rnd(c)})
                if kind == 'S':
                    sd[f'{a}.attn_mask'] = torch.zeros((fmap // window)**2, window**2, window**2)
            else:
                cg, k = c // groups[i], [9, 7, 5, 3][i]
                sd.update({f'{a}.rpe_table': rnd(h, 2 * fmap - 1, 2 * fmap - 1, scale=0.5),
                           f'{a}.conv_offset.0.weight': rnd(cg, 1, k, k, scale=0.2),
                           f'{a}.conv_offset.0.bias': rnd(cg), **norm(f'{a}.conv_offset.1.norm', cg),
                           f'{a}.conv_offset.3.weight': rnd(2, cg, 1, 1, scale=0.5)})
                for name in ('q', 'k', 'v', 'out'):
                    sd.update({f'{a}.proj_{name}.weight': rnd(c, c, 1, 1), f'{a}.proj_{name}.bias': rnd(c)})
        if i < 3:
            sd[f'down_projs.{i}.0.weight'] = rnd(dims[i + 1], c, 2, 2, scale=0.1)
            sd.update(norm(f'down_projs.{i}.1.norm', dims[i + 1]))
    sd.update(norm('cls_norm.norm', dims[-1]))
    sd.update({'cls_head.weight': rnd(num_classes, dims[-1]), 'cls_head.bias': rnd(num_classes)})
    return sd


def _ln(x, sd, prefix):
    """LayerNormProxy: LayerNorm over the channels of an NCHW map."""
    return F.layer_norm(x.permute(0, 2, 3, 1), x.shape[1:2], sd[prefix + '.weight'],
                        sd[prefix + '.bias']).permute(0, 3, 1, 2)


def official_features(sd, arch, x):
    """The four stage outputs (NCHW, before each downsampling) of the official DAT v1 model on official keys.

    Window attention pads maps that are not whole windows (:func:`padded_window_attention`); at the
    classification sizes nothing is padded.
    """
    dims, depths, heads, groups, window, _ = ARCHS[arch]
    x = _ln(F.conv2d(x, sd['patch_proj.0.weight'], sd['patch_proj.0.bias'], stride=4), sd, 'patch_proj.1.norm')
    features = []
    for i in range(4):
        if i:
            x = _ln(F.conv2d(x, sd[f'down_projs.{i - 1}.0.weight'], stride=2), sd, f'down_projs.{i - 1}.1.norm')
        spec = 'LS' * (depths[i] // 2) if i < 2 else 'LD' * (depths[i] // 2)
        for d, kind in enumerate(spec):
            a = f'stages.{i}.attns.{d}'
            y = _ln(x, sd, f'stages.{i}.layer_norms.{2 * d}.norm')
            if kind == 'D':
                p = {k[len(a) + 1:]: v for k, v in sd.items() if k.startswith(a + '.')}
                p = {k.replace('conv_offset.0', 'offset_net.conv').replace('conv_offset.1.norm', 'offset_net.norm')
                     .replace('conv_offset.3', 'offset_net.proj'): (v.flatten(1) if v.dim() == 4 and
                                                                     v.shape[-1] == 1 else v)
                     for k, v in p.items()}
                y = naive_deformable_attention(y, p, heads[i], groups[i])[0]
            else:
                p = {'qkv.weight': sd[f'{a}.proj_qkv.weight'], 'qkv.bias': sd[f'{a}.proj_qkv.bias'],
                     'proj.weight': sd[f'{a}.proj_out.weight'], 'proj.bias': sd[f'{a}.proj_out.bias'],
                     'relative_position_bias_table': sd[f'{a}.relative_position_bias_table']}
                y = padded_window_attention(y, p, heads[i], window, -(-window // 2) if kind == 'S' else 0)
            x = x + y
            y = _ln(x, sd, f'stages.{i}.layer_norms.{2 * d + 1}.norm').permute(0, 2, 3, 1)
            m = f'stages.{i}.mlps.{d}.chunk'
            y = F.linear(F.gelu(F.linear(y, sd[f'{m}.linear1.weight'], sd[f'{m}.linear1.bias'])),
                         sd[f'{m}.linear2.weight'], sd[f'{m}.linear2.bias'])
            x = x + y.permute(0, 3, 1, 2)
        features.append(x)
    return features


def official_forward(sd, arch, x):
    """The official DAT v1 classifier forward (NCHW) on official keys: logits."""
    x = _ln(official_features(sd, arch, x)[-1], sd, 'cls_norm.norm').mean(dim=(2, 3))
    return F.linear(x, sd['cls_head.weight'], sd['cls_head.bias'])
