"""FLOPs counting (mmattn.utils.flops, tools/analysis/get_flops.py).

Every handle is checked against a count derived here by hand from the layer's shapes, and, where one exists,
against an independent formulation of the same operator counted by mmengine's generic handles (the official
unfold code of DilateFormer, the step-by-step DAT reference, explicit matmul attention). One MAC = one FLOP;
LayerNorm counts 5 per element and 1x1 convolutions / Linear layers ``in * out`` per position (mmengine).
"""
import importlib.util
import json
import os.path as osp
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmattn.models import DAT, DaViT, DilateFormer
from mmattn.models.layers import (ChannelGroupAttention, DeformableAttention, MultiScaleDilatedAttention,
                                  WindowAttention, dilated_neighbourhood_attention,
                                  packed_dilated_neighbourhood_attention)
from mmattn.utils.flops import _mask_heads_at_100_rois, analyze_flops, model_complexity
from tests.conftest import REPO
from reference.dat import naive_deformable_attention

DAVIT_SMALL = dict(embed_dims=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8])
DILATEFORMER_SMALL = dict(embed_dims=[24, 48, 96, 192], depths=[1, 1, 1, 1], num_heads=[3, 6, 3, 6],
                          dilated_stages=[True, True, False, False])
DAT_SMALL = dict(embed_dims=[16, 32, 64, 128], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
                 stage_specs=['LS', 'LS', 'LD', 'LD'], window_size=4, offset_kernel_sizes=[9, 7, 5, 3],
                 offset_range_factors=[2, 2, 2, 2], img_size=64)


class Call(nn.Module):
    """A function as a module (FlopAnalyzer traces modules); ``owner`` holds its parameters, if any."""

    def __init__(self, fn, owner=None):
        super().__init__()
        self.fn, self.owner = fn, owner

    def forward(self, *args):
        return self.fn(*args)


def count(module, *inputs):
    module = module.eval() if isinstance(module, nn.Module) else Call(module)
    return analyze_flops(module, inputs)


# ------------------------------------------------------------------------------------------- handles


def test_sdpa_counts_both_products_like_explicit_matmuls():
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 6)
    report = count(F.scaled_dot_product_attention, q, k, v)
    assert report.total == report.by_operator['scaled_dot_product_attention'] == 2 * 3 * 5 * 7 * (4 + 6)
    explicit = count(lambda q, k, v: ((q * 0.5) @ k.transpose(-1, -2)).softmax(-1) @ v, q, k, v)
    assert explicit.total == report.total
    assert not report.unsupported_ops


def test_davit_channel_group_attention_matmuls_are_counted():
    B, H, W, C, heads = 2, 5, 6, 32, 4
    N, d = H * W, C // heads
    report = count(ChannelGroupAttention(C, heads), torch.randn(B, H, W, C))
    # (B, h, d, N) @ (B, h, N, d) and (B, h, N, d) @ (B, h, d, d)
    assert report.by_operator['matmul'] == 2 * B * heads * N * d * d
    assert report.total == B * N * C * 3 * C + B * N * C * C + 2 * B * heads * N * d * d
    assert not report.uncounted_ops


def test_davit_window_attention_counts_padded_windows():
    B, H, W, C, heads, window = 1, 6, 7, 24, 3, 4
    windows, n, d = 4, window * window, C // heads  # padded to 8x8
    report = count(WindowAttention(C, heads, window), torch.randn(B, H, W, C))
    assert report.by_operator['scaled_dot_product_attention'] == B * windows * heads * n * n * 2 * d
    assert report.total == B * windows * n * (C * 3 * C + C * C) + B * windows * heads * n * n * 2 * d


