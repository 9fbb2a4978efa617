# DAT-B + RetinaNet + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the DAT++ recipe
# (LeapLabTHU/DAT-Detection; no DAT v1 detection config was released) with AdamW lr 1e-4 at batch 16 and drop path
# 0.2 (DAT++ released no Base model for this detector: extrapolated from DAT++'s Tiny and Small; README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/dat2mmattn.py) comes from the Tiny config.
_base_ = ['./retinanet_dat-tiny_fpn_ms-crop-1x_coco.py']

model = dict(
    backbone=dict(
        arch='base', drop_path_rate=0.2, init_cfg=dict(checkpoint='checkpoints/dat-base_in1k.pth')),
    neck=dict(in_channels=[256, 512, 1024]))
