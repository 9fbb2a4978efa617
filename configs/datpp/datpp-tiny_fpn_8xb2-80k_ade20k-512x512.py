# DAT-T++ + Semantic FPN on ADE20K, 80k iterations at batch 16 with AdamW lr 1e-4, wd 1e-4, poly 0.9: the PVT
# protocol the official configs follow (they run the equivalent 40k iterations at lr 2e-4, on twice the
# GPUs), drop path 0.4. Backbone (and the command that converts its ImageNet classifier):
# _base_/models/datpp-tiny_featmaps.py.
_base_ = ['../_base_/segmentation/fpn_8xb2-80k_ade20k-512x512.py', '../_base_/models/datpp-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.4),
    neck=dict(in_channels=_base_.featmap_channels))
