"""Pictures of what the attention does and of the stage outputs, drawn onto the image as PNG panels.

Every picture is a grid of panels, each the input image enlarged by the integer :func:`panel_scale` (so that
small images stay legible): rows are query points, columns are the groups or heads of one layer. The weights
drawn are the layers' own (``attention_weights`` of each attention module), taken from a forward pass of the
backbone on the whole image at its own size.
"""
import math
import re
from contextlib import contextmanager
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmattn.models.layers import (ChannelGroupAttention, DeformableAttention, MultiScaleDilatedAttention,
                                  WindowAttention)

PANEL_MIN_SIDE = 160
ATTENTION_LAYERS = (DeformableAttention, WindowAttention, ChannelGroupAttention, MultiScaleDilatedAttention)


def panel_scale(height: int, width: int) -> int:
    """The integer factor a panel enlarges an image by: the smallest one giving a short side of at least
    :data:`PANEL_MIN_SIDE` pixels."""
    return max(1, math.ceil(PANEL_MIN_SIDE / min(height, width)))


def backbone_input(model, image_bgr: np.ndarray) -> torch.Tensor:
    """The image as the model's data preprocessor feeds it to the backbone ``(1, 3, H', W')`` (normalised;
    padded at the right and bottom where the model pads)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image_bgr)).permute(2, 0, 1)
    return model.data_preprocessor(dict(inputs=[tensor]), False)['inputs']


@contextmanager
def layer_inputs(module: torch.nn.Module, layer_types=ATTENTION_LAYERS, pattern: Optional[str] = None):
    """Collect ``(name, layer, input)`` of every ``layer_types`` layer whose name matches ``pattern`` (a regex)
    in the forward passes inside the block."""
    records = []
    handles = [layer.register_forward_pre_hook(
        lambda layer, args, name=name: records.append((name, layer, args[0].detach())))
               for name, layer in module.named_modules()
               if isinstance(layer, layer_types) and (pattern is None or re.search(pattern, name))]
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


def map_stride(map_size: Tuple[int, int], input_size: Tuple[int, int]) -> int:
    """Input pixels per feature-map pixel: the power of two closest to the size ratio (the backbones pad
    off-grid sizes up)."""
    return 2**round(math.log2(input_size[0] / map_size[0]))


def map_to_image(coords: torch.Tensor, map_size: Tuple[int, int], input_size: Tuple[int, int]) -> torch.Tensor:
    """Map pixel coordinates ``(..., 2)`` (``(y, x)``, pixel centres at integers) of a feature map of
    ``map_size`` to input-image pixel coordinates."""
    return (coords + 0.5) * map_stride(map_size, input_size) - 0.5


def image_to_map(point: Sequence[float], map_size: Tuple[int, int], input_size: Tuple[int, int]) -> Tuple[int, int]:
    """The feature-map pixel an image point ``(y, x)`` falls in."""
    stride = map_stride(map_size, input_size)
    return (min(map_size[0] - 1, max(0, int(point[0] // stride))),
            min(map_size[1] - 1, max(0, int(point[1] // stride))))


def dat_sampling_points(positions: torch.Tensor, map_size: Tuple[int, int],
                        input_size: Tuple[int, int]) -> torch.Tensor:
    """DAT's sampling positions ``(..., 2)`` on a feature map of ``map_size`` (normalised ``(y, x)``,
    ``align_corners=True``, as :class:`DeformableAttention` returns them) in input-image pixel coordinates."""
    in_map = (positions + 1) / 2 * positions.new_tensor([map_size[0] - 1, map_size[1] - 1])
    return map_to_image(in_map, map_size, input_size)


class _Canvas:
    """A grid of panels, each the image enlarged by ``scale``."""

    def __init__(self, image_bgr: np.ndarray, rows: int, cols: int):
        self.image = image_bgr
        self.scale = panel_scale(*image_bgr.shape[:2])
        self.height, self.width = image_bgr.shape[0] * self.scale, image_bgr.shape[1] * self.scale
        self.pixels = np.zeros((rows * self.height, cols * self.width, 3), np.uint8)

    def panel(self, row: int, col: int, base: Optional[np.ndarray] = None) -> np.ndarray:
        """The writable view of a panel, filled with ``base`` (default: the enlarged image, dimmed)."""
        view = self.pixels[row * self.height:(row + 1) * self.height, col * self.width:(col + 1) * self.width]
        if base is None:
            base = cv2.resize(self.image, (self.width, self.height), interpolation=cv2.INTER_NEAREST) // 2 + 40
        view[:] = base
        return view

    def point(self, yx) -> Tuple[int, int]:
        """An image point ``(y, x)`` as integer panel coordinates ``(x, y)`` for OpenCV."""
        return int(round((float(yx[1]) + 0.5) * self.scale - 0.5)), int(round((float(yx[0]) + 0.5) * self.scale - 0.5))

    def shade_cells(self, view: np.ndarray, cells, stride: int) -> None:
        """Fill the image area of each feature-map pixel ``(y, x)`` of ``cells`` (``((y, x), colour)`` pairs)
        with its colour, blended over the panel."""
        overlay = view.copy()
        for (y, x), colour in cells:
            cv2.rectangle(overlay, self.point((y * stride - 0.5, x * stride - 0.5)),
                          self.point(((y + 1) * stride - 0.5, (x + 1) * stride - 0.5)), colour, -1)
        cv2.addWeighted(overlay, 0.7, view, 0.3, 0, dst=view)

    def mark_query(self, view: np.ndarray, query) -> None:
        cv2.drawMarker(view, self.point(query), (0, 255, 0), cv2.MARKER_STAR, 12, 2)

    def label(self, view: np.ndarray, text: str) -> None:
        cv2.putText(view, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)

    def save(self, path: str) -> str:
        cv2.imwrite(path, self.pixels)
        return path


def _heat(weights: np.ndarray) -> List[Tuple[int, int, int]]:
    """A colour for each weight in [0, 1] (OpenCV's inferno map), as BGR tuples."""
    levels = np.clip(np.asarray(weights) * 255, 0, 255).astype(np.uint8).reshape(-1, 1)
    return [tuple(int(c) for c in colour[0]) for colour in cv2.applyColorMap(levels, cv2.COLORMAP_INFERNO)]


def draw_dat_sampling(image_bgr, name, layer, x, input_size, queries, path, top_keys=16) -> str:
    """DAT: per offset group, every key's offset (reference point -> sampling point, grey) and, for each query
    (a row), its ``top_keys`` most attended sampling points coloured by weight (mean over the group's heads)."""
    with torch.no_grad():
        weights, sampled, reference = layer.attention_weights(x)
    points = dat_sampling_points(sampled[0], x.shape[1:3], input_size)  # (g, Hk, Wk, 2) image pixels
    starts = dat_sampling_points(reference, x.shape[1:3], input_size)  # every group's keys start from these
    heads_per_group = layer.num_heads // layer.num_groups
    canvas = _Canvas(image_bgr, len(queries), layer.num_groups)
    for row, query in enumerate(queries):
        qy, qx = image_to_map(query, x.shape[1:3], input_size)
        for group in range(layer.num_groups):
            view = canvas.panel(row, group)
            for start, end in zip(starts.reshape(-1, 2), points[group].reshape(-1, 2)):
                cv2.arrowedLine(view, canvas.point(start), canvas.point(end), (150, 150, 150), 1, cv2.LINE_AA,
                                tipLength=0.2)
            heads = slice(group * heads_per_group, (group + 1) * heads_per_group)
            query_weights = weights[0, heads, qy * x.shape[2] + qx].mean(0)
            best = query_weights.argsort(descending=True)[:top_keys]
            strength = (query_weights[best] / query_weights[best[0]]).tolist()
            for key, colour in zip(best.tolist(), _heat(strength)):
                cv2.circle(view, canvas.point(points[group].reshape(-1, 2)[key]), 3, colour, -1, cv2.LINE_AA)
            canvas.mark_query(view, query)
            canvas.label(view, f'{name} group {group}')
    return canvas.save(path)


def draw_window_attention(image_bgr, name, layer, x, input_size, queries, path, max_heads=8) -> str:
    """DaViT spatial attention: for each query (a row), its window's attention map in each head (a column)."""
    with torch.no_grad():
        weights = layer.attention_weights(x)  # (windows, heads, n, n)
    size, (H, W) = layer.window_size, x.shape[1:3]
    windows_per_row = math.ceil(W / size)
    heads = min(layer.num_heads, max_heads)
    canvas = _Canvas(image_bgr, len(queries), heads)
    stride = map_stride((H, W), input_size)
    for row, query in enumerate(queries):
        qy, qx = image_to_map(query, (H, W), input_size)
        window = (qy // size) * windows_per_row + qx // size
        token = (qy % size) * size + qx % size
        for head in range(heads):
            view = canvas.panel(row, head)
            attention = weights[window, head, token].reshape(size, size)
            attention = (attention / attention.max()).numpy()
            top, left = (qy // size) * size, (qx // size) * size
            # padded tokens are keys too, but lie outside the image
            canvas.shade_cells(view, [((top + i, left + j), colour) for (i, j), colour in
                                      zip(np.ndindex(size, size), _heat(attention.reshape(-1)))
                                      if top + i < H and left + j < W], stride)
            canvas.mark_query(view, query)
            canvas.label(view, f'{name} head {head}')
    return canvas.save(path)


def draw_channel_attention(name, layer, x, path, cell=96, max_heads=8) -> str:
    """DaViT channel attention: each head's channel-to-channel weight matrix (rows: query channels)."""
    with torch.no_grad():
        weights = layer.attention_weights(x)[0]  # (heads, d, d)
    heads = min(layer.num_heads, max_heads)
    pixels = np.zeros((cell, heads * cell, 3), np.uint8)
    for head in range(heads):
        matrix = weights[head] / weights[head].max()
        levels = (matrix.numpy() * 255).astype(np.uint8)
        pixels[:, head * cell:(head + 1) * cell] = cv2.applyColorMap(
            cv2.resize(levels, (cell, cell), interpolation=cv2.INTER_NEAREST), cv2.COLORMAP_INFERNO)
        cv2.putText(pixels, f'h{head}', (head * cell + 3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 255, 0), 1)
    cv2.imwrite(path, pixels)
    return path


def draw_dilated_receptive_field(image_bgr, name, layer, x, input_size, queries, path) -> str:
    """DilateFormer: for each query (a row) and dilation group (a column), the kernel's neighbours it attends
    to, coloured by weight (mean over the group's heads); neighbours outside the map are left out."""
    with torch.no_grad():
        weights = layer.attention_weights(x)[0]  # (heads, K*K, H, W)
    K, (H, W) = layer.kernel_size, x.shape[1:3]
    heads_per_group = layer.num_heads // len(layer.dilations)
    stride = map_stride((H, W), input_size)
    canvas = _Canvas(image_bgr, len(queries), len(layer.dilations))
    for row, query in enumerate(queries):
        qy, qx = image_to_map(query, (H, W), input_size)
        for group, dilation in enumerate(layer.dilations):
            view = canvas.panel(row, group)
            group_weights = weights[group * heads_per_group:(group + 1) * heads_per_group, :, qy, qx].mean(0)
            colours = _heat((group_weights / group_weights.max()).tolist())
            neighbours = [(qy + (n // K - K // 2) * dilation, qx + (n % K - K // 2) * dilation) for n in range(K * K)]
            canvas.shade_cells(view, [((y, x_), colour) for (y, x_), colour in zip(neighbours, colours)
                                      if 0 <= y < H and 0 <= x_ < W], stride)
            canvas.mark_query(view, query)
            canvas.label(view, f'{name} dilation {dilation}')
    return canvas.save(path)


def draw_attention(model, image_bgr: np.ndarray, queries: Sequence[Tuple[float, float]], out_prefix: str,
                   layers: Optional[str] = None) -> List[str]:
    """Run the backbone of ``model`` on the image and draw every attention layer whose name matches
    ``layers`` (a regex; all when None); returns the PNG paths ``<out_prefix><layer name>.png``."""
    inputs = backbone_input(model, image_bgr)
    with layer_inputs(model.backbone, pattern=layers) as records, torch.no_grad():
        model.backbone(inputs)
    input_size = tuple(inputs.shape[-2:])
    paths = []
    for name, layer, x in records:
        path = f'{out_prefix}{name}.png'
        if isinstance(layer, DeformableAttention):
            paths.append(draw_dat_sampling(image_bgr, name, layer, x, input_size, queries, path))
        elif isinstance(layer, WindowAttention):
            paths.append(draw_window_attention(image_bgr, name, layer, x, input_size, queries, path))
        elif isinstance(layer, ChannelGroupAttention):
            paths.append(draw_channel_attention(name, layer, x, path))
        else:
            paths.append(draw_dilated_receptive_field(image_bgr, name, layer, x, input_size, queries, path))
    return paths


def draw_feature_maps(image_bgr: np.ndarray, features: Sequence[torch.Tensor], input_size: Tuple[int, int],
                      path: str, channels: int = 8) -> str:
    """A grid of stage outputs ``(1, C, h, w)``: a row per stage, the ``channels`` most active channels (mean
    activation), each normalised and enlarged onto a panel of the image's size."""
    canvas = _Canvas(image_bgr, len(features), channels)
    for row, feature in enumerate(features):
        maps = feature[0].float()
        # the map covers the padded input: crop to the image's share of it
        stride = map_stride(maps.shape[1:], input_size)
        crop = maps[:, :math.ceil(image_bgr.shape[0] / stride), :math.ceil(image_bgr.shape[1] / stride)]
        order = crop.mean((1, 2)).argsort(descending=True)[:channels]
        for col, channel in enumerate(order.tolist()):
            values = crop[channel]
            values = ((values - values.min()) / (values.max() - values.min() + 1e-6) * 255).byte().numpy()
            heat = cv2.applyColorMap(cv2.resize(values, (canvas.width, canvas.height)), cv2.COLORMAP_VIRIDIS)
            canvas.label(canvas.panel(row, col, heat), f'stage out {row} ch {channel}')
    return canvas.save(path)
