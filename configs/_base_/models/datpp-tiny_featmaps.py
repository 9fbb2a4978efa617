# The DAT-T++ backbone of every detection and segmentation config: 4 maps at strides 4/8/16/32 with
# `featmap_channels` channels, each through its own LayerNorm taken before the next downsample (the official
# DAT-Detection `norms`). The configs use it as
# `backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=...)`. Its ImageNet classifier comes from
#   python tools/model_converters/datpp2mmattn.py OFFICIAL_CHECKPOINT checkpoints/datpp-tiny_in1k.pth
# The official detectors checkpoint every stage (use_checkpoint=True): --cfg-options model.backbone.with_cp=True
featmap_backbone = dict(
    type='mmattn.DATPlusPlus',
    arch='tiny',
    out_type='featmap',
    out_indices=(0, 1, 2, 3),
    with_cp=False,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/datpp-tiny_in1k.pth', prefix='backbone.'))
featmap_channels = [64, 128, 256, 512]
