# DilateFormer-T + Cascade Mask R-CNN + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the Swin
# recipe (no DilateFormer detection code was released), drop path 0.2 (our choice; README.md).
# The ImageNet classifier comes from
#   python tools/model_converters/dilateformer2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dilateformer-tiny_in1k.pth
_base_ = [
    '../_base_/models/cascade-mask-rcnn_dilateformer-tiny_fpn.py',
    '../_base_/datasets/coco-instance_ms-crop.py',
    '../_base_/schedules/coco_adamw_3x.py',
    '../_base_/default_runtime_mmdet.py',
]
