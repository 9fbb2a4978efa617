"""FLOPs (multiply-accumulates) and parameters of mmattn models: classifiers, detectors and segmentors.

Convention: one multiply-accumulate (MAC) is one "FLOP", as in the DaViT, DilateFormer and DAT papers, fvcore
and mmengine. Elementwise operations (additions, activations, softmax, scaling) are not counted, also as in
those counters; norms count 5 (LayerNorm, GroupNorm) or 2 (BatchNorm in eval mode) per element, mmengine's
defaults.

Why ``mmengine.analysis.FlopAnalyzer`` (a ``torch.jit`` trace) rather than ``torch.utils.flop_counter``
(``FlopCounterMode``, dispatcher level):

* it is the counter of mmdet's and mmseg's own ``get_flops`` tools and a port of fvcore's, whose numbers the
  papers quote, so conventions (MACs, norms, per-module attribution) match theirs;
* it sees our custom ``torch.autograd.Function`` operators as single opaque nodes
  (``prim::PythonOp.<ClassName>``), which we count with an analytic formula of what the operator computes.
  ``FlopCounterMode`` would instead count whatever the implementation happens to run inside them: nothing
  for the dilated attention (it is written with elementwise products and sums, which it does not count),
  and, for the deformable attention, a number that changes with the code path (chunked ``baddbmm`` with kept
  probabilities vs the fused CPU flash kernel, which has no formula there), so fused and reference
  implementations would disagree;
* every operator without a handle is listed (:attr:`FlopReport.unsupported_ops`), so a missed operator is
  visible instead of silently 0. ``FlopCounterMode`` also counts 2 FLOPs per MAC and has no formula for
  ``aten::_scaled_dot_product_flash_attention_for_cpu`` (SDPA on CPU would count 0).

Handles added to mmengine's defaults (:data:`MAC_HANDLES`); the generic counter misses all of these:

* ``aten::scaled_dot_product_attention`` (and the fused ``_scaled_dot_product_*`` kernels): ``q k^T`` and
  ``attn v``, ``B * heads * Nq * Nk * (d + dv)``; a mask or causality does not change the count (dense, as
  torch's own formula).
* ``prim::PythonOp._DilatedNeighbourhoodAttention`` / ``._PackedDilatedNeighbourhoodAttention``
  (DilateFormer's multi-scale dilated attention): every query takes ``q . k`` and ``attn * v`` over its
  ``K**2`` neighbours, ``2 * B * heads * H * W * K**2 * d``. Out-of-map neighbours are counted too: the
  official unfold formulation multiplies with their zero keys and values, and fvcore counts those matmuls.
* ``prim::PythonOp._DeformableAttentionCore`` (DAT's fused CPU attention core): ``q k^T`` and ``attn v``,
  ``B * heads * Nq * Nk * (d + dv)``, plus the bilinear sampling of the relative-position bias at every
  query-key displacement, ``4 * B * heads * Nq * Nk`` (one sample per head and pair, booked as
  ``grid_sampler``). This equals what the unfused path (SDPA + ``grid_sample``) and the official einsum code
  count.
* ``aten::grid_sampler`` / ``aten::grid_sampler_2d``: per output element and channel 4 MACs for bilinear (4
  corner weights times 4 values), 8 for trilinear (5-D), 16 for bicubic, 0 for nearest (a gather). mmengine
  counts 4 whatever the mode.
* ``aten::upsample_bicubic2d`` (DAT's bias table resized to a new map size): 16 per output element.
* ``aten::im2col`` (``nn.Unfold``) and ``aten::unfold``: 0, they only copy; the products that follow them
  are counted where they happen (the official DilateFormer's unfold + matmul counts the same as our operator).
* mmcv's ``RoIAlignFunction``: 4 MACs per bilinear sample, ``sampling_ratio**2`` samples per output element;
  with mmdet's adaptive ``sampling_ratio=0`` the number of samples depends on each RoI's size, so one per
  output element is counted (a lower bound; about 0.05 G for 1000 RoIs). ``NMSop``: 0 (comparisons).

While counting, the tracer is paused inside mmattn's own counted Functions: it would otherwise copy every op
of their bodies into a subgraph that nobody reads (15x slower tracing for DilateFormer).

DaViT's channel-group attention is two plain matmuls, ``(B, h, d, N) @ (B, h, N, d)`` and
``(B, h, N, d) @ (B, h, d, d)``, which mmengine's ``aten::matmul`` handle counts (``2 * B * h * N * d**2``);
the tests check it.

Published numbers and how they were counted (see docs/flops.md for the measured table): DaViT's 4.5 / 8.8 /
15.5 G come from the official timm code (explicit attention matmuls) with an fvcore-style counter; DAT's 4.6
/ 9.0 / 15.8 G from fvcore on the official einsum code (bias sampling counted by fvcore's ``grid_sampler``
handle); DilateFormer's 3.2 / 4.8 G agree with fvcore on the official unfold code. The detection and
segmentation numbers of DaViT (Mask R-CNN 263 G, RetinaNet 244 G, UPerNet 940 G for Tiny) come from the mmdet
2.x / mmseg 0.x ``get_flops`` tools, i.e. mmcv's module-hook counter: it counts convolutions, Linear layers,
norms, activations and pooling but no functional matmul, so attention products are left out there, and the
detector ran ``forward_dummy`` with exactly 1000 random proposals (100 for the mask head).
"""
import contextlib
import importlib
import re
from collections import Counter
from math import prod
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import Handle, get_shape


