# DAT-S++ + Semantic FPN on ADE20K; drop path 0.4 as the official config.
_base_ = ['./datpp-tiny_fpn_8xb2-80k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.4, init_cfg=dict(checkpoint='checkpoints/datpp-small_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
