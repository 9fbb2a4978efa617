"""tools/analysis/benchmark.py: a model of each kind of config against its reference, at a tiny input.

Timings are not checked (no speed assertions in tests): the tool must run, report its fields and ratios, and
the reference must compute the same function with the same weights (small output difference)."""
import json
import re

import pytest

from tools.analysis.benchmark import main

RATIOS = re.compile(r'speed-up \((\w+) time / mmattn time\): [\d.]+x; memory ratio \(mmattn / \w+\): [\d.]+x; '
                    r'max abs diff: ([\d.e+-]+)')


def run_benchmark(capsys, tmp_path, *args):
    out = tmp_path / 'result.json'
    assert main([*args, '--repeats', '1', '--warmup', '0', '--json', str(out)]) == 0
    return capsys.readouterr().out, json.loads(out.read_text())


def test_classifier_against_the_official_formulation_in_training(capsys, tmp_path):
    printed, result = run_benchmark(capsys, tmp_path, 'configs/dilateformer/dilateformer-tiny_in1k.py',
                                    '--shape', '32', '--batch', '2', '--mode', 'train', '--compare', 'official',
                                    '--profile')
    assert result['task'] == 'classification' and result['measured'] == 'classifier'
    assert result['input_shape'] == [2, 3, 32, 32] and result['mode'] == 'train'
    for name in ('mmattn', 'official'):
        assert set(result['results'][name]) == {'latency_ms', 'throughput', 'peak_mib'}
        assert result['results'][name]['latency_ms'] > 0 and result['results'][name]['peak_mib'] > 0
    compare = result['compare']
    assert compare['reference'] == 'official' and compare['speedup'] > 0 and compare['memory_ratio'] > 0
    assert compare['max_abs_diff'] < 1e-4  # logits of order 1: the same function and weights
    match = RATIOS.search(printed)
    assert match and match.group(1) == 'official' and float(match.group(2)) == pytest.approx(compare['max_abs_diff'],
                                                                                               rel=0.1)
    assert '| mmattn |' in printed and '| official |' in printed and '.. step 1/1' in printed
    for name in ('mmattn', 'official'):  # a training step's matrix products: some, not all of its time
        profile = result['profile'][name]
        assert 0 < profile['matmul_ms'] < profile['total_ms'] and profile['top'][0][1] > 0
    assert compare['speedup_bound'] == pytest.approx(
        result['profile']['official']['total_ms'] / result['profile']['official']['matmul_ms'])
    assert 'profile official:' in printed and 'bound: with the reference' in printed


def test_dense_backbone_against_timm(capsys, tmp_path):
    printed, result = run_benchmark(capsys, tmp_path, 'configs/davit/mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py',
                                    '--shape', '32', '48', '--compare', 'timm')
    assert result['task'] == 'detection' and result['measured'] == 'backbone'
    assert result['input_shape'] == [1, 3, 32, 48] and result['mode'] == 'infer'
    assert result['compare']['max_abs_diff'] < 1e-4  # all four normed feature maps
    assert RATIOS.search(printed).group(1) == 'timm'


def test_a_reference_of_another_backbone_is_refused_with_the_right_one(tmp_path):
    with pytest.raises(SystemExit, match=r'--compare timm covers DaViT backbones, not DAT.*DAT: --compare official'):
        main(['configs/dat/dat-tiny_in1k.py', '--shape', '32', '--compare', 'timm'])


def test_check_compile_passes_a_faithful_backend_and_catches_a_wrong_one(capsys, tmp_path):
    import torch._dynamo

    from tests.conftest import REPO
    from tools.analysis.check_compile import main as check_compile
    config = tmp_path / 'small_davit.py'  # a few small blocks: tracing the whole DaViT-T twice takes a minute
    config.write_text(f"_base_ = ['{REPO}/configs/davit/davit-tiny_in1k.py']\n"
                      "model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=[8, 16, 32, 64], "
                      "depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8])), head=dict(in_channels=64))\n")

    def off_by_a_percent(graph_module, example_inputs):  # a backend whose code is subtly wrong
        return lambda *args: [t * 1.01 for t in graph_module(*args)]

    torch._dynamo.register_backend(off_by_a_percent, name='mmattn_test_off_by_a_percent')
    arguments = [str(config), '--shape', '32', '--batch', '1']
    torch._dynamo.reset()
    assert check_compile([*arguments, '--backend', 'eager']) == 0
    printed = capsys.readouterr().out
    assert printed.count(': ok, all') == 3 and 'first compiled call' in printed
    torch._dynamo.reset()
    assert check_compile([*arguments, '--backend', 'mmattn_test_off_by_a_percent']) == 1
    assert capsys.readouterr().out.count(': MISMATCH in') == 3


def test_reference_fp32_keeps_autocast_on_mmattn_s_side_only(capsys, tmp_path):
    arguments = ['configs/davit/davit-tiny_in1k.py', '--shape', '32', '--compare', 'timm', '--amp']
    _, both = run_benchmark(capsys, tmp_path, *arguments)
    printed, mixed = run_benchmark(capsys, tmp_path, *arguments, '--reference-fp32')
    assert both['amp'] == mixed['amp'] == 'bfloat16' and mixed['reference_fp32'] and not both['reference_fp32']
    assert '(reference in float32)' in printed
    # the same bf16 arithmetic on both sides agrees far better than bf16 against float32
    assert both['compare']['max_abs_diff'] < 0.1 * mixed['compare']['max_abs_diff']
    with pytest.raises(SystemExit):
        main(['configs/davit/davit-tiny_in1k.py', '--reference-fp32', '--compare', 'timm'])  # without --amp
