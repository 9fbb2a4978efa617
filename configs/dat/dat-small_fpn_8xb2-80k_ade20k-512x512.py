# DAT-S (v1) + Semantic FPN on ADE20K; drop path 0.4 as DAT++'s Small Semantic FPN config (README.md).
_base_ = ['./dat-tiny_fpn_8xb2-80k_ade20k-512x512.py']

model = dict(backbone=dict(arch='small', init_cfg=dict(checkpoint='checkpoints/dat-small_in1k.pth')))
