# DilateFormer-T + Semantic FPN on ADE20K, 80k iterations at batch 16 (the PVT protocol). No segmentation code
# was released: drop path 0.3 and frozen BatchNorm statistics as in the UPerNet config. The ImageNet classifier
# comes from
#   python tools/model_converters/dilateformer2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dilateformer-tiny_in1k.pth
# See README.md ("ADE20K semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/fpn_8xb2-80k_ade20k-512x512.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DilateFormer',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dilateformer-tiny_in1k.pth',
                      prefix='backbone.')),
    neck=dict(in_channels=[72, 144, 288, 576]))
