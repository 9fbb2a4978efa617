# DaViT-B + Mask R-CNN + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the official Tiny recipe; the
# official code has no Base config, drop path 0.3 is our choice (README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/davit2mmattn.py) comes from the Tiny config.
_base_ = ['./mask-rcnn_davit-tiny_fpn_ms-crop-3x_coco.py']

model = dict(
    backbone=dict(
        arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint='checkpoints/davit-base_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
