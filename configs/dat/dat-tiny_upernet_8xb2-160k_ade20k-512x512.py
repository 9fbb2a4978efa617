# DAT-T (v1) + UPerNet on ADE20K. No DAT v1 segmentation config was released: this is the UPerNet recipe the authors
# released for DAT++ (= Swin's and DaViT's), with DAT++'s drop path for its Tiny model (0.3). Backbone (and the
# command that converts its ImageNet classifier): _base_/models/dat-tiny_featmaps.py. See README.md ("ADE20K
# semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py', '../_base_/models/dat-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.3),
    decode_head=dict(in_channels=_base_.featmap_channels),
    auxiliary_head=dict(in_channels=_base_.featmap_channels[2]))
