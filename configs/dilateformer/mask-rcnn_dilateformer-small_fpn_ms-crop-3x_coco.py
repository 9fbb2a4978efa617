# DilateFormer-S + Mask R-CNN + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the Swin recipe (no
# DilateFormer detection code was released), drop path 0.2 (our choice; README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/dilateformer2mmattn.py) comes from the Tiny config.
_base_ = ['./mask-rcnn_dilateformer-tiny_fpn_ms-crop-3x_coco.py']

model = dict(
    backbone=dict(
        arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint='checkpoints/dilateformer-small_in1k.pth')))
