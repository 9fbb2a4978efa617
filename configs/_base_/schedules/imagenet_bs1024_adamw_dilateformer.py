# Official DilateFormer ImageNet schedule (DeiT-based main.py, dist_train.sh: 8 GPUs x 128, --lr 1e-3).
# main.py scales the lr linearly, lr = 1e-3 * total_batch / 512, so the peak is 2e-3 at a total batch of 1024.
# 10 linear warm-up epochs from 1e-6, cosine to 1e-5, 300 epochs (main.py loops over --epochs only, so timm's
# 10 cool-down epochs never run), lr stepped once per epoch as in main.py. No gradient clipping.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05, eps=1e-8, betas=(0.9, 0.999)),
    # timm's create_optimizer excludes every 1-D parameter (norm weights, biases) from weight decay
    paramwise_cfg=dict(flat_decay_mult=0.0, norm_decay_mult=0.0, bias_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 2e-3, by_epoch=True, begin=0, end=10),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=10, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# --auto-scale-lr rescales the lr linearly when the total batch differs from 1024 (as main.py does)
auto_scale_lr = dict(base_batch_size=1024)
