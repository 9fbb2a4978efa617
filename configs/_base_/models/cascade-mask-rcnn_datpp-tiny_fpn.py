# Cascade Mask R-CNN (4conv1fc + GIoU box heads, cascade-mask-rcnn_fpn_4conv1fc-giou.py) + FPN with a DAT-T++
# backbone: 4 maps at strides 4/8/16/32, each through its own LayerNorm. Backbone (and the command that converts its
# ImageNet classifier): _base_/models/datpp-tiny_featmaps.py.
_base_ = ['./cascade-mask-rcnn_fpn_4conv1fc-giou.py', './datpp-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.1),
    neck=dict(in_channels=_base_.featmap_channels))
