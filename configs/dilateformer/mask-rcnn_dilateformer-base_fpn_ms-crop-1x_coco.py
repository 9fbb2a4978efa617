# DilateFormer-B + Mask R-CNN + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the Swin recipe (no
# DilateFormer detection code was released), drop path 0.3 (our choice; README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/dilateformer2mmattn.py) comes from the Tiny config.
_base_ = ['./mask-rcnn_dilateformer-tiny_fpn_ms-crop-1x_coco.py']

model = dict(
    backbone=dict(
        arch='base', drop_path_rate=0.3, init_cfg=dict(checkpoint='checkpoints/dilateformer-base_in1k.pth')),
    neck=dict(in_channels=[96, 192, 384, 768]))
