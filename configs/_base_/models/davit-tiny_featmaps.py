# The DaViT-T backbone of every detection and segmentation config (as the official DaViT detection backbone,
# dingmyu/davit mmdet/configs/_base_/models/mask_rcnn_davit.py): 4 maps at strides 4/8/16/32 with
# `featmap_channels` channels, each through its own LayerNorm. The configs use it as
# `backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=...)`. Its ImageNet classifier comes from
#   python tools/model_converters/davit2mmattn.py OFFICIAL_CHECKPOINT checkpoints/davit-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory: --cfg-options model.backbone.with_cp=True
featmap_backbone = dict(
    type='mmattn.DaViT',
    arch='tiny',
    out_type='featmap',
    out_indices=(0, 1, 2, 3),
    with_cp=False,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/davit-tiny_in1k.pth', prefix='backbone.'))
featmap_channels = [96, 192, 384, 768]
