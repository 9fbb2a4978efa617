# Mask R-CNN + FPN with a DaViT-T backbone (mmdet's mask-rcnn_r50_fpn.py with the official DaViT detection
# backbone, dingmyu/davit mmdet/configs/_base_/models/mask_rcnn_davit.py): 4 maps at strides 4/8/16/32, each
# through its own LayerNorm, into an FPN with 256 channels and 5 levels. The ImageNet classifier comes from
#   python tools/model_converters/davit2mmattn.py OFFICIAL_CHECKPOINT checkpoints/davit-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory:
#   --cfg-options model.backbone.with_cp=True
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmattn.DaViT',
        arch='tiny',
        out_type='featmap',
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.1,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/davit-tiny_in1k.pth', prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))
