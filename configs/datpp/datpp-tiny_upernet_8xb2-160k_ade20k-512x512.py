# DAT-T++ + UPerNet on ADE20K, the official recipe (LeapLabTHU/DAT-Segmentation; Swin's): AdamW lr 6e-5,
# wd 0.01, poly 1.0 after 1500 warm-up iterations, 8 GPUs x 2 images, 160k iterations, drop path 0.3.
# Backbone (and the command that converts its ImageNet classifier): _base_/models/datpp-tiny_featmaps.py.
_base_ = ['../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py', '../_base_/models/datpp-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.3),
    decode_head=dict(in_channels=_base_.featmap_channels),
    auxiliary_head=dict(in_channels=_base_.featmap_channels[2]))
