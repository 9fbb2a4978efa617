# DAT-T (v1) + Semantic FPN on ADE20K, 80k iterations at batch 16: the PVT protocol of DAT++'s Semantic FPN
# configs, with DAT++'s drop path for its Tiny model (0.4). The ImageNet classifier comes from
#   python tools/model_converters/dat2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dat-tiny_in1k.pth
# See README.md ("ADE20K semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/fpn_8xb2-80k_ade20k-512x512.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DAT',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.4,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dat-tiny_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
