# DAT-B++ + UPerNet on ADE20K; drop path 0.7 as the official config.
_base_ = ['./datpp-tiny_upernet_8xb2-160k_ade20k-512x512.py']

model = dict(
    backbone=dict(arch='base', drop_path_rate=0.7, init_cfg=dict(checkpoint='checkpoints/datpp-base_in1k.pth')),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
