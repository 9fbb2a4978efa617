"""DilateFormer, written out from the official definition, on official-layout state dicts.

:func:`unfold_msda` is the official ``MultiDilatelocalAttention`` core (``nn.Unfold`` of k and v per dilation
group); :func:`official_features` / :func:`official_forward` the classifier on the official keys (models.md 2.4:
overlapping stem, per-block CPE, multi-scale dilated attention in stages 1-2, global attention in 3-4, conv3x3/s2
+ BN downsampling, LayerNorm on every token before pooling); :func:`random_official_state_dict` makes such a
state dict with random values.
"""
import torch
import torch.nn.functional as F

ARCHS = {'tiny': (72, [2, 2, 6, 2]), 'small': (72, [3, 5, 8, 3]), 'base': (96, [4, 8, 10, 3])}
HEADS = [3, 6, 12, 24]
DILATED = [True, True, False, False]
DILATIONS = [1, 2, 3]
KERNEL_SIZE = 3


def official_shapes(embed_dim, depths, num_classes=1000):
    """Every key of the official classifier with its shape (models.md 2.4)."""
    shapes = {}

    def batchnorm(prefix, channels):
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}.{name}'] = (channels, )
        shapes[f'{prefix}.num_batches_tracked'] = ()

    widths = [3, 16, 32, 64, embed_dim]
    for n in range(4):
        shapes[f'patch_embed.proj.{3 * n}.weight'] = (widths[n + 1], widths[n], 3, 3)
        if n < 3:
            batchnorm(f'patch_embed.proj.{3 * n + 1}', widths[n + 1])
    for i, depth in enumerate(depths):
        C = embed_dim * 2**i
        for j in range(depth):
            p = f'stages.{i}.blocks.{j}.'
            shapes.update({
                p + 'pos_embed.weight': (C, 1, 3, 3), p + 'pos_embed.bias': (C, ),
                p + 'norm1.weight': (C, ), p + 'norm1.bias': (C, ),
                p + 'attn.qkv.weight': (3 * C, C, 1, 1) if DILATED[i] else (3 * C, C), p + 'attn.qkv.bias': (3 * C, ),
                p + 'attn.proj.weight': (C, C), p + 'attn.proj.bias': (C, ),
                p + 'norm2.weight': (C, ), p + 'norm2.bias': (C, ),
                p + 'mlp.fc1.weight': (4 * C, C), p + 'mlp.fc1.bias': (4 * C, ),
                p + 'mlp.fc2.weight': (C, 4 * C), p + 'mlp.fc2.bias': (C, ),
            })
        if i < 3:
            shapes[f'stages.{i}.downsample.proj.0.weight'] = (2 * C, C, 3, 3)
            shapes[f'stages.{i}.downsample.proj.0.bias'] = (2 * C, )
            batchnorm(f'stages.{i}.downsample.proj.1', 2 * C)
    C = embed_dim * 8
    shapes.update({'norm.weight': (C, ), 'norm.bias': (C, ), 'head.weight': (num_classes, C),
                   'head.bias': (num_classes, )})
    return shapes


def random_official_state_dict(arch, num_classes=1000, seed=0):
    """Random values in the official classifier's key layout (norm and BN scales around 1)."""
    generator = torch.Generator().manual_seed(seed)
    state_dict = {}
    for key, shape in official_shapes(*ARCHS[arch], num_classes).items():
        if key.endswith('num_batches_tracked'):
            state_dict[key] = torch.tensor(7)
        elif key.endswith('running_var'):
            state_dict[key] = torch.rand(shape, generator=generator) + 0.5
        elif key.endswith(('norm1.weight', 'norm2.weight', 'norm.weight')) or \
                (key.endswith('.weight') and len(shape) == 1):  # norm / BN scales around 1
            state_dict[key] = 1 + 0.1 * torch.randn(shape, generator=generator)
        else:
            fan_in = max(1, int(torch.tensor(shape[1:]).prod().item()) if len(shape) > 1 else 1)
            std = fan_in**-0.5 if len(shape) > 1 else 0.05
            state_dict[key] = std * torch.randn(shape, generator=generator)
    return state_dict


