# DaViT-T + UPerNet on ADE20K, the official recipe (dingmyu/davit
# mmseg/configs/upernet_davit_512x512_160k_ade20k.py, drop path 0.3) on mmseg 1.x. Backbone (and the command that
# converts its ImageNet classifier): _base_/models/davit-tiny_featmaps.py. See README.md ("ADE20K semantic
# segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py', '../_base_/models/davit-tiny_featmaps.py']

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.3),
    decode_head=dict(in_channels=_base_.featmap_channels),
    auxiliary_head=dict(in_channels=_base_.featmap_channels[2]))
