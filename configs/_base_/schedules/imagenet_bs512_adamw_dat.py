# Official DAT v1 ImageNet schedule (Swin codebase): AdamW (eps 1e-8, betas 0.9/0.999), base lr 5e-4 per 512
# images, linearly scaled to the actual total batch (auto_scale_lr is enabled, as the official main.py always
# scales); wd 0.05 with no decay on 1-D parameters (norms, biases) and on the relative-position tables;
# 20 warm-up epochs from 1e-3 x lr (5e-7 per 512), cosine to 1e-2 x lr (5e-6 per 512) at epoch 300, per
# iteration; gradient clipping at norm 5.0. The official timm scheduler runs its cosine over all 300 epochs
# (so at the end of the warm-up the lr is 0.989 x the peak); here the cosine starts at epoch 20.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
        custom_keys={
            'relative_position_bias_table': dict(decay_mult=0.0),
            'rpe_table': dict(decay_mult=0.0),
        }),
    clip_grad=dict(max_norm=5.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=20, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=1e-2, by_epoch=True, begin=20, end=300,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512, enable=True)
