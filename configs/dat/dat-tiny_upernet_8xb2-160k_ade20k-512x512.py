# DAT-T (v1) + UPerNet on ADE20K. No DAT v1 segmentation config was released: this is the UPerNet recipe the
# authors released for DAT++ (= Swin's and DaViT's), with DAT++'s drop path for its Tiny model (0.3).
# The ImageNet classifier comes from
#   python tools/model_converters/dat2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dat-tiny_in1k.pth
# See README.md ("ADE20K semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DAT',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dat-tiny_in1k.pth', prefix='backbone.')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
