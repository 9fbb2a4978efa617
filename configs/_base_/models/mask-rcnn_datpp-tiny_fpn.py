# Mask R-CNN + FPN with a DAT-T++ backbone (mmdet's mask-rcnn_r50_fpn.py): 4 maps at strides 4/8/16/32, each
# through its own LayerNorm, into an FPN with 256 channels and 5 levels. Backbone (and the command that converts its
# ImageNet classifier): _base_/models/datpp-tiny_featmaps.py.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './datpp-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.0),
    neck=dict(in_channels=_base_.featmap_channels))