__all__ = [
    'MAC_HANDLES', 'FlopReport', 'DEFAULT_SHAPES', 'TASKS', 'analyze_flops', 'count_flops', 'build_model',
    'dummy_inputs', 'model_complexity'
]

# ------------------------------------------------------------------------------------------- op handles


def _shapes(values: Sequence[Any]) -> List[Optional[List[int]]]:
    return [get_shape(v) for v in values]


def _scalar_args(outputs: List[Any]) -> list:
    """The non-tensor arguments of a ``prim::PythonOp`` (an autograd Function), in call order.

    Handles only receive the node's inputs and outputs; the Function's Python scalars (kernel size, scale...)
    live on the node, which the output value points to.
    """
    return list(outputs[0].node().scalar_args())


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``aten::scaled_dot_product_attention``: ``batch * Nq * Nk * (d + dv)`` MACs (``q k^T`` and ``attn v``).

    ``batch`` is the product of the broadcast leading dimensions of q and k (batch x heads); with grouped
    keys (GQA) the query heads count. The mask add, scale and softmax are elementwise (not counted).
    """
    q, k, v = _shapes(inputs[:3])
    *q_lead, nq, d = q
    *k_lead, nk, _ = k
    dv = v[-1]
    try:
        lead = torch.broadcast_shapes(tuple(q_lead), tuple(k_lead))
    except RuntimeError:  # grouped-query attention: fewer key heads than query heads
        lead = q_lead
    return prod(lead) * nq * nk * (d + dv)


def dilated_attention_flop_jit(inputs: List[Any], outputs: List[Any]) -> Counter:
    """mmattn's dilated neighbourhood attention Functions (DilateFormer's MSDA core, DAT++'s neighbourhood
    attention; its relative-position bias only adds, no multiply-accumulates).

    Inputs are q, k, v ``(B, heads, d, H, W)`` each, or one packed ``(B, 3, heads, d, H, W)``; the first
    integer scalar argument is ``kernel_size`` (an absent bias table comes before it as ``None``). ``q . k``
    and ``attn * v`` over ``K**2`` neighbours per query: ``2 * B * heads * d * H * W * K**2``.
    """
    kernel_size = next(arg for arg in _scalar_args(outputs) if isinstance(arg, int))
    shape = get_shape(inputs[0])
    if len(shape) == 6:  # packed qkv
        shape = shape[:1] + shape[2:]
    batch, heads, head_dim, height, width = shape
    return Counter({'dilated_attention': 2 * batch * heads * head_dim * height * width * kernel_size**2})


def deformable_attention_flop_jit(inputs: List[Any], outputs: List[Any]) -> Counter:
    """mmattn's ``_DeformableAttentionCore`` (DAT): attention products plus the sampled position bias.

    Inputs: q ``(B, h, Nq, d)``, k ``(B, h, Nk, d)``, v ``(B, h, Nk, dv)``, the bias table
    ``(B*g, h/g, Th, Tw)``, ... ``q k^T`` and ``attn v``: ``B * h * Nq * Nk * (d + dv)``; the bias is one
    bilinear sample per head and query-key pair from the table: ``4 * B * h * Nq * Nk``, as
    ``grid_sample(table, grid)`` of shape ``(B*g, h/g, Nq, Nk)`` counts in the unfused path.
    """
    q, k, v = _shapes(inputs[:3])
    batch, heads, nq, head_dim = q
    nk, dv = k[2], v[3]
    pairs = batch * heads * nq * nk
    return Counter({'deformable_attention': pairs * (head_dim + dv), 'grid_sampler': 4 * pairs})


# MACs per output element and channel of one sample, by grid_sampler's interpolation_mode argument
_SAMPLER_MACS_2D = {0: 4, 1: 0, 2: 16}  # bilinear, nearest, bicubic
_SAMPLER_MACS_3D = {0: 8, 1: 0}  # trilinear, nearest


def grid_sampler_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``aten::grid_sampler``: interpolation weights times values per output element and channel.

    Bilinear: 4 MACs (4 corners), trilinear (5-D): 8, bicubic: 16, nearest: 0 (a gather). Output
    ``(N, C, Ho, Wo)``: ``N * C * Ho * Wo * macs``.
    """
    out = get_shape(outputs[0])
    mode = inputs[2].toIValue()
    table = _SAMPLER_MACS_3D if len(out) == 5 else _SAMPLER_MACS_2D
    if mode not in table:
        raise ValueError(f'grid_sampler: unknown interpolation mode {mode!r} for a {len(out)}-D output.')
    return prod(out) * table[mode]


