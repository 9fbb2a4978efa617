"""``compile=True`` (mmengine's runner option) through mmattn.compat: the feature extractor is compiled once, for
training and for val/test, and the optimizer step stays eager (mmengine 0.10.7 compiles the whole train_step,
whose optimizer step dynamo cannot trace under torch 2.13)."""
import torch

from tests.test_engine.test_run_safety import ToyModel, toy_runner


class FeatureModel(ToyModel):
    """The toy regression with an ``extract_feat`` step, as mmpretrain / mmdet / mmseg models have."""

    def extract_feat(self, inputs):
        return self.linear(inputs)

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.extract_feat(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((out - torch.stack(targets))**2).mean())
        return [dict(pred=o) for o in out]


def compiled(function):
    return hasattr(function, '_torchdynamo_orig_callable') or hasattr(function, '_torchdynamo_inline')


def test_compile_true_trains_with_a_compiled_feature_extractor(tmp_path):
    torch._dynamo.reset()
    model = FeatureModel()
    runner = toy_runner(tmp_path, model, max_iters=2, cfg=dict(compile=dict(backend='eager')))
    runner.train()
    assert compiled(model.extract_feat) and not compiled(model.forward)
    assert torch.isfinite(model.linear.weight).all()


def test_val_compiles_too_and_compile_false_compiles_nothing(tmp_path):
    torch._dynamo.reset()
    model = FeatureModel()
    runner = toy_runner(tmp_path / 'a', model, max_iters=2, val=True, cfg=dict(compile=dict(backend='eager')))
    runner.val()
    assert compiled(model.extract_feat)
    model = FeatureModel()
    toy_runner(tmp_path / 'b', model, max_iters=2, cfg=dict(compile=False)).train()
    assert not compiled(model.extract_feat)


def test_shapes_are_static_unless_the_config_asks(tmp_path, monkeypatch):
    # inductor fails on DilateFormer once dynamo makes its sizes symbolic, so mmattn compiles with dynamic=False
    seen = []
    original = torch.compile
    monkeypatch.setattr(torch, 'compile', lambda fn, **options: seen.append(options) or original(fn, **options))
    for index, options in enumerate([dict(backend='eager'), dict(backend='eager', dynamic=None)]):
        torch._dynamo.reset()
        toy_runner(tmp_path / str(index), FeatureModel(), max_iters=1, cfg=dict(compile=options)).train()
    assert [o['dynamic'] for o in seen] == [False, None]
