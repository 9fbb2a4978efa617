# DaViT-T + UPerNet on ADE20K, the official recipe (dingmyu/davit mmseg/configs/upernet_davit_512x512_160k_ade20k.py,
# drop path 0.3) on mmseg 1.x; the ImageNet classifier comes from
#   python tools/model_converters/davit2mmattn.py OFFICIAL_CHECKPOINT checkpoints/davit-tiny_in1k.pth
# See README.md ("ADE20K semantic segmentation") for the assumptions.
_base_ = ['../_base_/segmentation/upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DaViT',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.3,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/davit-tiny_in1k.pth', prefix='backbone.')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