def upsample_bicubic_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``aten::upsample_bicubic2d``: a 4x4 neighbourhood, 16 MACs per output element."""
    return prod(get_shape(outputs[0])) * 16


def zero_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Data movement or comparisons only (unfold / im2col, NMS): no multiply-accumulate."""
    return 0


def roi_align_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """mmcv ``RoIAlignFunction``: ``4 * max(1, sampling_ratio)**2`` MACs per output element.

    Scalar arguments: ``output_size, spatial_scale, sampling_ratio, ...``. ``sampling_ratio=0`` (mmdet's
    default) adapts the samples to each RoI's size at run time; one per bin is counted (a lower bound).
    """
    args = _scalar_args(outputs)
    sampling_ratio = int(args[2]) if len(args) > 2 else 0
    return prod(get_shape(outputs[0])) * 4 * max(1, sampling_ratio)**2


MAC_HANDLES: Dict[str, Handle] = {
    'aten::scaled_dot_product_attention': sdpa_flop_jit,
    'aten::_scaled_dot_product_flash_attention_for_cpu': sdpa_flop_jit,
    'aten::_scaled_dot_product_flash_attention': sdpa_flop_jit,
    'aten::_scaled_dot_product_efficient_attention': sdpa_flop_jit,
    'aten::_scaled_dot_product_cudnn_attention': sdpa_flop_jit,
    'prim::PythonOp._DilatedNeighbourhoodAttention': dilated_attention_flop_jit,
    'prim::PythonOp._PackedDilatedNeighbourhoodAttention': dilated_attention_flop_jit,
    'prim::PythonOp._DeformableAttentionCore': deformable_attention_flop_jit,
    'aten::grid_sampler': grid_sampler_flop_jit,
    'aten::grid_sampler_2d': grid_sampler_flop_jit,
    'aten::upsample_bicubic2d': upsample_bicubic_flop_jit,
    'aten::im2col': zero_flop_jit,
    'aten::unfold': zero_flop_jit,
    'prim::PythonOp.RoIAlignFunction': roi_align_flop_jit,
    'prim::PythonOp.NMSop': zero_flop_jit,
}

