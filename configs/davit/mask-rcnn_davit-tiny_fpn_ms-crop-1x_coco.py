# DaViT-T + Mask R-CNN + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the official recipe
# (dingmyu/davit mmdet/configs/davit_maskrcnn_1x_coco.py), drop path 0.1.
# The ImageNet classifier comes from
#   python tools/model_converters/davit2mmattn.py OFFICIAL_CHECKPOINT checkpoints/davit-tiny_in1k.pth
_base_ = [
    '../_base_/models/mask-rcnn_davit-tiny_fpn.py',
    '../_base_/datasets/coco-instance_ms-crop.py',
    '../_base_/schedules/coco_adamw_1x.py',
    '../_base_/default_runtime_mmdet.py',
]
