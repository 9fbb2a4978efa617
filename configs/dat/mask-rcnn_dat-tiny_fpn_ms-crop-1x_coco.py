# DAT-T + Mask R-CNN + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the DAT++ recipe
# (LeapLabTHU/DAT-Detection; no DAT v1 detection config was released) with AdamW lr 1e-4 at batch 16 and drop path
# 0.0 (DAT++'s value for the same detector, size and schedule; README.md).
# The ImageNet classifier comes from
#   python tools/model_converters/dat2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dat-tiny_in1k.pth
_base_ = [
    '../_base_/models/mask-rcnn_dat-tiny_fpn.py',
    '../_base_/datasets/coco-instance_ms-crop.py',
    '../_base_/schedules/coco_adamw_1x.py',
    '../_base_/default_runtime_mmdet.py',
]
