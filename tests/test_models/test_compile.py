"""torch.compile of the three backbones gives eager's outputs and gradients (training and inference).

``backend='aot_eager'`` runs dynamo and AOT autograd (the graph capture and the joint forward/backward graph that
inductor would compile) without generating C++: cheap enough for CI. DaViT and DAT capture in one graph
(``fullgraph=True``); DilateFormer's dilated attention runs eagerly inside the compiled model (a graph break per
call: dynamo cannot trace the operator's writes into strided views). A real inductor compile is exercised by
``tools/analysis/benchmark.py --compile`` (docs/benchmarks.md).
"""
import pytest
import torch
import torch._dynamo

from mmattn.models import DAT, DaViT, DilateFormer

DAVIT = dict(embed_dims=[8, 16, 32, 64], depths=[1, 1, 1, 1], num_heads=[1, 2, 4, 8])
DILATEFORMER = dict(embed_dims=[12, 24, 48, 96], depths=[1, 1, 1, 1], num_heads=[3, 3, 6, 6],
                    dilated_stages=[True, True, False, False])
DAT_ARCH = dict(embed_dims=[8, 16, 32, 64], depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], num_groups=[1, 1, 2, 4],
                stage_specs=['LS', 'LS', 'LD', 'LD'], window_size=4, offset_kernel_sizes=[9, 7, 5, 3],
                offset_range_factors=[2, 2, 2, 2], img_size=64)
CASES = {'davit': (DaViT, DAVIT, True), 'dilateformer': (DilateFormer, DILATEFORMER, False),
         'dat': (DAT, DAT_ARCH, True)}


def outputs_and_grads(forward, model, x):
    model.zero_grad(set_to_none=True)
    outs = forward(x)
    sum((o * torch.linspace(-1, 1, o.numel()).view(o.shape)).sum() for o in outs).backward()
    return [o.detach() for o in outs], {name: p.grad for name, p in model.named_parameters()}


def check_compiled_matches_eager(name):
    backbone_cls, arch, fullgraph = CASES[name]
    torch.manual_seed(0)
    model = backbone_cls(arch, out_indices=(1, 3), drop_path_rate=0.)
    x = torch.randn(2, 3, 40, 56)  # off the window grid: padding paths are compiled too
    torch._dynamo.reset()
    compiled = torch.compile(model, backend='aot_eager', fullgraph=fullgraph)
    model.train()
    expected, expected_grads = outputs_and_grads(model, model, x)
    actual, grads = outputs_and_grads(compiled, model, x)
    for a, e in zip(actual, expected):
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)
    for key, grad in expected_grads.items():
        torch.testing.assert_close(grads[key], grad, atol=1e-5, rtol=1e-5, msg=key)
    model.eval()
    with torch.no_grad():
        for a, e in zip(compiled(x), model(x)):
            torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('name', ['davit', 'dat'])
def test_compiled_backbone_matches_eager_in_training_and_inference(name):
    check_compiled_matches_eager(name)


class TestDilateFormer:
    """A scope (pytest-xdist worker) of its own: a graph per dilated-attention call makes it the slowest."""

    def test_compiled_backbone_matches_eager_in_training_and_inference(self):
        check_compiled_matches_eager('dilateformer')
