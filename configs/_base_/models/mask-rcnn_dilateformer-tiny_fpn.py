# Mask R-CNN + FPN (mmdet's mask-rcnn_r50_fpn.py) with a DilateFormer-T backbone: the maps before each stage's
# downsample (strides 4/8/16/32), stem and downsample BatchNorms at their ImageNet statistics. Backbone (and the
# command that converts its ImageNet classifier): _base_/models/dilateformer-tiny_featmaps.py.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './dilateformer-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.2),
    neck=dict(in_channels=_base_.featmap_channels))
