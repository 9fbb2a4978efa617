# DAT-T++ + Cascade Mask R-CNN + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the official
# recipe (LeapLabTHU/DAT-Detection configs/dat/cmrcn_tiny_1x_4n_dp00_lr4.py) with AdamW lr 1e-4 at batch 16 (the
# official lr over 4: it was scaled to 64 images) and drop path 0.0. README.md lists the deviations.
# The ImageNet classifier comes from
#   python tools/model_converters/datpp2mmattn.py OFFICIAL_CHECKPOINT checkpoints/datpp-tiny_in1k.pth
_base_ = [
    '../_base_/models/cascade-mask-rcnn_datpp-tiny_fpn.py',
    '../_base_/datasets/coco-instance_ms-crop.py',
    '../_base_/schedules/coco_adamw_1x.py',
    '../_base_/default_runtime_mmdet.py',
]

model = dict(backbone=dict(drop_path_rate=0.0))