def unfold_msda(qkv, dilations=DILATIONS, kernel_size=KERNEL_SIZE):
    """The official multi-scale dilated attention core on ``qkv`` ``(B, 3, heads, head_dim, H, W)``.

    Per dilation group (the heads split evenly, in order): unfold k and v (zero padding), softmax over the
    ``kernel_size**2`` neighbours. Returns ``(B, H, W, heads * head_dim)``, the groups concatenated.
    """
    B, _, heads, d, H, W = qkv.shape
    group = heads // len(dilations)
    n = kernel_size * kernel_size
    outs = []
    for g, dilation in enumerate(dilations):
        q, k, v = (qkv[:, s, g * group:(g + 1) * group] for s in range(3))  # (B, group, d, H, W)
        padding = dilation * (kernel_size - 1) // 2
        q = q.reshape(B, group, d, 1, H * W).permute(0, 1, 4, 3, 2)  # B, h, N, 1, d
        k = F.unfold(k.reshape(B, group * d, H, W), kernel_size, dilation, padding, 1)
        k = k.reshape(B, group, d, n, H * W).permute(0, 1, 4, 2, 3)  # B, h, N, d, n
        attn = ((q @ k) * d**-0.5).softmax(dim=-1)
        v = F.unfold(v.reshape(B, group * d, H, W), kernel_size, dilation, padding, 1)
        v = v.reshape(B, group, d, n, H * W).permute(0, 1, 4, 3, 2)  # B, h, N, n, d
        outs.append((attn @ v).transpose(1, 2).reshape(B, H, W, group * d))
    return torch.cat(outs, dim=-1)


def official_features(sd, x, embed_dim, depths, training=False):
    """The four stage outputs (NCHW, before each downsampling) of the official model on official keys.

    ``training`` normalises the BatchNorms with batch statistics (and updates the running ones in ``sd``),
    as the official model in train mode; otherwise with the running statistics.
    """

    def bn(x, p):
        return F.batch_norm(x, sd[p + '.running_mean'], sd[p + '.running_var'], sd[p + '.weight'], sd[p + '.bias'],
                            training, 0.1, 1e-5)

    def ln(x, p):
        return F.layer_norm(x, x.shape[-1:], sd[p + '.weight'], sd[p + '.bias'], 1e-6)

    def linear(x, p):
        return F.linear(x, sd[p + '.weight'], sd[p + '.bias'])

    for n, stride in zip(range(3), (1, 2, 1)):
        x = F.gelu(bn(F.conv2d(x, sd[f'patch_embed.proj.{3 * n}.weight'], stride=stride, padding=1),
                      f'patch_embed.proj.{3 * n + 1}'))
    x = F.conv2d(x, sd['patch_embed.proj.9.weight'], stride=2, padding=1)
    features = []
    for i, depth in enumerate(depths):
        C, heads = embed_dim * 2**i, HEADS[i]
        d = C // heads
        for j in range(depth):
            p = f'stages.{i}.blocks.{j}.'
            x = x + F.conv2d(x, sd[p + 'pos_embed.weight'], sd[p + 'pos_embed.bias'], padding=1, groups=C)
            t = x.permute(0, 2, 3, 1)  # B, H, W, C
            B, H, W, _ = t.shape
            y = ln(t, p + 'norm1')
            if DILATED[i]:
                qkv = F.conv2d(y.permute(0, 3, 1, 2), sd[p + 'attn.qkv.weight'], sd[p + 'attn.qkv.bias'])
                y = unfold_msda(qkv.reshape(B, 3, heads, d, H, W))
            else:
                q, k, v = linear(y, p + 'attn.qkv').reshape(B, H * W, 3, heads, d).permute(2, 0, 3, 1, 4)
                a = ((q @ k.transpose(-2, -1)) * d**-0.5).softmax(-1)
                y = (a @ v).transpose(1, 2).reshape(B, H, W, C)
            t = t + linear(y, p + 'attn.proj')
            t = t + linear(F.gelu(linear(ln(t, p + 'norm2'), p + 'mlp.fc1')), p + 'mlp.fc2')
            x = t.permute(0, 3, 1, 2)
        features.append(x)
        if i < 3:
            p = f'stages.{i}.downsample.proj.'
            x = bn(F.conv2d(x, sd[p + '0.weight'], sd[p + '0.bias'], stride=2, padding=1), p + '1')
    return features


def official_forward(sd, x, embed_dim, depths, training=False):
    """The official classifier on official keys: logits (LayerNorm on every token, then the average)."""
    x = official_features(sd, x, embed_dim, depths, training)[-1]
    tokens = F.layer_norm(x.flatten(2).transpose(1, 2), x.shape[1:2], sd['norm.weight'], sd['norm.bias'], 1e-6)
    return F.linear(tokens.mean(dim=1), sd['head.weight'], sd['head.bias'])
