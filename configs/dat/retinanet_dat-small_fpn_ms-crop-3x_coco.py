# DAT-S + RetinaNet + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the DAT++ recipe
# (LeapLabTHU/DAT-Detection; no DAT v1 detection config was released) with AdamW lr 1e-4 at batch 16 and drop path
# 0.5 (DAT++'s value for the same detector, size and schedule; README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/dat2mmattn.py) comes from the Tiny config.
_base_ = ['./retinanet_dat-tiny_fpn_ms-crop-3x_coco.py']

model = dict(
    backbone=dict(
        arch='small', drop_path_rate=0.5, init_cfg=dict(checkpoint='checkpoints/dat-small_in1k.pth')))
