# DaViT-S + Mask R-CNN + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the official Tiny recipe; the
# official code has no Small config, drop path 0.2 is our choice (README.md).
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/davit2mmattn.py) comes from the Tiny config.
_base_ = ['./mask-rcnn_davit-tiny_fpn_ms-crop-1x_coco.py']

model = dict(
    backbone=dict(
        arch='small', drop_path_rate=0.2, init_cfg=dict(checkpoint='checkpoints/davit-small_in1k.pth')))
