"""Pictures of the attention and of the stage outputs (issue 11): each attention layer's ``attention_weights``
are the weights its forward applies, the DAT points are drawn where the layer samples, and the tools write
PNGs of the expected size for odd image sizes."""
import importlib.util
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmattn.models.layers import (ChannelGroupAttention, DeformableAttention, MultiScaleDilatedAttention,
                                  WindowAttention)
from mmattn.visualization import dat_sampling_points, panel_scale
from tests.conftest import REPO


def x_map(h=9, w=11, c=24, seed=0):
    return torch.randn(2, h, w, c, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def test_window_attention_weights_are_the_ones_forward_applies():
    layer = WindowAttention(24, 3, window_size=4).eval()
    x = x_map()
    weights = layer.attention_weights(x)
    assert weights.shape == (2 * 3 * 3, 3, 16, 16)  # 9x11 pads to 12x12: 3x3 windows of 16 tokens
    _, _, v, padded = layer._windows_qkv(x)
    out = layer.proj((weights @ v).transpose(1, 2).reshape(weights.shape[0], 16, 24))
    from mmattn.models.layers import window_reverse
    torch.testing.assert_close(window_reverse(out, 4, padded)[:, :9, :11], layer(x))


@torch.no_grad()
def test_channel_attention_weights_are_the_ones_forward_applies():
    layer = ChannelGroupAttention(24, 4).eval()
    x = x_map()
    weights = layer.attention_weights(x)
    assert weights.shape == (2, 4, 6, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 6))
    value = layer.qkv(x.reshape(2, 99, 24)).view(2, 99, 3, 4, 6)[:, :, 0].transpose(1, 2)  # chunk 0: values
    out = layer.proj((value @ weights.transpose(-1, -2)).transpose(1, 2).reshape(2, 99, 24))
    torch.testing.assert_close(out.view(2, 9, 11, 24), layer(x))


@torch.no_grad()
def test_dilated_attention_weights_are_the_softmax_over_each_dilated_neighbourhood():
    layer = MultiScaleDilatedAttention(24, 6, kernel_size=3, dilations=(1, 2, 3)).eval()
    x = x_map()
    weights = layer.attention_weights(x)  # (B, heads, 9, H, W)
    q, k, _ = layer.qkv(x.permute(0, 3, 1, 2)).view(2, 3, 6, 4, 9, 11).unbind(1)
    for head, dilation in enumerate((1, 1, 2, 2, 3, 3)):
        # unfold: the 3x3 dilated neighbours of every pixel, zeros outside the map (official padding)
        keys = F.unfold(k[:, head], 3, dilation=dilation, padding=dilation).view(2, 4, 9, 9, 11)
        expected = ((q[:, head, :, None] * keys).sum(1) * layer.scale).softmax(1)
        torch.testing.assert_close(weights[:, head], expected)


@torch.no_grad()
@pytest.mark.parametrize('conventions,stride', [('dat', 1), ('dat++', 2)])
def test_deformable_attention_weights_and_points_are_the_ones_forward_uses(conventions, stride):
    layer = DeformableAttention(24, 6, 3, offset_kernel_size=3, rpe_size=(5, 6), stride=stride,
                                conventions=conventions).eval()
    x = x_map()
    weights, positions, references = layer.attention_weights(x)
    out, sampled, reference = layer(x, return_sampling=True)
    keys = sampled.shape[2] * sampled.shape[3]  # 9x11 keys at stride 1, 5x6 at stride 2
    assert torch.equal(positions, sampled) and torch.equal(references, reference[0, 0])
    assert weights.shape == (2, 6, 99, keys)
    _, _, v, _, _ = layer._sampled_qkv(x)
    torch.testing.assert_close(layer.proj_out((weights @ v).transpose(1, 2).reshape(2, 9, 11, 24)), out)
    # drawn points: where grid_sample reads the 9x11 map (a map holding each pixel's own coordinates, sampled at
    # the positions, gives the map coordinates read), then the stride-8 map pixel -> image pixel
    coordinates = torch.stack(torch.meshgrid(torch.arange(9.), torch.arange(11.), indexing='ij'))[None]
    for points in (sampled[0, 1], references):
        read = F.grid_sample(coordinates, points.flip(-1)[None], align_corners=True)[0].permute(1, 2, 0)
        inside = (points.abs() <= 1).all(-1)  # outside, grid_sample blends in zero padding
        assert inside.sum() > keys * 0.6
        torch.testing.assert_close(dat_sampling_points(points, (9, 11), input_size=(72, 88))[inside],
                                   ((read + 0.5) * 8 - 0.5)[inside])


