# The DAT-T (v1) backbone of every detection and segmentation config: 4 maps at strides 4/8/16/32 with
# `featmap_channels` channels, each through its own LayerNorm. The configs use it as
# `backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=...)`. Its ImageNet classifier comes from
#   python tools/model_converters/dat2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dat-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory: --cfg-options model.backbone.with_cp=True
featmap_backbone = dict(
    type='mmattn.DAT',
    arch='tiny',
    out_type='featmap',
    out_indices=(0, 1, 2, 3),
    with_cp=False,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dat-tiny_in1k.pth', prefix='backbone.'))
featmap_channels = [96, 192, 384, 768]
