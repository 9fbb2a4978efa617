# DAT-B (v1) + Semantic FPN on ADE20K; drop path 0.7 as DAT++'s Base Semantic FPN config (README.md).
_base_ = ['./dat-tiny_fpn_8xb2-80k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.7, init_cfg=dict(checkpoint='checkpoints/dat-base_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
