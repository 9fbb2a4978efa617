# DAT-B + Cascade Mask R-CNN + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the DAT++ recipe
# (LeapLabTHU/DAT-Detection; no DAT v1 detection config was released) with AdamW lr 1e-4 at batch 16 and drop path
# 0.8 (DAT++'s value for the same detector, size and schedule; README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/dat2mmattn.py) comes from the Tiny config.
_base_ = ['./cascade-mask-rcnn_dat-tiny_fpn_ms-crop-3x_coco.py']

model = dict(
    backbone=dict(
        arch='base', drop_path_rate=0.8, init_cfg=dict(checkpoint='checkpoints/dat-base_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
