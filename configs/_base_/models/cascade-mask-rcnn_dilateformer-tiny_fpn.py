# Cascade Mask R-CNN (4conv1fc + GIoU box heads, cascade-mask-rcnn_fpn_4conv1fc-giou.py) + FPN with a DilateFormer-T
# backbone: maps before each stage's downsample (strides 4/8/16/32), each through its own LayerNorm; stem /
# downsample BatchNorms keep their ImageNet statistics (norm_eval=True, see mask-rcnn_dilateformer-tiny_fpn.py).
# Backbone (and the command that converts its ImageNet classifier): _base_/models/dilateformer-tiny_featmaps.py.
_base_ = ['./cascade-mask-rcnn_fpn_4conv1fc-giou.py', './dilateformer-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.2),
    neck=dict(in_channels=_base_.featmap_channels))
