# Mask R-CNN + FPN with a DilateFormer-T backbone (mmdet's mask-rcnn_r50_fpn.py): each stage's map is taken
# before the stage's downsample (strides 4/8/16/32, 72/144/288/576 channels), through its own LayerNorm.
# The BatchNorm layers of the convolutional stem and the downsamples keep their ImageNet statistics
# (norm_eval=True; their affine parameters still train): 2 images per GPU give per-GPU batch statistics that
# differ from the ones the classifier learned with, and the backbone has no SyncBN option. The classifier from
#   python tools/model_converters/dilateformer2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dilateformer-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory:
#   --cfg-options model.backbone.with_cp=True
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DilateFormer',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.2,
        norm_eval=True,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dilateformer-tiny_in1k.pth',
                      prefix='backbone.')),
    neck=dict(in_channels=[72, 144, 288, 576]))
