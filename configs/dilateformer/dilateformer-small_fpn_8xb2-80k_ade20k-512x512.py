# DilateFormer-S + Semantic FPN on ADE20K (assumptions in README.md).
_base_ = ['./dilateformer-tiny_fpn_8xb2-80k_ade20k-512x512.py']

model = dict(backbone=dict(arch='small', init_cfg=dict(checkpoint='checkpoints/dilateformer-small_in1k.pth')))