def unfold_dilated_attention(qkv, dilations, kernel_size=3):
    """The official DilateFormer ``DilateAttention`` per head group: unfold k and v, 5-D matmuls."""
    B, _, heads, d, H, W = qkv.shape
    q, k, v = qkv.unbind(1)
    group, n, outs = heads // len(dilations), kernel_size**2, []
    for g, dilation in enumerate(dilations):
        part = slice(g * group, (g + 1) * group)
        unfold = nn.Unfold(kernel_size, dilation, dilation * (kernel_size - 1) // 2, 1)
        qg = q[:, part].reshape(B, group, d, H * W).permute(0, 1, 3, 2).unsqueeze(3)  # B, g, N, 1, d
        kg = unfold(k[:, part].reshape(B, group * d, H, W)).reshape(B, group, d, n, H * W).permute(0, 1, 4, 2, 3)
        vg = unfold(v[:, part].reshape(B, group * d, H, W)).reshape(B, group, d, n, H * W).permute(0, 1, 4, 3, 2)
        attn = ((qg @ kg) * d**-0.5).softmax(-1)  # B, g, N, 1, n
        outs.append((attn @ vg).squeeze(3).transpose(-1, -2).reshape(B, group, d, H, W))
    return torch.cat(outs, 1)


@pytest.mark.parametrize('dilations', [(1, 2, 3), (2, )])
def test_dilated_attention_handle_equals_the_unfold_formulation(dilations):
    B, heads, d, H, W, K = 2, 3, 4, 5, 6, 3
    qkv = torch.randn(B, 3, heads, d, H, W)
    expected = 2 * B * heads * d * H * W * K * K  # q.k and attn*v over K*K neighbours per query
    packed = count(lambda t: packed_dilated_neighbourhood_attention(t, K, dilations), qkv)
    separate = count(lambda q, k, v: dilated_neighbourhood_attention(q, k, v, K, dilations), *qkv.unbind(1))
    assert packed.total == packed.by_operator['dilated_attention'] == expected
    assert separate.total == separate.by_operator['dilated_attention'] == expected
    # the reference really computes the same thing, and its generic count (matmuls; unfold is a copy) agrees
    torch.testing.assert_close(unfold_dilated_attention(qkv, dilations),
                               packed_dilated_neighbourhood_attention(qkv, K, dilations), atol=1e-5, rtol=1e-5)
    reference = count(lambda t: unfold_dilated_attention(t, dilations), qkv)
    assert reference.by_operator['matmul'] == expected and reference.total == expected
    assert 'aten::im2col' not in reference.unsupported_ops and not packed.unsupported_ops


def test_dilateformer_msda_layer_analytic():
    B, H, W, C, heads, K = 2, 5, 6, 18, 3, 3
    N, d = H * W, C // heads
    report = count(MultiScaleDilatedAttention(C, heads, K, (1, 2, 3)), torch.randn(B, H, W, C))
    assert report.by_operator['dilated_attention'] == 2 * B * heads * d * N * K * K
    assert report.total == B * N * C * 3 * C + B * N * C * C + 2 * B * heads * d * N * K * K
    assert not report.uncounted_ops


def deformable_macs(B, H, W, C, heads, groups, offset_kernel, table_resized_to=None):
    """DAT deformable attention by hand, from the definition (stride 1: as many keys as queries)."""
    N, d, cg = H * W, C // heads, C // groups
    macs = B * N * C * C  # proj_q
    macs += B * groups * N * cg * offset_kernel**2  # depthwise offset conv
    macs += 5 * B * groups * N * cg  # its LayerNorm (mmengine: 5 per element)
    macs += B * groups * N * cg * 2  # offset projection to (dy, dx)
    macs += 4 * B * C * N  # bilinear sampling of the keys/values' source map
    macs += B * N * C * 2 * C  # proj_k and proj_v
    macs += B * heads * N * N * 2 * d  # q.k and attn.v
    macs += 4 * B * heads * N * N  # bias: one bilinear sample per head and query-key pair
    macs += B * N * C * C  # proj_out
    if table_resized_to is not None:  # bicubic resize of the (heads, 2h-1, 2w-1) table: 16 per element
        macs += 16 * heads * (2 * table_resized_to[0] - 1) * (2 * table_resized_to[1] - 1)
    return macs


def test_deformable_attention_handle_fused_unfused_and_reference_agree():
    B, H, W, C, heads, groups, kernel = 2, 4, 5, 16, 4, 2, 3
    torch.manual_seed(0)
    fused = DeformableAttention(C, heads, groups, kernel, rpe_size=(H, W))
    unfused = DeformableAttention(C, heads, groups, kernel, rpe_size=(H, W), fused=False)
    x = torch.randn(B, H, W, C)
    expected = deformable_macs(B, H, W, C, heads, groups, kernel)
    report = count(fused, x)
    assert report.by_operator['deformable_attention'] == B * heads * (H * W)**2 * 2 * (C // heads)
    assert report.total == expected
    assert not report.uncounted_ops
    assert count(unfused, x).total == expected  # SDPA + grid_sample handles
    params = dict(fused.named_parameters())
    reference = count(Call(lambda t: naive_deformable_attention(t, params, heads, groups)[0], fused),
                      x.permute(0, 3, 1, 2).contiguous())
    assert reference.total == expected  # 1x1 convs, einsums, grid_sample: all generic handles but ours


def test_deformable_attention_resized_table_is_counted():
    B, H, W, C, heads, groups, kernel = 1, 5, 6, 16, 4, 2, 3
    op = DeformableAttention(C, heads, groups, kernel, rpe_size=(4, 5))
    report = count(op, torch.randn(B, H, W, C))
    assert report.by_operator['upsample_bicubic2d'] == 16 * heads * (2 * H - 1) * (2 * W - 1)
    assert report.total == deformable_macs(B, H, W, C, heads, groups, kernel, table_resized_to=(H, W))


@pytest.mark.parametrize('mode,macs', [('bilinear', 4), ('nearest', 0), ('bicubic', 16)])
def test_grid_sample_macs_per_output_element_and_channel(mode, macs):
    x, grid = torch.randn(2, 3, 5, 6), torch.rand(2, 4, 7, 2) * 2 - 1
    report = count(lambda x, g: F.grid_sample(x, g, mode=mode, align_corners=True), x, grid)
    assert report.total == 2 * 3 * 4 * 7 * macs and not report.unsupported_ops


@pytest.mark.parametrize('backbone,expected_ops', [
    (lambda: DaViT(DAVIT_SMALL), {'scaled_dot_product_attention', 'matmul'}),
    (lambda: DilateFormer(DILATEFORMER_SMALL), {'dilated_attention', 'scaled_dot_product_attention'}),
    (lambda: DAT(DAT_SMALL), {'deformable_attention', 'grid_sampler', 'matmul'}),
], ids=['davit', 'dilateformer', 'dat'])
def test_backbones_hit_their_handles_and_leave_nothing_uncounted(backbone, expected_ops):
    torch.manual_seed(0)
    report = count(backbone(), torch.randn(1, 3, 64, 64))
    assert all(report.by_operator[op] > 0 for op in expected_ops), report.by_operator
    assert not report.uncounted_ops, report.uncounted_ops


def test_function_bodies_are_traced_again_after_a_count():
    """The tracer is paused inside our counted Functions only during a count (a speed-up); nothing leaks."""
    from mmattn.models.layers.dilated_attention import _PackedDilatedNeighbourhoodAttention as Function
    before = Function.__dict__['forward']
    count(lambda t: packed_dilated_neighbourhood_attention(t, 3, 1), torch.randn(1, 3, 1, 2, 4, 4))
    assert Function.__dict__['forward'] is before


# ------------------------------------------------------------------------------------------- configs


def test_davit_tiny_config_matches_the_official_count():
    """The official DaViT file states ``FLOPs: 4540244736, params: 28360168`` for Tiny at 224 (its attention is
    explicit matmuls there, SDPA here: the handle must count the same)."""
    result = model_complexity('configs/davit/davit-tiny_in1k.py')
    assert result['input_shape'] == [1, 3, 224, 224]
    assert (result['params'], result['flops']) == (28_360_168, 4_540_244_736)


def load_tool():
    spec = importlib.util.spec_from_file_location('get_flops', osp.join(REPO, 'tools/analysis/get_flops.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_cli_prints_params_and_flops_of_a_classification_config(capsys):
    """The command line's code in this process (a subprocess would spend ~15 s importing mmpretrain again)."""
    assert load_tool().main(['configs/davit/davit-tiny_in1k.py', '--shape', '64', '96', '--per-module', '1']) == 0
    out = capsys.readouterr().out
    assert 'Task: classification (mmpretrain), input 96x64 (W x H), batch 1' in out
    assert re.search(r'Params: 28\.36 M', out), out  # the official DaViT-T: 28,360,168
    assert re.search(r'FLOPs: \d+\.\d\d G \(backbone \d+\.\d\d G\)', out) and 'WARNING' not in out
    assert re.search(r'\nbackbone +27\.591 +\d+\.\d{3}\n', out), out  # all but the head's 768x1000 Linear


def test_json_output_alone_on_stdout(capsys):
    assert load_tool().main(['configs/dilateformer/dilateformer-tiny_in1k.py', '--shape', '64', '--json']) == 0
    result = json.loads(capsys.readouterr().out)  # logs went to stderr
    assert result['input_shape'] == [1, 3, 64, 64] and result['task'] == 'classification'
    assert result['by_operator']['dilated_attention'] > 0 and not result['uncounted_ops']
    assert result['flops'] == result['backbone_flops'] + 576 * 1000  # + the classifier's Linear


def write_config(tmp_path, text):
    path = tmp_path / 'config.py'
    path.write_text(text)
    return str(path)


def backbone_alone(shape):
    torch.manual_seed(0)
    model = DaViT(DAVIT_SMALL, out_type='featmap', out_indices=(0, 1, 2, 3))
    return count(model, torch.randn(1, 3, *shape)).total


DAVIT_FEATMAP = ("dict(_delete_=True, type='mmattn.DaViT', out_type='featmap', out_indices=(0, 1, 2, 3), "
                 f'arch={DAVIT_SMALL!r})')


def test_mask_rcnn_count_at_a_small_shape(tmp_path):
    config = write_config(tmp_path, f"""
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']
default_scope = 'mmdet'
custom_imports = dict(imports=['mmattn.models'], allow_failed_imports=False)
model = dict(
    backbone={DAVIT_FEATMAP},
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=32), bbox_head=dict(in_channels=32, fc_out_channels=64),
                  mask_roi_extractor=dict(out_channels=32), mask_head=dict(in_channels=32, conv_out_channels=32)))
""")
    shape = (64, 96)
    result = model_complexity(config, shape, with_modules=True)
    assert result['task'] == 'detection' and result['input_shape'] == [1, 3, *shape]
    assert result['backbone_flops'] == backbone_alone(shape)
    assert result['num_rois'] > 0
    assert 0 < result['mask_rois']['roi_head.mask_head'] <= 100  # StandardRoIHead: nothing to rescale
    modules = result['by_module']
    assert modules['roi_head.bbox_head'] > 0 and modules['roi_head.mask_head'] > 0 and modules['rpn_head'] > 0
    assert result['flops'] == modules['backbone'] + modules['neck'] + modules['rpn_head'] + modules['roi_head']
    assert 'PythonOp.RoIAlignFunction' in result['by_operator']
    assert not result['uncounted_ops'], result['uncounted_ops']


def test_mask_heads_given_more_than_100_rois_are_counted_at_100():
    from collections import Counter
    # as Cascade's tensor mode: head 0 was run on 1000 RoIs, head 1 on 50 (left alone)
    by_module = Counter({'': 1000, 'backbone': 400, 'roi_head': 600, 'roi_head.mask_head': 400,
                         'roi_head.mask_head.0': 200, 'roi_head.mask_head.0.conv': 150, 'roi_head.mask_head.1': 200})
    removed = _mask_heads_at_100_rois(by_module, {'roi_head.mask_head.0': 1000, 'roi_head.mask_head.1': 50})
    assert removed == 180
    assert by_module == Counter({'': 820, 'backbone': 400, 'roi_head': 420, 'roi_head.mask_head': 220,
                                 'roi_head.mask_head.0': 20, 'roi_head.mask_head.0.conv': 15,
                                 'roi_head.mask_head.1': 200})


def test_upernet_count_at_a_small_shape(tmp_path):
    config = write_config(tmp_path, f"""
_base_ = ['mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py']
custom_imports = dict(imports=['mmattn.models'], allow_failed_imports=False)
model = dict(
    backbone={DAVIT_FEATMAP},
    decode_head=dict(in_channels=[16, 32, 64, 128], channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
""")
    shape = (64, 128)
    result = model_complexity(config, shape, with_modules=True)
    assert result['task'] == 'segmentation' and result['input_shape'] == [1, 3, *shape]
    assert result['backbone_flops'] == backbone_alone(shape)
    modules = result['by_module']
    # tensor mode runs backbone and decode head; the auxiliary head is training-only (its params still count)
    assert modules['auxiliary_head'] == 0 and result['module_params']['auxiliary_head'] > 0
    assert result['flops'] == modules['backbone'] + modules['decode_head'] > modules['backbone']
    assert not result['uncounted_ops'], result['uncounted_ops']