# Operators that stay uncounted on purpose: elementwise arithmetic, activations, softmax, reductions,
# comparisons, indexing and tensor creation (no multiply-accumulate, or not counted by the papers' fvcore
# convention). Anything unsupported outside this set is reported as "uncounted" so that it gets looked at.
_ELEMENTWISE_OPS = frozenset(
    f'aten::{name}{suffix}' for suffix in ('', '_') for name in (
        'add', 'sub', 'rsub', 'mul', 'div', 'neg', 'pow', 'sqrt', 'rsqrt', 'exp', 'log', 'log2', 'abs', 'sign',
        'reciprocal', 'softmax', 'log_softmax', 'gelu', 'relu', 'relu6', 'silu', 'sigmoid', 'tanh', 'hardtanh',
        'hardswish', 'hardsigmoid', 'leaky_relu', 'elu', 'erf', 'mean', 'sum', 'prod', 'amax', 'amin', 'min',
        'max', 'argmax', 'argmin', 'topk', 'sort', 'argsort', 'lt', 'le', 'ne', 'where', 'logical_and',
        'logical_or', 'logical_not', 'any', 'all', 'nonzero', 'clone', 'repeat', 'stack', 'split',
        'split_with_sizes', 'unbind', 'roll', 'flip', 'zeros', 'zeros_like', 'ones', 'ones_like', 'new_zeros',
        'new_ones', 'new_full', 'new_tensor', 'fill', 'linspace', 'meshgrid', 'scatter', 'scatter_add',
        'index_select', 'masked_select', 'repeat_interleave', 'max_pool2d', 'avg_pool2d', 'round', 'ceil',
        'trunc', 'remainder', 'fmod', 'maximum', 'minimum', 'clamp_min', 'clamp_max', 'exp2', 'square',
        'dropout', 'feature_dropout', 'alpha_dropout', 'cumsum', 'type_as', 'expand_as', 'tensor',
        'scalar_tensor', 'empty_like', 'tile',
        'sin', 'cos', 'atan2', 'floor', 'bitwise_and', 'bitwise_or', 'logsumexp', 'std', 'var', 'norm',
        'frobenius_norm', 'linalg_vector_norm', 'cat', 'squeeze', 'unsqueeze', 'pad', 'reflection_pad2d',
        'replication_pad2d', 'lift_fresh', 'alias', 'masked_fill', 'index_put', 'resolve_conj', 'resolve_neg'))


# ------------------------------------------------------------------------------------------- counting


@dataclass
class FlopReport:
    """Result of :func:`analyze_flops`.

    Attributes:
        total (int): MACs of the whole traced call.
        by_module (Counter): MACs per module name (``''`` is the root, ``'backbone'`` etc.).
        by_operator (Counter): MACs per operator (``'linear'``, ``'dilated_attention'``, ...).
        unsupported_ops (Counter): Operators seen without a handle (counted as 0), with their call counts.
    """
    total: int
    by_module: Counter
    by_operator: Counter
    unsupported_ops: Counter = field(default_factory=Counter)

    @property
    def uncounted_ops(self) -> Counter:
        """Unsupported operators that are not elementwise/indexing: candidates for a missing handle."""
        return Counter({op: n for op, n in self.unsupported_ops.items() if op not in _ELEMENTWISE_OPS})


def _counted_functions() -> list:
    """mmattn's autograd Functions that :data:`MAC_HANDLES` counts analytically as single nodes."""
    from mmattn.models.layers.deformable_attention import _DeformableAttentionCore
    from mmattn.models.layers.dilated_attention import (_DilatedNeighbourhoodAttention,
                                                        _PackedDilatedNeighbourhoodAttention)
    return [_DilatedNeighbourhoodAttention, _PackedDilatedNeighbourhoodAttention, _DeformableAttentionCore]


