# The DilateFormer-T backbone of every detection and segmentation config: each stage's map taken before the
# stage's downsample (strides 4/8/16/32, `featmap_channels` channels), through its own LayerNorm. The BatchNorm
# layers of the convolutional stem and the downsamples keep their ImageNet statistics (norm_eval=True; their
# affine parameters still train): 2 images per GPU give batch statistics unlike the ones the classifier learned
# with, and the backbone has no SyncBN option. The configs use it as
# `backbone=dict(_delete_=True, **_base_.featmap_backbone, drop_path_rate=...)`. Its ImageNet classifier comes from
#   python tools/model_converters/dilateformer2mmattn.py OFFICIAL_CHECKPOINT checkpoints/dilateformer-tiny_in1k.pth
# with_cp=True (activation checkpointing) trades compute for memory: --cfg-options model.backbone.with_cp=True
featmap_backbone = dict(
    type='mmattn.DilateFormer',
    arch='tiny',
    out_type='featmap',
    out_indices=(0, 1, 2, 3),
    norm_eval=True,
    with_cp=False,
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/dilateformer-tiny_in1k.pth', prefix='backbone.'))
featmap_channels = [72, 144, 288, 576]
