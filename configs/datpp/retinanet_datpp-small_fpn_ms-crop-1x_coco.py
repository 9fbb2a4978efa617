# DAT-S++ + RetinaNet + FPN on COCO, 1x (12 epochs) with multi-scale + crop training: the official
# recipe (LeapLabTHU/DAT-Detection configs/dat/rtn_small_1x_4n_dp01_lr2.py) with AdamW lr 5e-5 at batch 16 (the
# official lr over 4: it was scaled to 64 images) and drop path 0.1. README.md lists the deviations.
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/datpp2mmattn.py) comes from the Tiny config.
_base_ = ['./retinanet_datpp-tiny_fpn_ms-crop-1x_coco.py']

model = dict(
    backbone=dict(
        arch='small', drop_path_rate=0.1, init_cfg=dict(checkpoint='checkpoints/datpp-small_in1k.pth')),
    neck=dict(in_channels=[192, 384, 768]))
