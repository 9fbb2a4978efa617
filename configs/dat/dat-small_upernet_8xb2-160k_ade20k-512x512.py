# DAT-S (v1) + UPerNet on ADE20K; drop path 0.5 as DAT++'s Small UPerNet config (README.md).
_base_ = ['./dat-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='small', drop_path_rate=0.5, init_cfg=dict(checkpoint='checkpoints/dat-small_in1k.pth')))
