# DAT-T (v1) + Semantic FPN on ADE20K, 80k iterations at batch 16: the PVT protocol of DAT++'s Semantic FPN configs,
# with DAT++'s drop path for its Tiny model (0.4). Backbone (and the command that converts its ImageNet classifier):
# _base_/models/dat-tiny_featmaps.py. See README.md ("ADE20K semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/fpn_8xb2-80k_ade20k-512x512.py', '../_base_/models/dat-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.4),
    neck=dict(in_channels=_base_.featmap_channels))
