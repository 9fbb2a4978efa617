# DilateFormer-T classifier in the official order: backbone -> LayerNorm on every token -> average pool -> Linear.
# The LayerNorm (eps 1e-6) and the pooling live in the backbone (out_type='avg_featmap').
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmattn.DilateFormer', arch='tiny', out_indices=(3, ), drop_path_rate=0.1,
                  out_type='avg_featmap'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=576,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=None,  # the classifier's init_cfg below covers the head's Linear (trunc_normal 0.02)
    ),
    # as official: trunc_normal(0.02) Linear weights with zero bias, LayerNorm 1/0; convs and BN keep PyTorch's
    # defaults (the backbone's init_weights applies the same Linear rule when built on its own)
    init_cfg=[dict(type='TruncNormal', layer='Linear', std=.02, bias=0.),
              dict(type='Constant', layer='LayerNorm', val=1., bias=0.)],
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
