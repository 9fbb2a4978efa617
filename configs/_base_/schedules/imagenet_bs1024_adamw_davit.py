# Official DaViT ImageNet schedule: AdamW, lr 1e-3 for a total batch of 1024, 5 warm-up epochs from 1e-6,
# cosine to 1e-5 at epoch 300, then 10 cool-down epochs at 1e-5 (timm's cooldown_epochs=10).
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    # timm excludes every 1-D parameter (norm weights, biases) from weight decay
    paramwise_cfg=dict(flat_decay_mult=0.0, norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=1.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=310, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# --auto-scale-lr rescales lr linearly when the total batch differs from 1024
auto_scale_lr = dict(base_batch_size=1024)
