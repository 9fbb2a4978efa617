# DilateFormer-B + UPerNet on ADE20K (assumptions in README.md).
_base_ = ['./dilateformer-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='base', init_cfg=dict(checkpoint='checkpoints/dilateformer-base_in1k.pth')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
