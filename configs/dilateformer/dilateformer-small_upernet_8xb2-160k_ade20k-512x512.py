# DilateFormer-S + UPerNet on ADE20K (assumptions in README.md).
_base_ = ['./dilateformer-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(arch='small', init_cfg=dict(checkpoint='checkpoints/dilateformer-small_in1k.pth')))
