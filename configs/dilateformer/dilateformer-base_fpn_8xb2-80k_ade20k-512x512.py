# DilateFormer-B + Semantic FPN on ADE20K (assumptions in README.md).
_base_ = ['./dilateformer-tiny_fpn_8xb2-80k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='base', init_cfg=dict(checkpoint='checkpoints/dilateformer-base_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
