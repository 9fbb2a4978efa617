# Mask R-CNN + FPN with a DAT-T (v1) backbone (mmdet's mask-rcnn_r50_fpn.py): 4 maps at strides 4/8/16/32, each
# through its own LayerNorm, into an FPN with 256 channels and 5 levels. The ImageNet classifier comes from
#   python tools/model_converters/dat2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dat-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory:
#   --cfg-options model.backbone.with_cp=True
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DAT',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.0,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dat-tiny_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
