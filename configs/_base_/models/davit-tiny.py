# DaViT-T classifier in the official order: backbone -> average pool -> LayerNorm -> Linear.
# The pooling and the LayerNorm live in the backbone (out_type='avg_featmap').
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmattn.DaViT', arch='tiny', out_indices=(3, ), drop_path_rate=0.1,
                  out_type='avg_featmap'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=None,  # the backbone's init_weights covers the head's Linear too (trunc_normal 0.02)
    ),
    init_cfg=[dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
              dict(type='Constant', layer='LayerNorm', val=1., bias=0.)],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
