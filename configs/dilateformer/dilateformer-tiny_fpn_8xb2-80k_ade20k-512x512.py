# DilateFormer-T + Semantic FPN on ADE20K, 80k iterations at batch 16 (the PVT protocol). No segmentation code was
# released: drop path 0.3 and frozen BatchNorm statistics as in the UPerNet config. Backbone (and the command that
# converts its ImageNet classifier): _base_/models/dilateformer-tiny_featmaps.py. See README.md ("ADE20K semantic
# segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/fpn_8xb2-80k_ade20k-512x512.py', '../_base_/models/dilateformer-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.3),
    neck=dict(in_channels=_base_.featmap_channels))
