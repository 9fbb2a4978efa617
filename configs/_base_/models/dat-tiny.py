# DAT-T (v1) classifier in the official order: backbone -> LayerNorm -> average pool -> Linear.
# The LayerNorm (norm3 = official cls_norm) and the pooling live in the backbone (out_type='avg_featmap'
# returns pooled vectors; DAT normalises before pooling). Initialisation is PyTorch's default, as in the
# official code (its reset_parameters never matches a module), so no init_cfg here or on the head.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='mmattn.DAT', arch='tiny', out_indices=(3, ), drop_path_rate=0.2,
                  out_type='avg_featmap'),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=None,
    ),
    # timm Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5, mode='batch')
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]),
)