@contextlib.contextmanager
def _untraced_function_bodies(functions: Sequence[type]):
    """Run the bodies of these autograd Functions with the tracer paused.

    The tracer records a Function as one ``prim::PythonOp`` node and also copies every op its forward runs
    into a subgraph of that node, which the count never reads (our handle counts the node). The dilated
    attention runs hundreds of small ops per call: recording them made tracing DilateFormer 15x slower.
    """
    originals = {function: function.__dict__['forward'] for function in functions}

    def untraced(forward):
        def wrapper(ctx, *args):
            state = torch._C._get_tracing_state()
            torch._C._set_tracing_state(None)
            try:
                return forward(ctx, *args)
            finally:
                torch._C._set_tracing_state(state)

        return staticmethod(wrapper)

    try:
        for function, forward in originals.items():
            function.forward = untraced(forward.__func__)
        yield
    finally:
        for function, forward in originals.items():
            function.forward = forward


def analyze_flops(model: nn.Module, inputs: Union[torch.Tensor, Tuple[torch.Tensor, ...]]) -> FlopReport:
    """Trace ``model(*inputs)`` once (no grad) and count its MACs with mmengine's handles plus ours.

    Args:
        model (nn.Module): The module to trace; its ``forward`` must take the tensors in ``inputs``.
        inputs (Tensor | tuple[Tensor]): Positional inputs.

    Returns:
        FlopReport: Totals per module and per operator, and the operators left uncounted.
    """
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs, )
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.set_op_handle(**MAC_HANDLES)
    # our report lists unsupported operators itself; tracer warnings (shape-dependent Python branches) are
    # expected for the backbones' padding logic and the detectors' post-processing
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings('none')
    with torch.no_grad(), _untraced_function_bodies(_counted_functions()):
        total = analyzer.total()
    return FlopReport(total=int(total), by_module=Counter(analyzer.by_module()),
                      by_operator=Counter(analyzer.by_operator()), unsupported_ops=Counter(analyzer.unsupported_ops()))


def count_flops(model: nn.Module, inputs: Union[torch.Tensor, Tuple[torch.Tensor, ...]]) -> Tuple[int, Counter]:
    """MACs of ``model(*inputs)``: ``(total, by_module)``. See :func:`analyze_flops` for the full report."""
    report = analyze_flops(model, inputs)
    return report.total, report.by_module


# ------------------------------------------------------------------------------------------- configs

# the task of a config, from its default_scope (which is also the package whose registry builds the model)
TASKS = {
    'mmpretrain': 'classification',
    'mmdet': 'detection',
    'mmseg': 'segmentation',
}
# (H, W): 224x224 classification; 1280x800 (W x H) detection, as the Swin / DaViT papers; 2048x512 segmentation
# mmdet 2.x's counter (the papers') and mmdet 3.3's StandardRoIHead give the mask head the first 100 RoIs
MASK_HEAD_ROIS = 100

DEFAULT_SHAPES = {
    'classification': (224, 224),
    'detection': (800, 1280),
    'segmentation': (512, 2048),
}


def _scope_of(cfg) -> str:
    scope = cfg.get('default_scope', None) or 'mmpretrain'
    if scope not in TASKS:
        raise ValueError(f"default_scope {scope!r} is not one of {sorted(TASKS)}: cannot tell whether the config "
                         'is a classifier, a detector or a segmentor.')
    return scope


