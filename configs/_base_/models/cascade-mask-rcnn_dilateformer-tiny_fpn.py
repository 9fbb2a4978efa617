# Cascade Mask R-CNN (4conv1fc + GIoU box heads, cascade-mask-rcnn_fpn_4conv1fc-giou.py) + FPN with a
# DilateFormer-T backbone: maps before each stage's downsample (strides 4/8/16/32), each through its own
# LayerNorm; stem / downsample BatchNorms keep their ImageNet statistics (norm_eval=True, see
# mask-rcnn_dilateformer-tiny_fpn.py). The classifier comes from
#   python tools/model_converters/dilateformer2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dilateformer-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory:
#   --cfg-options model.backbone.with_cp=True
_base_ = ['./cascade-mask-rcnn_fpn_4conv1fc-giou.py']

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
