# DAT-S++ + UPerNet on ADE20K; drop path 0.5 as the official config.
_base_ = ['./datpp-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.5, init_cfg=dict(checkpoint='checkpoints/datpp-small_in1k.pth')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
