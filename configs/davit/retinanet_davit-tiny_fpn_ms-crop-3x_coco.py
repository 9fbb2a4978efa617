# DaViT-T + RetinaNet + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the official recipe
# (dingmyu/davit mmdet/configs/davit_retinanet_3x_coco.py), drop path 0.2.
# The ImageNet classifier comes from
#   python tools/model_converters/davit2mmattn.py OFFICIAL_CHECKPOINT checkpoints/davit-tiny_in1k.pth
_base_ = [
    '../_base_/models/retinanet_davit-tiny_fpn.py',
    '../_base_/datasets/coco-detection_ms-crop.py',
    '../_base_/schedules/coco_adamw_3x.py',
    '../_base_/default_runtime_mmdet.py',
]

model = dict(backbone=dict(drop_path_rate=0.2))
