# DilateFormer-T + UPerNet on ADE20K. DilateFormer's segmentation code was never released: this is mmseg's Swin
# UPerNet recipe (drop path 0.3), with the BatchNorm layers of the stem and the downsamples frozen to their ImageNet
# statistics (norm_eval; their affine parameters still train). Backbone (and the command that converts its ImageNet
# classifier): _base_/models/dilateformer-tiny_featmaps.py. See README.md ("ADE20K semantic segmentation") for the
# assumptions.
_base_ = [
    '../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py',
    '../_base_/models/dilateformer-tiny_featmaps.py',
]

model = dict(
    backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=0.3),
    decode_head=dict(in_channels=_base_.featmap_channels),
    auxiliary_head=dict(in_channels=_base_.featmap_channels[2]))
