# DAT-B++ + Cascade Mask R-CNN + FPN on COCO, 3x (36 epochs) with multi-scale + crop training: the official
# recipe (LeapLabTHU/DAT-Detection configs/dat/cmrcn_base_3x_8n_dp08_lr4.py) with AdamW lr 1e-4 at batch 16 (the
# official lr over 4: it was scaled to 64 images) and drop path 0.8. README.md lists the deviations.
# Everything but the arch, its channels, the drop path and the checkpoint (made by
# tools/model_converters/datpp2mmattn.py) comes from the Tiny config.
_base_ = ['./cascade-mask-rcnn_datpp-tiny_fpn_ms-crop-3x_coco.py']

model = dict(
    backbone=dict(
        arch='base', drop_path_rate=0.8, init_cfg=dict(checkpoint='checkpoints/datpp-base_in1k.pth')),
    neck=dict(in_channels=[128, 256, 512, 1024]))