def build_model(cfg) -> nn.Module:
    """Build ``cfg.model`` in the config's scope, in eval mode, with SyncBN turned into BN (CPU-safe).

    Weights are not initialised from checkpoints (``init_weights`` is not called): FLOPs do not depend on
    them. The global RNG is seeded so that the random weights, and with them a detector's proposals, are
    the same on every run.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import DefaultScope

    scope = _scope_of(cfg)
    registry = importlib.import_module(f'{scope}.registry')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.MODELS.build(cfg.model)
    return revert_sync_batchnorm(model).eval()


def _data_samples(task: str, shape: Tuple[int, int]) -> Optional[list]:
    """One data sample with the meta information a detector's / segmentor's tensor-mode forward reads."""
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape,
                scale_factor=(1., 1.), img_id=0)
    if task == 'detection':
        from mmdet.structures import DetDataSample
        return [DetDataSample(metainfo=meta)]
    if task == 'segmentation':
        from mmseg.structures import SegDataSample
        return [SegDataSample(metainfo=meta)]
    return None


def dummy_inputs(task: str, shape: Tuple[int, int], in_channels: int = 3) -> Tuple[torch.Tensor, Optional[list]]:
    """A seeded ``(1, C, H, W)`` image and the data samples for ``task`` (None for classification)."""
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, in_channels, *shape, generator=generator)
    return image, _data_samples(task, shape)


class _Instrumented:
    """Temporary instance-level wrappers around the forwards of a built model, for one count.

    * the root ``forward`` gets the data samples bound: FlopAnalyzer traces ``module(*tensors)`` only, and the
      tensor-mode forward of mmdet / mmseg models needs them (mmdet's get_flops does the same);
    * each direct child's ``forward`` pushes the child's name as a trace scope: mmdet and mmseg call some of
      them as methods (``self.decode_head.forward(x)``, ``self.roi_head.forward(...)``), not through
      ``__call__`` where mmengine's scope hooks sit, and the ops run directly in those forwards (e.g. UPerHead's
      resizes) would be booked on the root instead of the head (the total is right either way);
    * ``roi_head.forward`` records the number of proposals reaching the RoI head (its cost scales with them),
      and each mask head the number of RoIs it is given (``mask_rois``).
    """

    def __init__(self, model: nn.Module, data_samples: Optional[list]):
        self.model, self.num_rois, self._wrapped, self.mask_rois = model, None, [], {}
        self._hooks = [module.register_forward_pre_hook(
            lambda module, args, name=name: self.mask_rois.__setitem__(name, int(args[0].shape[0])))
                       for name, module in model.named_modules() if re.fullmatch(r'roi_head\.mask_head(\.\d+)?', name)]
        if data_samples is not None:
            forward = model.forward
            self._wrap(model, lambda inputs: forward(inputs, data_samples, mode='tensor'))
        for name, child in model.named_children():
            self._wrap(child, self._scoped(name, child.forward, count_rois=name == 'roi_head'))

    def _wrap(self, module: nn.Module, forward) -> None:
        module.forward = forward
        self._wrapped.append(module)

    def _scoped(self, name: str, forward, count_rois: bool):

        def scoped_forward(*args, **kwargs):
            if count_rois and len(args) > 1:  # roi_head.forward(x, rpn_results_list, data_samples)
                self.num_rois = sum(len(results) for results in args[1])
            state = torch._C._get_tracing_state()
            if state is not None:
                state.push_scope(name)
            try:
                return forward(*args, **kwargs)
            finally:
                if state is not None:
                    state.pop_scope()

        return scoped_forward

    def remove(self) -> None:
        for module in self._wrapped:
            del module.forward  # the instance attribute; the class method is visible again
        for hook in self._hooks:
            hook.remove()
        self._wrapped, self._hooks = [], []


def _mask_heads_at_100_rois(by_module: Counter, mask_rois: Dict[str, int]) -> int:
    """Rescale, in ``by_module``, each mask head given more than :data:`MASK_HEAD_ROIS` RoIs (mmdet 3.3's
    ``CascadeRoIHead`` gives its three all 1000 proposals in tensor mode) to that many, its ancestors with it;
    return the MACs taken off. A mask head's cost is linear in its RoIs."""
    removed = 0
    for name, rois in mask_rois.items():
        if rois <= MASK_HEAD_ROIS:
            continue
        keep = MASK_HEAD_ROIS / rois
        excess = int(round(by_module.get(name, 0) * (1 - keep)))
        for key in list(by_module):
            if key.startswith(name + '.'):
                by_module[key] = int(round(by_module[key] * keep))
        parts = name.split('.')
        for ancestor in [''] + ['.'.join(parts[:i]) for i in range(1, len(parts) + 1)]:
            if ancestor in by_module:
                by_module[ancestor] -= excess
        removed += excess
    return removed