def tool(path):
    spec = importlib.util.spec_from_file_location(osp.basename(path)[:-3], osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def odd_image(tmp_path_factory):
    """A 75x53 (width x height) image: no multiple of any stride or window."""
    rng = np.random.default_rng(1)
    image = np.full((53, 75, 3), 220, np.uint8)
    image[10:40, 20:50] = rng.integers(0, 255, 3)
    path = str(tmp_path_factory.mktemp('odd') / 'odd.png')
    mmcv.imwrite(image, path)
    return path


# per backbone: the layer kinds drawn, and how many columns each PNG has (groups or heads, up to 8)
CASES = {
    'davit-tiny_in1k': (WindowAttention, ChannelGroupAttention),
    'dilateformer-tiny_in1k': (MultiScaleDilatedAttention, ),
    'dat-tiny_in1k': (DeformableAttention, ),
    'datpp-tiny_in1k': (DeformableAttention, ),
}


def columns(layer):
    if isinstance(layer, DeformableAttention):
        return layer.num_groups
    if isinstance(layer, MultiScaleDilatedAttention):
        return len(layer.dilations)
    return min(layer.num_heads, 8)


@pytest.mark.parametrize('name', list(CASES))
def test_vis_attention_writes_a_png_per_layer_of_the_expected_size(name, odd_image, tmp_path, capsys):
    import mmattn
    model = mmattn.get_model(name)
    queries = [(5, 70), (40, 10)]  # near two corners
    tool('tools/visualization/vis_attention.py').main(
        [odd_image, name, '--out-dir', str(tmp_path), '--query', '5', '70', '--query', '40', '10'])
    paths = [word for word in capsys.readouterr().out.split() if word.endswith('.png')]
    layers = {n: m for n, m in model.backbone.named_modules() if isinstance(m, CASES[name])}
    assert sorted(osp.basename(p)[:-4] for p in paths) == sorted(layers)
    scale = panel_scale(53, 75)
    for path in paths:
        layer = layers[osp.basename(path)[:-4]]
        drawn = mmcv.imread(path)
        if isinstance(layer, ChannelGroupAttention):
            assert drawn.shape[:2] == (96, 96 * columns(layer))
        else:
            assert drawn.shape[:2] == (len(queries) * 53 * scale, columns(layer) * 75 * scale), path


def test_vis_attention_filters_layers_and_refuses_a_query_outside(odd_image, tmp_path, capsys):
    main = tool('tools/visualization/vis_attention.py').main
    main([odd_image, 'dat-tiny_in1k', '--out-dir', str(tmp_path), '--layers', r'stages\.3'])
    drawn = [word for word in capsys.readouterr().out.split() if word.endswith('.png')]
    assert drawn and all('stages.3' in p for p in drawn)
    with pytest.raises(SystemExit, match='outside the 53x75'):
        main([odd_image, 'dat-tiny_in1k', '--query', '60', '10'])


def test_vis_feature_maps_draws_every_stage(odd_image, tmp_path):
    out = str(tmp_path / 'maps.png')
    tool('tools/visualization/vis_feature_maps.py').main([odd_image, 'davit-tiny_in1k', '--out-file', out,
                                                          '--channels', '4'])
    scale = panel_scale(53, 75)
    assert mmcv.imread(out).shape[:2] == (4 * 53 * scale, 4 * 75 * scale)
    assert os.path.getsize(out) > 0
