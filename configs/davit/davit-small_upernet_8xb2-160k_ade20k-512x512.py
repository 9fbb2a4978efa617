# DaViT-S + UPerNet on ADE20K. Only the Tiny config was released; drop path 0.3 is an assumption (README.md).
_base_ = ['./davit-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(backbone=dict(arch='small', init_cfg=dict(checkpoint='checkpoints/davit-small_in1k.pth')))