def model_complexity(cfg, shape: Optional[Sequence[int]] = None, with_modules: bool = False) -> Dict[str, Any]:
    """Parameters and MACs of the model a config describes, at an input of ``shape = (H, W)``.

    The task comes from ``cfg.default_scope``: ``mmpretrain`` counts the classifier (backbone, neck and head,
    ``mode='tensor'``); ``mmdet`` the detector's tensor-mode ``_forward`` on one image with data samples
    carrying ``img_shape`` etc. (backbone, neck, RPN with its proposals, RoI heads; no post-processing), as
    mmdet's ``get_flops``; ``mmseg`` the segmentor's ``_forward`` (backbone, neck, decode head; the auxiliary
    head is a training-only branch and is left out, as in mmseg's ``get_flops``). Parameters are those of the
    whole built model.

    Args:
        cfg (Config | str): A config or its path (``custom_imports`` are processed when loading).
        shape (Sequence[int], optional): ``(H, W)`` or ``(S, )`` for a square. Defaults to
            :data:`DEFAULT_SHAPES` of the task.
        with_modules (bool): Also return ``by_module`` (MACs) and ``module_params`` per module name, in
            ``named_modules`` order. Defaults to False.

    Returns:
        dict: ``task``, ``scope``, ``input_shape`` ``[1, C, H, W]``, ``params``, ``flops`` (MACs), ``backbone_params``,
        ``backbone_flops``, ``by_operator``, ``unsupported_ops`` (counted as 0), ``uncounted_ops`` (the
        non-elementwise ones among them), ``num_rois`` (proposals entering the RoI head, two-stage detectors),
        ``mask_rois`` (RoIs each mask head was given). Mask heads are counted at :data:`MASK_HEAD_ROIS` RoIs
        (``flops`` and ``by_module``; ``by_operator`` is the traced run's).
    """
    from mmengine.config import Config
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    scope = _scope_of(cfg)
    task = TASKS[scope]
    if shape is None:
        shape = DEFAULT_SHAPES[task]
    shape = tuple(int(s) for s in shape)
    if len(shape) == 1:
        shape = shape * 2
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'shape must be (H, W) or (S, ), got {shape}.')

    model = build_model(cfg)
    in_channels = cfg.model.get('backbone', {}).get('in_channels', 3)
    image, data_samples = dummy_inputs(task, shape, in_channels)
    instrumented = _Instrumented(model, data_samples)
    try:
        report = analyze_flops(model, (image, ))
    finally:
        instrumented.remove()
    params = parameter_count(model)
    report.total -= _mask_heads_at_100_rois(report.by_module, instrumented.mask_rois)
    result = dict(
        task=task,
        scope=scope,
        input_shape=list(image.shape),
        params=int(params['']),
        flops=report.total,
        backbone_params=int(params.get('backbone', 0)),
        backbone_flops=int(report.by_module.get('backbone', 0)),
        by_operator=dict(report.by_operator.most_common()),
        unsupported_ops=dict(report.unsupported_ops.most_common()),
        uncounted_ops=dict(report.uncounted_ops.most_common()),
        num_rois=instrumented.num_rois,
        mask_rois=dict(instrumented.mask_rois),
    )
    if with_modules:
        result['by_module'] = {name: int(flops) for name, flops in report.by_module.items()}
        result['module_params'] = {name: int(n) for name, n in params.items()}
    return result
