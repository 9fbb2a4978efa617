# DilateFormer-T + UPerNet on ADE20K. DilateFormer's segmentation code was never released: this is mmseg's Swin
# UPerNet recipe (drop path 0.3), with the BatchNorm layers of the stem and the downsamples frozen to their
# ImageNet statistics (norm_eval; their affine parameters still train). The ImageNet classifier comes from
#   python tools/model_converters/dilateformer2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dilateformer-tiny_in1k.pth
# See README.md ("ADE20K semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py']

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
    decode_head=dict(in_channels=[72, 144, 288, 576]),
    auxiliary_head=dict(in_channels=288))
