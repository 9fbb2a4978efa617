# DaViT-B + UPerNet on ADE20K. Only the Tiny config was released; drop path 0.3 is an assumption (README.md).
_base_ = ['./davit-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='base', init_cfg=dict(checkpoint='checkpoints/davit-base_in1k.pth')),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
